/**
 * Idle SMTP connections kept for reuse (per node): a batch that finishes
 * leaves its connection here, and the next batch to the same host, with
 * the same TLS policy and credentials, takes it instead of opening a new
 * one (connect, greeting, EHLO, STARTTLS, EHLO: several round trips and a
 * TLS handshake saved per batch). Like Postfix's connection cache, an idle
 * connection is kept a few seconds, then closed with QUIT.
 */
import type { SmtpClient } from './smtp-client.ts';

interface Idle {
  client: SmtpClient;
  timer: NodeJS.Timeout;
}

export class ConnectionCache {
  private readonly idle = new Map<string, Idle[]>();
  private closed = false;

  constructor(
    /** How long an idle connection is kept. */
    private readonly maxIdleMs = 5_000,
    /** Idle connections kept per key; more are closed. */
    private readonly maxPerKey = 8,
  ) {}

  /** An idle connection for `key` that still looks usable, if any. */
  take(key: string): SmtpClient | undefined {
    const list = this.idle.get(key);
    while (list && list.length > 0) {
      const { client, timer } = list.pop()!;
      clearTimeout(timer);
      if (list.length === 0) this.idle.delete(key);
      if (client.usable) return client;
      client.close();
    }
    return undefined;
  }

  /** Keeps `client` for reuse, or closes it (not usable, too many idle, cache closed). */
  give(key: string, client: SmtpClient): void {
    const list = this.idle.get(key) ?? [];
    if (this.closed || !client.usable || list.length >= this.maxPerKey) {
      void client.quit().catch(() => undefined);
      return;
    }
    const entry: Idle = {
      client,
      timer: setTimeout(() => {
        const at = list.indexOf(entry);
        if (at >= 0) list.splice(at, 1);
        if (list.length === 0 && this.idle.get(key) === list) this.idle.delete(key);
        void client.quit().catch(() => undefined);
      }, this.maxIdleMs),
    };
    entry.timer.unref();
    list.push(entry);
    this.idle.set(key, list);
  }

  /** Idle connections held now (all keys). */
  get size(): number {
    let n = 0;
    for (const list of this.idle.values()) n += list.length;
    return n;
  }

  /** QUITs every idle connection; later ones given are closed at once. */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.idle.values()].flat();
    this.idle.clear();
    for (const e of all) clearTimeout(e.timer);
    await Promise.all(all.map((e) => e.client.quit().catch(() => undefined)));
  }
}
