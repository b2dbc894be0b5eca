/**
 * EXPUNGE (RFC 9051 6.4.3), UID EXPUNGE (RFC 4315 2.1) and CLOSE's silent
 * expunge, in ONE statement, sent in one batch (Database.batch: one round
 * trip) after the statement that locks the mailbox row (mailbox-locks.ts).
 * Its modseq is the locked highest_modseq + 1, read by the statement. It:
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
import type { AccountId, MailboxId } from '../lib/ids.ts';
import { parseUidRanges, rangeBounds, type UidRange } from '../lib/uid-ranges.ts';
import type { Database } from './db.ts';
import { lockedMailboxes, lockMailboxesStatement, type LockedMailbox } from './mailbox-locks.ts';
import { uidRangesAgg } from './uid-sql.ts';

// $2: the account. The new modseq, from the row the batch locked; NULL (nothing deleted) for another account's mailbox.
const NEXT = `WITH next AS (SELECT highest_modseq + 1 AS modseq FROM mailboxes WHERE id = $1 AND account_id = $2), `;
const MINE = 'EXISTS (SELECT 1 FROM next)';

const TAIL = `
  ), bump AS (
    UPDATE mailboxes
       SET highest_modseq = (SELECT modseq FROM next),
           message_count = message_count - (SELECT count(*) FROM gone),
           total_size = total_size - (SELECT coalesce(sum(size), 0) FROM gone)
     WHERE id = $1 AND EXISTS (SELECT 1 FROM gone)
  ), journal AS (
    INSERT INTO mailbox_changes(mailbox_id, modseq, uid, kind) SELECT $1, (SELECT modseq FROM next), uid, 'expunge' FROM gone
  ), queued AS (
    INSERT INTO blob_gc_queue(blob_id) SELECT DISTINCT blob_id FROM gone ON CONFLICT (blob_id) DO NOTHING
  )
  SELECT count(*) AS n, coalesce(sum(size), 0) AS bytes, ${uidRangesAgg('gone')} AS uids, (SELECT modseq FROM next) AS modseq FROM gone`;

const EXPUNGE_ALL = `
  ${NEXT} gone AS (
    DELETE FROM messages WHERE mailbox_id = $1 AND deleted AND ${MINE} RETURNING uid, size, blob_id
  ${TAIL}`;

const EXPUNGE_UIDS = `
  ${NEXT} gone AS (
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
 * Locks the account's mailbox and expunges, in one transaction sent as one
 * batch. `uids` null: every \Deleted message; else only those among the
 * ranges (which must not overlap). Undefined: not the account's mailbox.
 * `modseq`: the expunge's (the mailbox's new highest), when anything went.
 */
export async function expungeDeleted(
  db: Database,
  accountId: AccountId,
  mailboxId: MailboxId,
  uids: readonly UidRange[] | null,
): Promise<(ExpungeResult & { mailbox: LockedMailbox; modseq: bigint | null }) | undefined> {
  const [locked, gone] = await db.batch([
    lockMailboxesStatement(accountId, [mailboxId]),
    uids === null ? { sql: EXPUNGE_ALL, params: [mailboxId, accountId] } : { sql: EXPUNGE_UIDS, params: [mailboxId, accountId, ...rangeBounds(uids)] },
  ]);
  const mailbox = lockedMailboxes(locked ?? [])[0];
  if (!mailbox) return undefined;
  const r = gone?.[0] as { n: string; bytes: string; uids: string | null; modseq: string | null } | undefined;
  const count = Number(r?.n ?? 0);
  return {
    mailbox,
    uids: parseUidRanges(r?.uids),
    count,
    bytes: Number(r?.bytes ?? 0),
    modseq: count > 0 && r?.modseq != null ? BigInt(r.modseq) : null,
  };
}
