/**
 * COPY (RFC 9051 6.4.7) and MOVE (RFC 6851) of a set of UIDs to another
 * mailbox of the same account, each in ONE statement. The caller holds both
 * mailbox row locks (mailbox-locks.ts, ids ascending) and passes the target's
 * locked uid_next and the new modseqs (locked highest_modseq + 1).
 *
 * The target UIDs are uid_next, uid_next + 1, ... in ascending source-UID
 * order, so the i-th source UID maps to the i-th target UID (RFC 4315 COPYUID)
 * and the target range is contiguous. All new target messages share one new
 * modseq, like the messages of one STORE.
 *
 * COPY inserts new message rows pointing at the same blob (no bytes copied),
 * with the header prefix, flags, keywords, internal date and the parsed
 * columns of the source, and copies the search index entry (or the queued
 * search text). A column added to messages must be added to COPY_SQL.
 *
 * MOVE updates the rows in place (new mailbox, UID and modseq): no copy of the
 * parsed columns, the search index entry stays valid, and the message keeps
 * its id. For QRESYNC it is an expunge in the source (tombstones with the
 * source's new modseq) and an append in the target, as RFC 6851 3.3 asks.
 *
 * Both keep message_count and total_size exact on both mailbox rows.
 */
import type { MailboxId } from '../lib/ids.ts';
import { parseUidRanges, rangeBounds, type UidRange } from '../lib/uid-ranges.ts';
import type { Queryable } from './db.ts';
import { messagesInRanges, uidRangesAgg } from './uid-sql.ts';

// $1 source, $2 target, $3/$4 UID ranges, $5 target uid_next, $6 target modseq (exported for test/store-plans.test.ts).
export const COPY_SQL = `
  WITH src AS (
    SELECT m.*, row_number() OVER (ORDER BY m.uid) AS n
      FROM ${messagesInRanges('m', '$1', '$3', '$4')}
  ), ins AS (
    INSERT INTO messages(mailbox_id, uid, modseq, blob_id, header_prefix, size, internal_date,
                         seen, answered, flagged, deleted, draft, keywords,
                         subject, from_address, message_id, sent_at, envelope, bodystructure)
    SELECT $2, $5::bigint + n - 1, $6::bigint, blob_id, header_prefix, size, internal_date,
           seen, answered, flagged, deleted, draft, keywords,
           subject, from_address, message_id, sent_at, envelope, bodystructure
      FROM src
    RETURNING id, uid, size
  ), pairs AS (
    SELECT src.id AS old_id, ins.id AS new_id FROM src JOIN ins ON ins.uid = $5::bigint + src.n - 1
  ), indexed AS (
    INSERT INTO message_search(message_id, vector)
    SELECT p.new_id, s.vector FROM pairs p JOIN message_search s ON s.message_id = p.old_id
  ), pending AS (
    INSERT INTO search_pending(message_id, text, vector)
    SELECT p.new_id, s.text, s.vector FROM pairs p JOIN search_pending s ON s.message_id = p.old_id
  ), bump AS (
    UPDATE mailboxes
       SET uid_next = uid_next + (SELECT count(*) FROM ins), highest_modseq = $6::bigint,
           message_count = message_count + (SELECT count(*) FROM ins),
           total_size = total_size + (SELECT coalesce(sum(size), 0) FROM ins)
     WHERE id = $2 AND EXISTS (SELECT 1 FROM ins)
  ), journal AS (
    INSERT INTO mailbox_changes(mailbox_id, modseq, uid, kind) SELECT $2, $6::bigint, uid, 'append' FROM ins
  )
  SELECT count(*) AS n, coalesce(sum(size), 0) AS bytes, ${uidRangesAgg('src')} AS source_uids FROM src`;

// $1 source, $2 target, $3/$4 UID ranges, $5 target uid_next, $6 target modseq, $7 source modseq.
export const MOVE_SQL = `
  WITH src AS (
    SELECT m.id, m.uid, row_number() OVER (ORDER BY m.uid) AS n
      FROM ${messagesInRanges('m', '$1', '$3', '$4')}
  ), moved AS (
    UPDATE messages m SET mailbox_id = $2, uid = $5::bigint + src.n - 1, modseq = $6::bigint
      FROM src
     -- ANY(ARRAY(...)): an index scan of the moved ids, where a generic plan would hash-join the whole table.
     WHERE m.id = src.id AND m.id = ANY (ARRAY(SELECT id FROM src))
    RETURNING src.uid AS old_uid, m.uid AS new_uid, m.size
  ), from_box AS (
    UPDATE mailboxes
       SET highest_modseq = $7::bigint,
           message_count = message_count - (SELECT count(*) FROM moved),
           total_size = total_size - (SELECT coalesce(sum(size), 0) FROM moved)
     WHERE id = $1 AND EXISTS (SELECT 1 FROM moved)
  ), to_box AS (
    UPDATE mailboxes
       SET uid_next = uid_next + (SELECT count(*) FROM moved), highest_modseq = $6::bigint,
           message_count = message_count + (SELECT count(*) FROM moved),
           total_size = total_size + (SELECT coalesce(sum(size), 0) FROM moved)
     WHERE id = $2 AND EXISTS (SELECT 1 FROM moved)
  ), journal AS (
    INSERT INTO mailbox_changes(mailbox_id, modseq, uid, kind)
    SELECT $1, $7::bigint, old_uid, 'expunge' FROM moved
    UNION ALL
    SELECT $2, $6::bigint, new_uid, 'append' FROM moved
  )
  SELECT count(*) AS n, coalesce(sum(size), 0) AS bytes,
         ${uidRangesAgg('(SELECT old_uid AS uid FROM moved) AS moved_uids')} AS source_uids
    FROM moved`;

export interface CopyResult {
  /** The source UIDs that existed and were copied/moved, ascending. */
  source: UidRange[];
  /** How many; the target UIDs are targetUidNext .. targetUidNext + count - 1 in the same order. */
  count: number;
  /** Octets copied/moved (sum of message sizes). */
  bytes: number;
}

export interface CopyTarget {
  id: MailboxId;
  /** The target's locked uid_next: the first target UID. */
  uidNext: number;
  /** The target's new modseq (locked highest_modseq + 1). */
  modseq: bigint;
}

function result(r: { n: string; bytes: string; source_uids: string | null } | undefined): CopyResult {
  return { source: parseUidRanges(r?.source_uids), count: Number(r?.n ?? 0), bytes: Number(r?.bytes ?? 0) };
}

/** Copies; the source may be the target (COPY to the selected mailbox duplicates the messages). */
export async function copyMessages(tx: Queryable, sourceId: MailboxId, uids: readonly UidRange[], target: CopyTarget): Promise<CopyResult> {
  const rows = await tx.query<{ n: string; bytes: string; source_uids: string | null }>(COPY_SQL, [
    sourceId,
    target.id,
    ...rangeBounds(uids),
    target.uidNext,
    target.modseq.toString(),
  ]);
  return result(rows[0]);
}

/** Moves; the source must not be the target. `sourceModseq`: the source's locked highest_modseq + 1. */
export async function moveMessages(
  tx: Queryable,
  sourceId: MailboxId,
  uids: readonly UidRange[],
  target: CopyTarget,
  sourceModseq: bigint,
): Promise<CopyResult> {
  if (sourceId === target.id) throw new Error('moveMessages: source and target are the same mailbox');
  const rows = await tx.query<{ n: string; bytes: string; source_uids: string | null }>(MOVE_SQL, [
    sourceId,
    target.id,
    ...rangeBounds(uids),
    target.uidNext,
    target.modseq.toString(),
    sourceModseq.toString(),
  ]);
  return result(rows[0]);
}
