/**
 * The mailbox tree of an account: creating, deleting and renaming mailboxes
 * (RFC 9051 6.3.4-6.3.6) and the rows LIST is built from. The rules (names,
 * superiors, INBOX) live in core/mailbox-tree.ts; these are the statements.
 * Callers hold the account's tree lock (mailbox-locks.ts lockMailboxTree).
 */
import type { AccountId, MailboxId, UidValidity } from '../lib/ids.ts';
import type { Queryable } from './db.ts';
import type { SpecialUse } from './mailboxes.ts';

/** One LIST row: a mailbox, or a subscribed name without a mailbox (id null). */
export interface TreeRow {
  name: string;
  id: MailboxId | null;
  uidValidity: UidValidity | null;
  specialUse: SpecialUse | null;
  subscribed: boolean;
}

/** Every mailbox and every subscription of the account, by name, in one query. */
export async function listTreeRows(q: Queryable, accountId: AccountId): Promise<TreeRow[]> {
  const rows = await q.query<{ name: string; id: string | null; uidvalidity: string | null; special_use: SpecialUse | null; subscribed: boolean }>(
    `SELECT coalesce(mb.name, s.name) AS name, mb.id, mb.uidvalidity, mb.special_use, s.name IS NOT NULL AS subscribed
       FROM (SELECT id, name, uidvalidity, special_use FROM mailboxes WHERE account_id = $1) mb
       FULL JOIN (SELECT name FROM subscriptions WHERE account_id = $1) s ON s.name = mb.name
      ORDER BY 1`,
    [accountId],
  );
  return rows.map((r) => ({
    name: r.name,
    id: r.id === null ? null : (Number(r.id) as MailboxId),
    uidValidity: r.uidvalidity === null ? null : (Number(r.uidvalidity) as UidValidity),
    specialUse: r.special_use,
    subscribed: r.subscribed,
  }));
}

export async function accountExists(q: Queryable, accountId: AccountId): Promise<boolean> {
  return (await q.query('SELECT 1 FROM accounts WHERE id = $1', [accountId])).length > 0;
}

/** The names among `names` that are mailboxes of the account. */
export async function existingMailboxNames(q: Queryable, accountId: AccountId, names: readonly string[]): Promise<Set<string>> {
  if (names.length === 0) return new Set();
  const rows = await q.query<{ name: string }>('SELECT name FROM mailboxes WHERE account_id = $1 AND name = ANY($2::text[])', [
    accountId,
    [...names],
  ]);
  return new Set(rows.map((r) => r.name));
}

/** Inserts a mailbox (fresh UIDVALIDITY from uidvalidity_seq); undefined when the name exists. */
export async function insertTreeMailbox(
  q: Queryable,
  accountId: AccountId,
  name: string,
  specialUse: SpecialUse | null,
): Promise<{ id: MailboxId; uidValidity: UidValidity } | undefined> {
  const rows = await q.query<{ id: string; uidvalidity: string }>(
    `INSERT INTO mailboxes(account_id, name, special_use) VALUES ($1, $2, $3)
     ON CONFLICT (account_id, name) DO NOTHING RETURNING id, uidvalidity`,
    [accountId, name, specialUse],
  );
  const r = rows[0];
  return r ? { id: Number(r.id) as MailboxId, uidValidity: Number(r.uidvalidity) as UidValidity } : undefined;
}

/** The mailbox named `name` and those below it ("name/..."), ids ascending. */
export async function mailboxesUnder(q: Queryable, accountId: AccountId, name: string): Promise<{ id: MailboxId; name: string }[]> {
  const rows = await q.query<{ id: string; name: string }>(
    `SELECT id, name FROM mailboxes
      WHERE account_id = $1 AND (name = $2 OR left(name, length($2) + 1) = $2 || '/')
      ORDER BY id`,
    [accountId, name],
  );
  return rows.map((r) => ({ id: Number(r.id) as MailboxId, name: r.name }));
}

/**
 * Deletes a (locked) mailbox: its messages, journal rows and search rows go
 * with it (ON DELETE CASCADE), so its usage leaves the account's quota with
 * the row. The blobs its messages used are queued for the blob collector
 * first. Subscriptions stay (RFC 9051 6.3.7: the server must not remove a
 * subscription on its own).
 */
export async function deleteTreeMailbox(q: Queryable, id: MailboxId): Promise<{ highestModseq: bigint } | undefined> {
  const rows = await q.query<{ highest_modseq: string }>(
    `WITH queued AS (
       INSERT INTO blob_gc_queue(blob_id) SELECT DISTINCT blob_id FROM messages WHERE mailbox_id = $1
       ON CONFLICT (blob_id) DO NOTHING
     )
     DELETE FROM mailboxes WHERE id = $1 RETURNING highest_modseq`,
    [id],
  );
  return rows[0] ? { highestModseq: BigInt(rows[0].highest_modseq) } : undefined;
}

/**
 * Gives (locked) mailboxes new names. Two steps, because the new name of one
 * may be the old name of another (RENAME "a/b" to "a" turns "a/b/b" into
 * "a/b") and the unique index is checked row by row: first every row gets a
 * name no real mailbox can have (a control character), then its new one.
 */
export async function renameTreeMailboxes(
  q: Queryable,
  accountId: AccountId,
  renames: readonly { id: MailboxId; name: string }[],
): Promise<void> {
  if (renames.length === 0) return;
  const ids = renames.map((r) => r.id);
  await q.query(`UPDATE mailboxes SET name = chr(1) || id::text WHERE account_id = $1 AND id = ANY($2::bigint[])`, [accountId, ids]);
  await q.query(
    `UPDATE mailboxes mb SET name = r.name
       FROM unnest($2::bigint[], $3::text[]) AS r(id, name)
      WHERE mb.account_id = $1 AND mb.id = r.id`,
    [accountId, ids, renames.map((r) => r.name)],
  );
}
