/**
 * Which connection a statement goes to (store/postgres.ts). Pure: it sees
 * only what is in flight on each connection, so the policy is tested on its
 * own (test/store-pg-scheduler.test.ts).
 *
 * Measured in bench/imap's mix on a 2-core machine (docs/imap.md): with the
 * driver's own order (an idle connection first, of 10) every statement woke
 * its own sleeping backend, and the server spent about a fifth more CPU per
 * operation than with all statements pipelined onto 2 connections, where a
 * backend finds the next statement already waiting. But on 2 connections
 * one slow statement (a SEARCH of a large mailbox, a long body, a row lock
 * held by a long transaction) holds up everything queued behind it.
 *
 * So: short statements go to the first `spread` connections, to the one
 * with the fewest in flight (in turn when they are even), pipelined up to
 * `depth` deep; past those, to the lowest-numbered connection below that
 * depth, so the rest stay asleep until needed. (Filling one connection
 * first was as cheap on average but swung between runs: where the machine's
 * scheduler put that one backend, on tegu serve's core or on the other,
 * decided the whole run.) A connection is passed over
 * while it runs a statement marked long, or while its oldest statement has
 * been running longer than `stallMs` (a lock wait, or a long statement not
 * marked as such): only what was already queued behind it waits. Long
 * statements go to an idle connection, the highest-numbered first, away
 * from the short traffic.
 */

export type StatementKind = 'short' | 'long';

interface Slot {
  /** Start times of the statements in flight, oldest first (a connection answers in order). */
  starts: number[];
  kinds: StatementKind[];
  long: number;
}

export interface SchedulerOptions {
  /** Statements pipelined on one connection before short ones spill to the next. */
  depth: number;
  /** Connections that short statements are spread over before any other is used (default 1). */
  spread?: number;
  /** A connection whose oldest statement has run this long takes no new one while another can. */
  stallMs: number;
  now?: () => number;
}

export class StatementScheduler {
  private readonly slots: Slot[];
  private readonly now: () => number;
  private readonly spread: number;
  /** The connection a short statement went to last (among the first `spread`), for taking turns. */
  private last = -1;

  constructor(
    connections: number,
    private readonly opts: SchedulerOptions,
  ) {
    if (connections < 1) throw new RangeError('a scheduler needs at least one connection');
    this.slots = Array.from({ length: connections }, () => ({ starts: [], kinds: [], long: 0 }));
    this.now = opts.now ?? (() => performance.now());
    this.spread = Math.min(connections, Math.max(1, opts.spread ?? 1));
  }

  /** In flight on connection `i` (for tests and status). */
  inflight(i: number): number {
    return this.slots[i]?.starts.length ?? 0;
  }

  /** The connection for the next statement of `kind`; call start() with it. */
  pick(kind: StatementKind): number {
    const now = this.now();
    const stalled = (s: Slot): boolean => s.starts.length > 0 && now - s.starts[0]! > this.opts.stallMs;
    if (kind === 'short') {
      const open = (s: Slot): boolean => s.long === 0 && s.starts.length < this.opts.depth && !stalled(s);
      let best = -1;
      for (let k = 1; k <= this.spread; k++) {
        // Starting after the last one used: of those even, the next in turn wins.
        const i = (this.last + k) % this.spread;
        const s = this.slots[i]!;
        if (open(s) && (best < 0 || s.starts.length < this.slots[best]!.starts.length)) best = i;
      }
      if (best >= 0) return (this.last = best);
      for (let i = this.spread; i < this.slots.length; i++) if (open(this.slots[i]!)) return i;
    } else {
      for (let i = this.slots.length - 1; i >= 0; i--) if (this.slots[i]!.starts.length === 0) return i;
    }
    // Everything is full, stalled or busy with long work: the least bad one.
    let best = 0;
    let bestScore = Infinity;
    for (let i = 0; i < this.slots.length; i++) {
      const s = this.slots[i]!;
      const score = (stalled(s) ? 1e6 : 0) + s.long * 1e3 + s.starts.length;
      if (score < bestScore) {
        best = i;
        bestScore = score;
      }
    }
    return best;
  }

  start(i: number, kind: StatementKind): void {
    const s = this.slots[i]!;
    s.starts.push(this.now());
    s.kinds.push(kind);
    if (kind === 'long') s.long++;
  }

  /** The oldest statement in flight on connection `i` finished (answers come in order). */
  done(i: number): void {
    const s = this.slots[i]!;
    s.starts.shift();
    if (s.kinds.shift() === 'long') s.long--;
  }
}
