/** Mailboxes (folders) and their UID/MODSEQ counters. */
import type { AccountId, MailboxId, UidValidity } from '../lib/ids.ts';
import type { Queryable } from './db.ts';

export type SpecialUse = '\\All' | '\\Archive' | '\\Drafts' | '\\Flagged' | '\\Junk' | '\\Sent' | '\\Trash';

export interface MailboxRow {
  id: MailboxId;
  accountId: AccountId;
  name: string;
  uidValidity: UidValidity;
  uidNext: number;
  highestModseq: bigint;
  specialUse: SpecialUse | null;
  subscribed: boolean;
}

// subscribed: a row in subscriptions (migration 0005), which may also name mailboxes that do not exist.
const COLS = `id, account_id, name, uidvalidity, uid_next, highest_modseq, special_use,
  EXISTS (SELECT 1 FROM subscriptions s WHERE s.account_id = mailboxes.account_id AND s.name = mailboxes.name) AS subscribed`;
const mailboxOf = (r: Record<string, unknown>): MailboxRow => ({
  id: Number(r.id) as MailboxId,
  accountId: Number(r.account_id) as AccountId,
  name: r.name as string,
  uidValidity: Number(r.uidvalidity) as UidValidity,
  uidNext: Number(r.uid_next),
  highestModseq: BigInt(r.highest_modseq as string),
  specialUse: (r.special_use as SpecialUse | null) ?? null,
  subscribed: r.subscribed as boolean,
});

export interface NewMailbox {
  accountId: AccountId;
  name: string;
  specialUse: SpecialUse | null;
  subscribed: boolean;
}

/** Inserts the mailboxes that do not exist yet (by name); returns how many were created. */
export async function insertMailboxes(q: Queryable, boxes: readonly NewMailbox[]): Promise<number> {
  let created = 0;
  for (const b of boxes) {
    const rows = await q.query(
      `WITH mb AS (
         INSERT INTO mailboxes(account_id, name, special_use) VALUES ($1, $2, $3)
         ON CONFLICT (account_id, name) DO NOTHING RETURNING account_id, name
       ), sub AS (
         INSERT INTO subscriptions(account_id, name) SELECT account_id, name FROM mb WHERE $4::boolean
         ON CONFLICT DO NOTHING
       )
       SELECT name FROM mb`,
      [b.accountId, b.name, b.specialUse, b.subscribed],
    );
    created += rows.length;
  }
  return created;
}

export async function listMailboxes(q: Queryable, accountId: AccountId): Promise<MailboxRow[]> {
  const rows = await q.query(`SELECT ${COLS} FROM mailboxes WHERE account_id = $1 ORDER BY name`, [accountId]);
  return rows.map(mailboxOf);
}

export async function findMailbox(q: Queryable, accountId: AccountId, name: string): Promise<MailboxRow | undefined> {
  const rows = await q.query(`SELECT ${COLS} FROM mailboxes WHERE account_id = $1 AND name = $2`, [accountId, name]);
  return rows[0] ? mailboxOf(rows[0]) : undefined;
}

export async function getMailbox(q: Queryable, id: MailboxId): Promise<MailboxRow | undefined> {
  const rows = await q.query(`SELECT ${COLS} FROM mailboxes WHERE id = $1`, [id]);
  return rows[0] ? mailboxOf(rows[0]) : undefined;
}
