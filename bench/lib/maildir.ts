/**
 * Counts the messages in a set of Maildir folders (new/ + cur/) cheaply
 * enough to poll every few tens of milliseconds: a directory is listed again
 * only when its mtime changed, or when it changed so recently that another
 * file may have arrived within the same timestamp tick.
 */
import { readdir, stat } from 'node:fs/promises';

const RECENT_MS = 100;

export class MaildirCounter {
  private readonly seen = new Map<string, { mtimeMs: number; count: number }>();
  private readonly dirs: string[];
  /** The newest directory mtime seen (epoch ms): when the latest file arrived. */
  latestMtimeMs = 0;

  /** `maildirs`: Maildir roots (each with new/ and cur/; missing ones count as empty). */
  constructor(maildirs: readonly string[]) {
    this.dirs = maildirs.flatMap((m) => [`${m}/new`, `${m}/cur`]);
  }

  async count(): Promise<number> {
    const counts = await Promise.all(this.dirs.map((d) => this.countDir(d)));
    return counts.reduce((a, b) => a + b, 0);
  }

  private async countDir(dir: string): Promise<number> {
    let mtimeMs: number;
    try {
      mtimeMs = (await stat(dir)).mtimeMs;
    } catch {
      return 0; // Dovecot creates a user's Maildir on the first delivery
    }
    this.latestMtimeMs = Math.max(this.latestMtimeMs, mtimeMs);
    const known = this.seen.get(dir);
    if (known && known.mtimeMs === mtimeMs && Date.now() - mtimeMs > RECENT_MS) return known.count;
    let count: number;
    try {
      count = (await readdir(dir)).filter((f) => !f.startsWith('.')).length;
    } catch {
      return known?.count ?? 0;
    }
    this.seen.set(dir, { mtimeMs, count });
    return count;
  }
}
