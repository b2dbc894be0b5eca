/** Events counted per client IP (IpMinuteCounter): the narrow view sessions get. */
export interface IpEventLimit {
  blocked(ip: string): boolean;
  add(ip: string): void;
}

/**
 * Per-IP limits for a listener (any protocol: SMTP, IMAP, POP3 share these): concurrent connections and new connections
 * per minute. Memory is bounded: at most `maxTracked` addresses are tracked;
 * past that the oldest rate windows are dropped.
 */

export interface IpLimitOptions {
  /** Numbers, or functions read at every connection (settings change while running); 0: no limit. */
  maxConnectionsPerIp: number | (() => number);
  maxConnectsPerMinute: number | (() => number);
  maxTracked?: number;
  now?: () => number;
}

export type Admission = { ok: true; release: () => void } | { ok: false; reason: 'too many connections' | 'rate' };

const read = (v: number | (() => number)): number => (typeof v === 'function' ? v() : v);

export class IpLimiter {
  private readonly open = new Map<string, number>();
  private readonly windows = new Map<string, { start: number; count: number }>();
  private readonly maxTracked: number;
  private readonly now: () => number;

  constructor(private readonly opts: IpLimitOptions) {
    this.maxTracked = opts.maxTracked ?? 100_000;
    this.now = opts.now ?? Date.now;
  }

  admit(ip: string): Admission {
    const t = this.now();
    let w = this.windows.get(ip);
    if (!w || t - w.start >= 60_000) {
      this.windows.delete(ip);
      w = { start: t, count: 0 };
      if (this.windows.size >= this.maxTracked) {
        const oldest = this.windows.keys().next().value;
        if (oldest !== undefined) this.windows.delete(oldest);
      }
      this.windows.set(ip, w);
    }
    // A limit of 0 means none (the settings say so).
    const perMinute = read(this.opts.maxConnectsPerMinute);
    if (perMinute > 0 && w.count >= perMinute) return { ok: false, reason: 'rate' };
    const n = this.open.get(ip) ?? 0;
    const concurrent = read(this.opts.maxConnectionsPerIp);
    if (concurrent > 0 && n >= concurrent) return { ok: false, reason: 'too many connections' };
    w.count++;
    this.open.set(ip, n + 1);
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        const left = (this.open.get(ip) ?? 1) - 1;
        if (left <= 0) this.open.delete(ip);
        else this.open.set(ip, left);
      },
    };
  }

  openConnections(ip: string): number {
    return this.open.get(ip) ?? 0;
  }
}

/**
 * Events per client IP per minute, across all connections of a listener:
 * failed authentications (past the limit AUTH is refused for the rest of the
 * minute without looking at the password, so guessing gets no answers) and
 * messages (MAIL commands). A limit of 0 means none. Bounded like IpLimiter.
 */
export class IpMinuteCounter {
  private readonly windows = new Map<string, { start: number; count: number }>();
  private readonly now: () => number;
  private readonly maxTracked: number;

  constructor(
    private readonly perMinute: () => number,
    opts: { now?: () => number; maxTracked?: number } = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.maxTracked = opts.maxTracked ?? 100_000;
  }

  private window(ip: string): { start: number; count: number } {
    const t = this.now();
    let w = this.windows.get(ip);
    if (!w || t - w.start >= 60_000) {
      this.windows.delete(ip);
      if (this.windows.size >= this.maxTracked) {
        const oldest = this.windows.keys().next().value;
        if (oldest !== undefined) this.windows.delete(oldest);
      }
      w = { start: t, count: 0 };
      this.windows.set(ip, w);
    }
    return w;
  }

  /** Has this IP reached the limit in the current minute? */
  blocked(ip: string): boolean {
    const limit = this.perMinute();
    return limit > 0 && this.window(ip).count >= limit;
  }

  add(ip: string): void {
    if (this.perMinute() > 0) this.window(ip).count++;
  }
}
