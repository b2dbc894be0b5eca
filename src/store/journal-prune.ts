/**
 * Pruning the change journal (mailbox_changes). The journal grows by a row
 * per append, flag change and expunge, forever, unless pruned:
 *
 *  - 'append' and 'flags' rows are only a convenience (which UIDs changed
 *    recently): the messages themselves carry their modseq, and resync reads
 *    changed messages from messages.modseq (mailbox-sync.ts), so these rows
 *    can go after a short while;
 *  - 'expunge' rows are the only trace of an expunged message (the QRESYNC
 *    tombstones). Pruning them raises mailboxes.tombstone_floor to the highest
 *    modseq pruned, in the same statement, so a reader always knows whether
 *    the tombstones it sees are complete (mailbox-sync.ts vanishedSince).
 *
 * One statement per mailbox (its DELETE and its floor UPDATE together), so a
 * pruner locks at most one mailbox row at a time and never deadlocks with the
 * operations that lock several (mailbox-locks.ts).
 */
import type { MailboxId } from '../lib/ids.ts';
import type { Queryable } from './db.ts';

/** Mailboxes that have journal rows older than `seconds` (at most `limit`). */
export async function mailboxesWithOldChanges(q: Queryable, seconds: number, limit: number): Promise<MailboxId[]> {
  const rows = await q.query<{ mailbox_id: string }>(
    `SELECT DISTINCT mailbox_id FROM mailbox_changes WHERE created_at < now() - make_interval(secs => $1) LIMIT $2`,
    [seconds, limit],
    { lane: 'long' },
  );
  return rows.map((r) => Number(r.mailbox_id) as MailboxId);
}

/**
 * Deletes a mailbox's expunge rows older than `tombstoneSeconds` and its other
 * rows older than `changeSeconds`, raising tombstone_floor over the pruned
 * expunges. Returns how many rows went.
 */
export async function pruneMailboxChanges(
  q: Queryable,
  mailboxId: MailboxId,
  tombstoneSeconds: number,
  changeSeconds: number,
): Promise<number> {
  const rows = await q.query<{ n: string }>(
    `WITH gone AS (
       DELETE FROM mailbox_changes
        WHERE mailbox_id = $1
          AND created_at < now() - make_interval(secs => CASE WHEN kind = 'expunge' THEN $2::float8 ELSE $3::float8 END)
       RETURNING kind, modseq
     ), floor AS (
       UPDATE mailboxes SET tombstone_floor = greatest(tombstone_floor, (SELECT max(modseq) FROM gone WHERE kind = 'expunge'))
        WHERE id = $1 AND EXISTS (SELECT 1 FROM gone WHERE kind = 'expunge')
     )
     SELECT count(*) AS n FROM gone`,
    [mailboxId, tombstoneSeconds, changeSeconds],
    { lane: 'long' },
  );
  return Number(rows[0]?.n ?? 0);
}
