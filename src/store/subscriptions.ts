/**
 * Subscriptions (RFC 9051 6.3.7 SUBSCRIBE, 6.3.8 UNSUBSCRIBE; LSUB and LIST
 * (SUBSCRIBED), RFC 5258): names, not mailbox ids, since a subscription may
 * outlive its mailbox or precede it.
 */
import type { AccountId } from '../lib/ids.ts';
import type { Queryable } from './db.ts';

/** Adds the name (idempotent). False when the account does not exist. */
export async function insertSubscription(q: Queryable, accountId: AccountId, name: string): Promise<boolean> {
  const rows = await q.query(
    `INSERT INTO subscriptions(account_id, name) SELECT id, $2 FROM accounts WHERE id = $1
     ON CONFLICT (account_id, name) DO UPDATE SET name = EXCLUDED.name RETURNING name`,
    [accountId, name],
  );
  return rows.length > 0;
}

/** Removes the name; false when it was not subscribed. */
export async function deleteSubscription(q: Queryable, accountId: AccountId, name: string): Promise<boolean> {
  const rows = await q.query('DELETE FROM subscriptions WHERE account_id = $1 AND name = $2 RETURNING name', [accountId, name]);
  return rows.length > 0;
}

export async function listSubscriptions(q: Queryable, accountId: AccountId): Promise<string[]> {
  const rows = await q.query<{ name: string }>('SELECT name FROM subscriptions WHERE account_id = $1 ORDER BY name', [accountId]);
  return rows.map((r) => r.name);
}

/**
 * RENAME moves the subscriptions of the renamed names (`from` and every
 * "from/..." name) to the new names, as users expect; a subscription the new
 * name already had is kept. Two statements: old and new names may overlap.
 */
export async function renameSubscriptions(q: Queryable, accountId: AccountId, from: string, to: string): Promise<number> {
  const gone = await q.query<{ name: string }>(
    `DELETE FROM subscriptions WHERE account_id = $1 AND (name = $2 OR left(name, length($2) + 1) = $2 || '/') RETURNING name`,
    [accountId, from],
  );
  if (gone.length === 0) return 0;
  const names = gone.map((r) => to + r.name.slice(from.length));
  await q.query(
    `INSERT INTO subscriptions(account_id, name) SELECT $1, unnest($2::text[]) ON CONFLICT (account_id, name) DO NOTHING`,
    [accountId, names],
  );
  return names.length;
}
