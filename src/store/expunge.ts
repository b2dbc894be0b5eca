/**
 * EXPUNGE (RFC 9051 6.4.3), UID EXPUNGE (RFC 4315 2.1) and CLOSE's silent
 * expunge, in ONE statement. The caller holds the mailbox row lock and passes
 * `modseq` = the locked highest_modseq + 1. The statement:
 *  - deletes the \Deleted messages (of the given UIDs, or all of them);
 *  - writes one 'expunge' journal row per UID with that modseq: the QRESYNC
 *    tombstones VANISHED is answered from (RFC 7162 3.2: the expunge bumps the
 *    mailbox modseq and the UIDs are associated with it);
 *  - subtracts what it removed from message_count and total_size on the UPDATE
 *    that sets highest_modseq (the invariant of migration 0002);
 *  - queues the blobs for the collector (blob-gc.ts): never deleted inline,
 *    another mailbox or a concurrent append may use them.
 * Their search rows go with the messages (ON DELETE CASCADE).
 */
import type { MailboxId } from '../lib/ids.ts';
import { parseUidRanges, rangeBounds, type UidRange } from '../lib/uid-ranges.ts';
import type { Queryable } from './db.ts';
import { uidRangesAgg } from './uid-sql.ts';

const TAIL = `
  ), bump AS (
    UPDATE mailboxes
       SET highest_modseq = $2::bigint,
           message_count = message_count - (SELECT count(*) FROM gone),
           total_size = total_size - (SELECT coalesce(sum(size), 0) FROM gone)
     WHERE id = $1 AND EXISTS (SELECT 1 FROM gone)
  ), journal AS (
    INSERT INTO mailbox_changes(mailbox_id, modseq, uid, kind) SELECT $1, $2::bigint, uid, 'expunge' FROM gone
  ), queued AS (
    INSERT INTO blob_gc_queue(blob_id) SELECT DISTINCT blob_id FROM gone ON CONFLICT (blob_id) DO NOTHING
  )
  SELECT count(*) AS n, coalesce(sum(size), 0) AS bytes, ${uidRangesAgg('gone')} AS uids FROM gone`;

const EXPUNGE_ALL = `
  WITH gone AS (
    DELETE FROM messages WHERE mailbox_id = $1 AND deleted RETURNING uid, size, blob_id
  ${TAIL}`;

const EXPUNGE_UIDS = `
  WITH gone AS (
    DELETE FROM messages m USING unnest($3::bigint[], $4::bigint[]) AS r(lo, hi)
     WHERE m.mailbox_id = $1 AND m.deleted AND m.uid BETWEEN r.lo AND r.hi
    RETURNING m.uid, m.size, m.blob_id
  ${TAIL}`;

export interface ExpungeResult {
  /** The expunged UIDs, ascending. */
  uids: UidRange[];
  count: number;
  bytes: number;
}

/** `uids` null: every \Deleted message; else only those among the ranges (which must not overlap). */
export async function expungeDeleted(
  tx: Queryable,
  mailboxId: MailboxId,
  modseq: bigint,
  uids: readonly UidRange[] | null,
): Promise<ExpungeResult> {
  const rows =
    uids === null
      ? await tx.query<{ n: string; bytes: string; uids: string | null }>(EXPUNGE_ALL, [mailboxId, modseq.toString()])
      : await tx.query<{ n: string; bytes: string; uids: string | null }>(EXPUNGE_UIDS, [mailboxId, modseq.toString(), ...rangeBounds(uids)]);
  const r = rows[0];
  return { uids: parseUidRanges(r?.uids), count: Number(r?.n ?? 0), bytes: Number(r?.bytes ?? 0) };
}
