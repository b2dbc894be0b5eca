/**
 * Change hints: the NOTIFY that tells every node's IDLE sessions that a
 * mailbox changed (payload {"mailbox":id,"modseq":"n"} on MAILBOX_CHANNEL).
 *
 * A hint is sent after the change committed, in its own statement: a NOTIFY
 * inside the changing transaction would hold PostgreSQL's global notify lock
 * through that transaction's commit (and fsync), so every change in the
 * cluster would commit one at a time. A lost hint costs nothing: listeners
 * re-read the change journal (mailbox_changes) anyway.
 *
 * Hints are coalesced per database: while one NOTIFY statement is in flight,
 * new hints wait and then go out together in the next one. Under load that is
 * one statement (one round trip, one take of the notify lock) for many
 * deliveries instead of one each; when idle a hint goes out at once.
 */
import type { Database } from '../store/db.ts';
import { notifyAll } from '../store/ops.ts';

/** NOTIFY channel announcing mailbox changes; payload {"mailbox":id,"modseq":"n"}. A hint only. */
export const MAILBOX_CHANNEL = 'tegu_mailbox';

/** At most this many payloads per statement (each is a few dozen bytes). */
const MAX_BATCH = 1000;

interface Pending {
  payloads: string[];
  waiters: (() => void)[];
}

class HintBatcher {
  private pending: Pending | undefined;
  private inFlight = false;

  constructor(private readonly db: Database) {}

  /** Resolves once the hints were sent (or sending failed: hints are best effort, never an error). */
  send(payloads: readonly string[]): Promise<void> {
    if (payloads.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.pending ??= { payloads: [], waiters: [] };
      this.pending.payloads.push(...payloads);
      this.pending.waiters.push(resolve);
      if (!this.inFlight) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.inFlight = true;
    try {
      while (this.pending) {
        const batch = this.pending;
        this.pending = undefined;
        for (let i = 0; i < batch.payloads.length; i += MAX_BATCH) {
          try {
            await notifyAll(this.db, MAILBOX_CHANNEL, batch.payloads.slice(i, i + MAX_BATCH));
          } catch {
            // Best effort (e.g. the database is closing): listeners catch up from the journal.
          }
        }
        for (const w of batch.waiters) w();
      }
    } finally {
      this.inFlight = false;
    }
  }
}

const batchers = new WeakMap<Database, HintBatcher>();

/** A hint payload for one committed mailbox change. */
export function mailboxHint(mailboxId: number, modseq: bigint): string {
  return JSON.stringify({ mailbox: mailboxId, modseq: modseq.toString() });
}

/**
 * Announces committed mailbox changes. Callers may acknowledge to their client
 * without awaiting this (the change is durable already); awaiting it waits
 * until the hints reached the database.
 */
export function announceChanges(db: Database, payloads: readonly string[]): Promise<void> {
  let b = batchers.get(db);
  if (!b) {
    b = new HintBatcher(db);
    batchers.set(db, b);
  }
  return b.send(payloads);
}
