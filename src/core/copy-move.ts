/**
 * COPY / UID COPY (RFC 9051 6.4.7) and MOVE / UID MOVE (RFC 6851) between two
 * mailboxes of one account, each one transaction that locks both mailbox rows
 * in id order (so MOVE A->B and B->A at once queue instead of deadlocking)
 * and runs one statement (store/copy-move.ts). The result carries what
 * COPYUID needs (RFC 4315 3): the target's UIDVALIDITY, the source UIDs and
 * the target UIDs, i-th to i-th.
 *
 * COPY adds to the account's usage, so with a quota it is checked inside the
 * transaction after the copy (RFC 9208 4.3: the copy fails as a whole,
 * QuotaExceededError, IMAP NO [OVERQUOTA]). MOVE stays in the account: no check.
 */
import { InvalidInputError, NotFoundError, QuotaExceededError } from '../lib/errors.ts';
import type { AccountId, MailboxId, ModSeq, Uid, UidValidity } from '../lib/ids.ts';
import { normalizeUidRanges, type UidRange } from '../lib/uid-ranges.ts';
import type { Tx } from '../store/db.ts';
import * as store from '../store/copy-move.ts';
import { accountUsage } from '../store/quota.ts';
import type { CoreContext } from './context.ts';
import { announce, withLockedMailboxes } from './locked-mailboxes.ts';

export interface CopyInput {
  accountId: AccountId;
  sourceId: MailboxId;
  targetId: MailboxId;
  /** UIDs in the source ("*" resolved by the caller); UIDs that do not exist are skipped. */
  uids: readonly { first: number; last: number }[];
  /**
   * COPY only: the mailbox.defaultQuotaBytes setting, for accounts without a
   * limit of their own. Absent: no quota check.
   */
  defaultQuotaBytes?: number;
}

export interface CopyResult {
  /** COPYUID's uidvalidity: the target's. */
  targetUidValidity: UidValidity;
  /** Source UIDs copied/moved, ascending. */
  source: UidRange[];
  /** Their new UIDs in the target, same order (one contiguous range). */
  target: UidRange[];
  count: number;
  bytes: number;
  /** The target's new highest modseq (null when nothing was copied). */
  targetModseq: ModSeq | null;
  /** MOVE: the source's new highest modseq, that of its tombstones (null when nothing moved). */
  sourceModseq: ModSeq | null;
}

type Op = 'copy' | 'move';

async function run(ctx: CoreContext, input: CopyInput, op: Op): Promise<CopyResult> {
  if (op === 'move' && input.sourceId === input.targetId) throw new InvalidInputError('cannot move messages to the mailbox they are in');
  const uids = normalizeUidRanges(input.uids);
  const done = await withLockedMailboxes(ctx, input.accountId, [input.sourceId, input.targetId], async (tx, boxes) => {
    const src = boxes.get(input.sourceId)!;
    const dst = boxes.get(input.targetId)!;
    const target = { id: dst.id, uidNext: dst.uidNext, modseq: dst.highestModseq + 1n };
    const sourceModseq = src.highestModseq + 1n;
    const r =
      uids.length === 0
        ? { source: [], count: 0, bytes: 0 }
        : op === 'copy'
          ? await store.copyMessages(tx, src.id, uids, target)
          : await store.moveMessages(tx, src.id, uids, target, sourceModseq);
    if (op === 'copy' && r.bytes > 0 && input.defaultQuotaBytes !== undefined) await checkQuota(tx, input.accountId, input.defaultQuotaBytes);
    return { r, dst, targetModseq: target.modseq, sourceModseq };
  });
  const { r, dst } = done;
  const moved = r.count > 0;
  const hints = moved ? [{ mailboxId: dst.id, modseq: done.targetModseq }] : [];
  if (moved && op === 'move') hints.push({ mailboxId: input.sourceId, modseq: done.sourceModseq });
  announce(ctx, hints);
  return {
    targetUidValidity: dst.uidValidity,
    source: r.source,
    target: moved ? [{ first: dst.uidNext as Uid, last: (dst.uidNext + r.count - 1) as Uid }] : [],
    count: r.count,
    bytes: r.bytes,
    targetModseq: moved ? (done.targetModseq as ModSeq) : null,
    sourceModseq: moved && op === 'move' ? (done.sourceModseq as ModSeq) : null,
  };
}

/** Usage after the copy (this transaction's rows included) against the limit; throws to roll back. */
async function checkQuota(tx: Tx, accountId: AccountId, defaultQuotaBytes: number): Promise<void> {
  const [u] = await accountUsage(tx, [accountId], defaultQuotaBytes);
  if (!u) throw new NotFoundError(`account ${accountId} does not exist`);
  if (u.limitBytes > 0 && u.usedBytes > u.limitBytes) {
    throw new QuotaExceededError(`the copy would use ${u.usedBytes} of ${u.limitBytes} octets`);
  }
}

/** COPY (RFC 9051 6.4.7): flags, keywords and internal date are kept (the copies are \Recent to the next claimer). */
export function copyMessages(ctx: CoreContext, input: CopyInput): Promise<CopyResult> {
  return run(ctx, input, 'copy');
}

/** MOVE (RFC 6851 3.1): copy and expunge in one transaction; the source gets tombstones, the target new UIDs. */
export function moveMessages(ctx: CoreContext, input: Omit<CopyInput, 'defaultQuotaBytes'>): Promise<CopyResult> {
  return run(ctx, input, 'move');
}
