/**
 * EXPUNGE and CLOSE (RFC 9051 6.4.3, 6.4.1) and UID EXPUNGE (RFC 4315 2.1):
 * remove the \Deleted messages of a mailbox, all of them or only those among
 * given UIDs, atomically (one statement that locks the mailbox row first:
 * store/expunge.ts). The expunged UIDs get one new modseq and a tombstone
 * each (QRESYNC VANISHED, RFC 7162 3.2), the quota counters drop by what was
 * removed, and the blobs are left to the collector (mail-gc.ts).
 */
import { NotFoundError } from '../lib/errors.ts';
import type { AccountId, MailboxId, ModSeq } from '../lib/ids.ts';
import { expandUidRanges, normalizeUidRanges, type UidRange } from '../lib/uid-ranges.ts';
import { expungeDeleted } from '../store/expunge.ts';
import type { CoreContext } from './context.ts';
import { announce } from './locked-mailboxes.ts';

export interface ExpungeInput {
  accountId: AccountId;
  mailboxId: MailboxId;
  /** UID EXPUNGE: only \Deleted messages among these UIDs; absent/null: every \Deleted message. */
  uids?: readonly { first: number; last: number }[] | null;
}

export interface ExpungeResult {
  /** The expunged UIDs, ascending, as ranges (VANISHED) ... */
  ranges: UidRange[];
  /** ... and one by one (EXPUNGE responses need each message's sequence number). */
  uids: Uint32Array;
  bytes: number;
  /** The modseq of the expunge (the mailbox's new highest modseq); null when nothing was expunged. */
  modseq: ModSeq | null;
}

export async function expungeMessages(ctx: CoreContext, input: ExpungeInput): Promise<ExpungeResult> {
  const uids = input.uids == null ? null : normalizeUidRanges(input.uids);
  const gone = await expungeDeleted(ctx.db, input.accountId, input.mailboxId, uids);
  if (!gone) throw new NotFoundError(`mailbox ${input.mailboxId} does not exist`);
  const modseq = gone.modseq;
  if (modseq !== null) announce(ctx, [{ mailboxId: input.mailboxId, modseq }]);
  return { ranges: gone.uids, uids: expandUidRanges(gone.uids), bytes: gone.bytes, modseq: modseq as ModSeq | null };
}
