/**
 * The locks every mailbox-changing operation takes, in this order, inside its
 * transaction (docs/imap-store.md, "Locking"):
 *
 *  1. lockMailboxTree: the account's advisory lock, only for operations that
 *     change the set of names (create, rename, delete), so two of them never
 *     interleave (a RENAME of "a" misses no "a/x" created meanwhile);
 *  2. lockMailboxes: the mailbox rows, ids ascending, FOR UPDATE. Every change
 *     to a mailbox ends with an UPDATE of its row (highest_modseq), so taking
 *     the row lock first costs no concurrency, makes the modseq the caller
 *     computes (highest_modseq + 1) safe to use, and a fixed order means two
 *     transactions that lock the same mailboxes (MOVE A->B and B->A) queue
 *     instead of deadlocking;
 *  3. message rows, implicitly, by the statement that changes them.
 *
 * Appends (messages.ts insertMessage) and STORE (flags.ts) lock one mailbox
 * row in one statement, by updating it before touching any message, which
 * fits the order. Anything that locks several mailbox rows must take
 * them through lockMailboxes.
 */
import type { AccountId, MailboxId, UidValidity } from '../lib/ids.ts';
import type { Queryable, Row, Statement } from './db.ts';

export interface LockedMailbox {
  id: MailboxId;
  name: string;
  uidValidity: UidValidity;
  uidNext: number;
  highestModseq: bigint;
  messageCount: number;
  totalSize: number;
}

/**
 * Locks the account's mailboxes with these ids (FOR UPDATE, ids ascending)
 * until the transaction ends and returns them, ascending by id. Ids that do
 * not exist or belong to another account are missing from the result: the
 * caller compares lengths (that is the access check).
 */
export async function lockMailboxes(tx: Queryable, accountId: AccountId, ids: readonly MailboxId[]): Promise<LockedMailbox[]> {
  const s = lockMailboxesStatement(accountId, ids);
  return lockedMailboxes(await tx.query(s.sql, s.params));
}

/** lockMailboxes as a statement of a Database.batch; lockedMailboxes() reads its rows. */
export function lockMailboxesStatement(accountId: AccountId, ids: readonly MailboxId[]): Statement {
  return {
    sql: `SELECT id, name, uidvalidity, uid_next, highest_modseq, message_count, total_size
            FROM mailboxes WHERE account_id = $1 AND id = ANY($2::bigint[])
           ORDER BY id FOR UPDATE`,
    params: [accountId, [...new Set(ids)]],
  };
}

export function lockedMailboxes(rows: readonly Row[]): LockedMailbox[] {
  return (
    rows as readonly {
      id: string;
      name: string;
      uidvalidity: string;
      uid_next: string;
      highest_modseq: string;
      message_count: number;
      total_size: string;
    }[]
  ).map((r) => ({
    id: Number(r.id) as MailboxId,
    name: r.name,
    uidValidity: Number(r.uidvalidity) as UidValidity,
    uidNext: Number(r.uid_next),
    highestModseq: BigInt(r.highest_modseq),
    messageCount: r.message_count,
    totalSize: Number(r.total_size),
  }));
}

/**
 * The account's mailbox-tree lock (transaction-scoped advisory lock): held by
 * CREATE, DELETE and RENAME. The key is a 64-bit hash of a fixed text seeded
 * with the account id, so accounts do not share locks.
 */
export async function lockMailboxTree(tx: Queryable, accountId: AccountId): Promise<void> {
  await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended('tegu.mailbox-tree', $1::bigint))`, [accountId]);
}
