/**
 * EXPUNGE (RFC 9051 6.4.3), UID EXPUNGE (RFC 4315 2.1) and CLOSE's silent
 * expunge, as ONE autocommit statement (one round trip). It:
 *  - locks the account's mailbox row first (a CTE the DELETE waits for, so
 *    the lock order of mailbox-locks.ts holds: mailbox row, then messages);
 *  - deletes the \Deleted messages (of the given UIDs, or all of them);
 *  - bumps highest_modseq on the locked row and subtracts what it removed
 *    from message_count and total_size (the invariant of migration 0002);
 *  - writes one 'expunge' journal row per UID with the new modseq: the
 *    QRESYNC tombstones VANISHED is answered from (RFC 7162 3.2: the expunge
 *    bumps the mailbox modseq and the UIDs are associated with it);
 *  - queues the blobs for the collector (blob-gc.ts): never deleted inline,
 *    another mailbox or a concurrent append may use them.
 * Their search rows go with the messages (ON DELETE CASCADE).
 *
 * One statement under READ COMMITTED: the lock may be granted after a
 * concurrent change committed that the statement's snapshot predates. The
 * mailbox row is then read in its latest version (FOR UPDATE and UPDATE do
 * that), and so is each message row the DELETE finds changed (a message no
 * longer \Deleted stays); a message flagged \Deleted by that concurrent
 * change is not seen, as if this EXPUNGE had run first.
 */
import type { AccountId, MailboxId } from '../lib/ids.ts';
import { countUids, parseUidRanges, rangeBounds, type UidRange } from '../lib/uid-ranges.ts';
import { laneForUids, type Queryable } from './db.ts';
import { uidRangesAgg } from './uid-sql.ts';

// $2: the account. No row (nothing deleted, nothing locked) for another account's mailbox.
const LOCK = `WITH box AS (SELECT highest_modseq FROM mailboxes WHERE id = $1 AND account_id = $2 FOR NO KEY UPDATE), `;
const MINE = 'EXISTS (SELECT 1 FROM box)';

const TAIL = `
  ), bump AS (
    UPDATE mailboxes
       SET highest_modseq = highest_modseq + 1,
           message_count = message_count - (SELECT count(*) FROM gone),
           total_size = total_size - (SELECT coalesce(sum(size), 0) FROM gone)
     WHERE id = $1 AND EXISTS (SELECT 1 FROM gone)
    RETURNING highest_modseq
  ), journal AS (
    INSERT INTO mailbox_changes(mailbox_id, modseq, uid, kind) SELECT $1, (SELECT highest_modseq FROM bump), uid, 'expunge' FROM gone
  ), queued AS (
    INSERT INTO blob_gc_queue(blob_id) SELECT DISTINCT blob_id FROM gone ON CONFLICT (blob_id) DO NOTHING
  )
  SELECT EXISTS (SELECT 1 FROM box) AS mine, count(*) AS n, coalesce(sum(size), 0) AS bytes, ${uidRangesAgg('gone')} AS uids,
         (SELECT highest_modseq FROM bump) AS modseq
    FROM gone`;

const EXPUNGE_ALL = `
  ${LOCK} gone AS (
    DELETE FROM messages WHERE mailbox_id = $1 AND deleted AND ${MINE} RETURNING uid, size, blob_id
  ${TAIL}`;

const EXPUNGE_UIDS = `
  ${LOCK} gone AS (
    DELETE FROM messages m USING unnest($3::bigint[], $4::bigint[]) AS r(lo, hi)
     WHERE m.mailbox_id = $1 AND m.deleted AND m.uid BETWEEN r.lo AND r.hi AND ${MINE}
    RETURNING m.uid, m.size, m.blob_id
  ${TAIL}`;

export interface ExpungeResult {
  /** The expunged UIDs, ascending. */
  uids: UidRange[];
  count: number;
  bytes: number;
}

/**
 * Expunges in one statement. `uids` null: every \Deleted message; else only
 * those among the ranges (which must not overlap). Undefined: not the
 * account's mailbox. `modseq`: the expunge's (the mailbox's new highest),
 * when anything went.
 */
export async function expungeDeleted(
  db: Queryable,
  accountId: AccountId,
  mailboxId: MailboxId,
  uids: readonly UidRange[] | null,
): Promise<(ExpungeResult & { modseq: bigint | null }) | undefined> {
  const rows =
    uids === null
      ? await db.query(EXPUNGE_ALL, [mailboxId, accountId])
      : await db.query(EXPUNGE_UIDS, [mailboxId, accountId, ...rangeBounds(uids)], laneForUids(countUids(uids)));
  const r = rows[0] as { mine: boolean; n: string; bytes: string; uids: string | null; modseq: string | null } | undefined;
  if (!r?.mine) return undefined;
  const count = Number(r.n);
  return {
    uids: parseUidRanges(r.uids),
    count,
    bytes: Number(r.bytes),
    modseq: count > 0 && r.modseq != null ? BigInt(r.modseq) : null,
  };
}
