/**
 * When the queue tries a recipient again after a temporary failure, when it
 * gives up (expiry, queue.maxAttemptsHours), and when the sender gets a
 * "delayed" warning (queue.delayWarningHours, a DSN per RFC 3464).
 *
 * RFC 5321 section 4.5.4.1: the retry interval "SHOULD be at least 30
 * minutes" in general, but the first retries may come sooner, and the give-up
 * time "SHOULD be at least 4-5 days". The schedule starts at 5 minutes (as
 * Postfix's minimal_backoff_time, 300 s) and doubles after every failed
 * attempt until it reaches the cap of 2 hours, then stays there:
 *
 *   | failed attempts | delay before the next | next attempt at (since the first) |
 *   |-----------------|-----------------------|-----------------------------------|
 *   | 1               | 5 min                 | 5 min                             |
 *   | 2               | 10 min                | 15 min                            |
 *   | 3               | 20 min                | 35 min                            |
 *   | 4               | 40 min                | 1 h 15 min                        |
 *   | 5               | 80 min                | 2 h 35 min                        |
 *   | 6 and more      | 2 h                   | 4 h 35 min, 6 h 35 min, ...       |
 *
 * With the default expiry of 120 hours (5 days) that is 64 attempts in all
 * (without jitter). Each delay is spread by +-10% (uniform, injected random)
 * so that messages that failed together (a receiving server was down) do not
 * all come back together; the spread result is never more than the cap. The
 * delay is a pure function of the attempt count, so a test can check it
 * without a clock.
 */

/** First retry delay: 5 minutes. */
export const DEFAULT_MIN_BACKOFF_MS = 5 * 60_000;
/** Longest retry delay: 2 hours. */
export const DEFAULT_MAX_BACKOFF_MS = 2 * 3_600_000;
/** Spread of each delay: +-10%. */
export const BACKOFF_JITTER = 0.1;

export interface BackoffOptions {
  /** Delay after the first failure (default 5 min). */
  minMs?: number;
  /** Cap on the delay (default 2 h); raised to minMs if smaller. */
  maxMs?: number;
  /** Random numbers in [0, 1) for the jitter (default Math.random; () => 0.5 gives no jitter). */
  random?: () => number;
}

/**
 * The delay before the next attempt after `attempts` failed attempts (1 =
 * after the first failure): min(minMs * 2^(attempts-1), maxMs), spread by
 * +-10% and then capped at maxMs again. An attempts value below 1 (or not a
 * number) counts as 1.
 */
export function nextAttemptDelayMs(attempts: number, opts: BackoffOptions = {}): number {
  const minMs = Math.max(1, opts.minMs ?? DEFAULT_MIN_BACKOFF_MS);
  const maxMs = Math.max(minMs, opts.maxMs ?? DEFAULT_MAX_BACKOFF_MS);
  // NaN and counts below 1 count as 1; 2^60 is past any cap (and Infinity stays finite).
  const n = attempts > 1 ? Math.min(Math.floor(attempts), 61) : 1;
  const base = Math.min(maxMs, minMs * 2 ** (n - 1));
  const r = Math.min(1, Math.max(0, (opts.random ?? Math.random)()));
  const spread = base * (1 + BACKOFF_JITTER * (2 * r - 1));
  return Math.round(Math.min(maxMs, spread));
}

export type ScheduleDecision = { kind: 'retry'; at: Date } | { kind: 'expire' };

/**
 * After `attempts` failed attempts at `now`: retry at now + the delay, or
 * 'expire' (bounce) when that time is after `expiresAt` (the first queue time
 * plus queue.maxAttemptsHours). A next attempt falling exactly on expiresAt
 * is still made.
 */
export function schedule(attempts: number, now: Date, expiresAt: Date, opts: BackoffOptions = {}): ScheduleDecision {
  const at = now.getTime() + nextAttemptDelayMs(attempts, opts);
  return at > expiresAt.getTime() ? { kind: 'expire' } : { kind: 'retry', at: new Date(at) };
}

/**
 * Whether a "delayed" DSN (RFC 3464, action=delayed) is due: the message has
 * been queued for at least `warnAfterMs` and no warning went out yet.
 * warnAfterMs 0 (or less) means never (queue.delayWarningHours = 0).
 */
export function delayWarningDue(queuedAt: Date, now: Date, warnAfterMs: number, alreadyWarned: boolean): boolean {
  if (alreadyWarned || !(warnAfterMs > 0)) return false;
  return now.getTime() - queuedAt.getTime() >= warnAfterMs;
}
