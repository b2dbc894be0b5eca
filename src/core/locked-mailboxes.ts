/**
 * The frame of every operation that changes messages: one transaction that
 * first locks the mailbox rows it touches (ids ascending, store/mailbox-locks.ts)
 * and refuses a mailbox that is not the caller's account's. After the commit
 * the caller announces the changes (change-hints.ts); nothing is announced for
 * a transaction that rolled back.
 */
import { NotFoundError } from '../lib/errors.ts';
import type { AccountId, MailboxId } from '../lib/ids.ts';
import type { Tx } from '../store/db.ts';
import { lockMailboxes, type LockedMailbox } from '../store/mailbox-locks.ts';
import { announceChanges, mailboxHint } from './change-hints.ts';
import type { CoreContext } from './context.ts';

export type { LockedMailbox };

/**
 * Runs `fn` in a transaction holding the row locks of the account's mailboxes
 * `ids`. NotFoundError (and nothing locked for long) when one of them does
 * not exist or is another account's: to a user, another user's mailbox does
 * not exist.
 */
export function withLockedMailboxes<T>(
  ctx: CoreContext,
  accountId: AccountId,
  ids: readonly MailboxId[],
  fn: (tx: Tx, boxes: ReadonlyMap<MailboxId, LockedMailbox>) => Promise<T>,
): Promise<T> {
  return ctx.db.transaction(async (tx) => {
    const locked = await lockMailboxes(tx, accountId, ids);
    const byId = new Map(locked.map((b) => [b.id, b]));
    for (const id of ids) if (!byId.has(id)) throw new NotFoundError(`mailbox ${id} does not exist`);
    return fn(tx, byId);
  });
}

/** Announces committed changes: one hint per (mailbox, new modseq); not awaited by callers. */
export function announce(ctx: CoreContext, changes: readonly { mailboxId: MailboxId; modseq: bigint }[]): void {
  if (changes.length === 0) return;
  void announceChanges(
    ctx.db,
    changes.map((c) => mailboxHint(c.mailboxId, c.modseq)),
  );
}
