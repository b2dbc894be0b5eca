/**
 * Mailbox quota (RFC 9208 STORAGE resource): how many octets of messages an
 * account may keep. The limit is accounts.quota_bytes, or the
 * mailbox.defaultQuotaBytes setting when that is NULL; 0 is unlimited. Usage
 * is the running total kept on the mailbox rows (store/quota.ts).
 *
 * The check is made before a message is accepted (SMTP/LMTP RCPT with the
 * SIZE the client declared, and LMTP again at the end of DATA with the real
 * size), not inside the delivery transaction. So it is a soft limit, like
 * Dovecot's quota with quota_grace: a message accepted at RCPT is stored
 * whole even when it takes the account past its limit by its own size, and
 * two deliveries racing each other may both pass. The next message is
 * refused until something is deleted.
 */
import { InvalidInputError, NotFoundError } from '../lib/errors.ts';
import type { AccountId } from '../lib/ids.ts';
import { parseAddress } from '../lib/address.ts';
import type { Queryable } from '../store/db.ts';
import { findAccount } from '../store/directory.ts';
import { insertAudit } from '../store/ops.ts';
import * as store from '../store/quota.ts';
import type { CoreContext } from './context.ts';
import { loadSettings } from './settings.ts';

/** An account to check, with its own limit when already known (see DirectoryAccount.quotaBytes). */
export interface QuotaSubject {
  accountId: AccountId;
  quotaBytes?: number | null;
}

/**
 * The accounts that have a limit at all: those whose known limit is 0, or
 * unset with an unlimited default, cannot be over it and need no query (the
 * common case: no quotas configured costs nothing per recipient).
 */
export function limitedAccounts(accounts: readonly QuotaSubject[], defaultQuotaBytes: number): AccountId[] {
  return accounts
    .filter((a) => !(a.quotaBytes === 0 || (a.quotaBytes === null && defaultQuotaBytes === 0)))
    .map((a) => a.accountId);
}

export interface QuotaCheck {
  accountId: AccountId;
  usedBytes: number;
  /** 0 = unlimited. */
  limitBytes: number;
  /** Taking `incomingBytes` more would exceed the limit. */
  over: boolean;
}

/**
 * Would `incomingBytes` more put the account over its limit? An unknown size
 * (0: no SIZE parameter) counts as 1 octet, so a mailbox exactly at its limit
 * is full: used + max(incoming, 1) > limit.
 */
export function exceedsQuota(usedBytes: number, limitBytes: number, incomingBytes: number): boolean {
  return limitBytes > 0 && usedBytes + Math.max(incomingBytes, 1) > limitBytes;
}

/**
 * The quota check for a message of `incomingBytes` octets (0 when not known
 * yet) to each of the accounts, in one query. Accounts that no longer exist
 * are not reported (delivery finds out).
 */
export async function checkQuota(
  db: Queryable,
  accountIds: readonly AccountId[],
  incomingBytes: number,
  defaultQuotaBytes: number,
): Promise<QuotaCheck[]> {
  const usage = await store.accountUsage(db, [...new Set(accountIds)], defaultQuotaBytes);
  return usage.map((u) => ({
    accountId: u.accountId,
    usedBytes: u.usedBytes,
    limitBytes: u.limitBytes,
    over: exceedsQuota(u.usedBytes, u.limitBytes, incomingBytes),
  }));
}

export interface AccountQuota {
  address: string;
  /** The account's own limit; null: the mailbox.defaultQuotaBytes setting applies. */
  quotaBytes: number | null;
  /** The limit in force; 0 = unlimited. */
  limitBytes: number;
  usedBytes: number;
  messages: number;
}

/** Quota and usage of one account (the default read from the settings now). */
export async function getQuota(ctx: CoreContext, address: string): Promise<AccountQuota> {
  const addr = parseAddress(address).address;
  const account = await findAccount(ctx.db, addr);
  if (!account) throw new NotFoundError(`user ${addr} does not exist`);
  const defaultQuota = (await loadSettings(ctx.db)).values['mailbox.defaultQuotaBytes'];
  const [u] = await store.accountUsage(ctx.db, [account.id], defaultQuota);
  if (!u) throw new NotFoundError(`user ${addr} does not exist`);
  return { address: addr, quotaBytes: u.quotaBytes, limitBytes: u.limitBytes, usedBytes: u.usedBytes, messages: u.messages };
}

/** Sets an account's limit: octets, 0 = unlimited, null = the default setting. Audited. */
export async function setQuota(ctx: CoreContext, address: string, quotaBytes: number | null): Promise<AccountQuota> {
  if (quotaBytes !== null && (!Number.isSafeInteger(quotaBytes) || quotaBytes < 0)) {
    throw new InvalidInputError(`quota must be a whole number of bytes >= 0, got ${quotaBytes}`);
  }
  const addr = parseAddress(address).address;
  await ctx.db.transaction(async (tx) => {
    const a = await findAccount(tx, addr);
    if (!a || !(await store.updateAccountQuota(tx, a.id, quotaBytes))) throw new NotFoundError(`user ${addr} does not exist`);
    await insertAudit(tx, { actor: ctx.actor, node: ctx.node, action: 'account.quota', target: addr, details: { quotaBytes } });
  });
  return getQuota(ctx, addr);
}

/** Octets used by each account that has messages (for listings). */
export function usedBytesByAccount(ctx: CoreContext): Promise<Map<AccountId, number>> {
  return store.usedBytesByAccount(ctx.db);
}

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/**
 * A quota as an operator writes it: `500M`, `2G`, `1.5G`, `100k`, `12345`
 * (bytes; K/M/G/T are powers of 1024, a trailing B or iB is allowed),
 * `0` or `unlimited` (no limit), `default` (null: the mailbox.defaultQuotaBytes setting).
 */
export function parseQuotaSize(text: string): number | null {
  const t = text.trim().toLowerCase();
  if (t === 'default') return null;
  if (t === 'unlimited' || t === 'none') return 0;
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/.exec(t);
  if (!m) throw new InvalidInputError(`"${text}" is not a size (like 500M, 2G, 0 for unlimited, or "default")`);
  const bytes = Math.floor(Number(m[1]) * UNITS[m[2] ?? '']!);
  if (!Number.isSafeInteger(bytes)) throw new InvalidInputError(`"${text}" is too large`);
  if (bytes === 0 && Number(m[1]) > 0) throw new InvalidInputError(`"${text}" is less than one byte`);
  return bytes;
}
