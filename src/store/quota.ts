/**
 * Storage quota: what an account uses (the sum of its mailboxes' running
 * totals, see migrations/0002-quota-usage.ts) and its limit.
 *
 * Usage is never computed from the messages table here: every statement that
 * adds or removes message rows keeps mailboxes.message_count and
 * mailboxes.total_size current in the same transaction, on the UPDATE of the
 * mailbox row it makes anyway (appends: messages.ts insertMessage's alloc).
 * An expunge must do the same, for example:
 *
 *   WITH gone AS (DELETE FROM messages WHERE mailbox_id = $1 AND uid = ANY($2) RETURNING uid, size)
 *   UPDATE mailboxes SET highest_modseq = highest_modseq + 1,
 *          message_count = message_count - (SELECT count(*) FROM gone),
 *          total_size = total_size - (SELECT coalesce(sum(size), 0) FROM gone)
 *    WHERE id = $1 ...
 */
import type { AccountId } from '../lib/ids.ts';
import type { Queryable } from './db.ts';

export interface AccountUsage {
  accountId: AccountId;
  /** Octets of all the account's messages (sum of mailboxes.total_size). */
  usedBytes: number;
  messages: number;
  /** The account's own limit; null: the default applies. */
  quotaBytes: number | null;
  /** The limit in force: quotaBytes, else the default; 0 = unlimited. */
  limitBytes: number;
}

/**
 * Usage and limit of each of the accounts, in one query (a group's members
 * are checked together). Accounts that do not exist are missing from the result.
 */
export async function accountUsage(
  q: Queryable,
  accountIds: readonly AccountId[],
  defaultQuotaBytes: number,
): Promise<AccountUsage[]> {
  if (accountIds.length === 0) return [];
  const rows = await q.query<{ id: string; used: string; messages: string; quota: string | null; limit_bytes: string }>(
    `SELECT a.id, coalesce(sum(mb.total_size), 0) AS used, coalesce(sum(mb.message_count), 0) AS messages,
            a.quota_bytes AS quota, coalesce(a.quota_bytes, $2::bigint) AS limit_bytes
       FROM accounts a LEFT JOIN mailboxes mb ON mb.account_id = a.id
      WHERE a.id = ANY($1::bigint[])
      GROUP BY a.id`,
    [[...accountIds], defaultQuotaBytes],
  );
  return rows.map((r) => ({
    accountId: Number(r.id) as AccountId,
    usedBytes: Number(r.used),
    messages: Number(r.messages),
    quotaBytes: r.quota === null ? null : Number(r.quota),
    limitBytes: Number(r.limit_bytes),
  }));
}

/** Octets used per account, for listings; accounts without messages are absent. */
export async function usedBytesByAccount(q: Queryable): Promise<Map<AccountId, number>> {
  const rows = await q.query<{ account_id: string; used: string }>(
    'SELECT account_id, sum(total_size) AS used FROM mailboxes GROUP BY account_id HAVING sum(total_size) > 0',
  );
  return new Map(rows.map((r) => [Number(r.account_id) as AccountId, Number(r.used)]));
}

/** Sets an account's own limit (0 = unlimited, null = the default). False when there is no such account. */
export async function updateAccountQuota(q: Queryable, id: AccountId, quotaBytes: number | null): Promise<boolean> {
  const rows = await q.query('UPDATE accounts SET quota_bytes = $2, updated_at = now() WHERE id = $1 RETURNING id', [id, quotaBytes]);
  return rows.length > 0;
}
