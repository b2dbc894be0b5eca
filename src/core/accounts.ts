/** User accounts: create (with default mailboxes), list, change password, remove. */
import { InvalidInputError, NotFoundError } from '../lib/errors.ts';
import { parseAddress } from '../lib/address.ts';
import { hashPassword } from '../lib/password.ts';
import * as store from '../store/directory.ts';
import { insertAudit } from '../store/ops.ts';
import type { CoreContext } from './context.ts';
import { ensureDefaultMailboxes } from './mailboxes.ts';
import { claimAddress, type CreateOptions } from './principals.ts';

export type Account = store.AccountRow;

/** Passwords: at least 8 characters, at most 1024 (scrypt cost is bounded, not the input). */
export function checkPassword(password: string): void {
  if (password.length < 8) throw new InvalidInputError('password too short (at least 8 characters)');
  if (password.length > 1024) throw new InvalidInputError('password too long (at most 1024 characters)');
}

export interface NewAccountInput extends CreateOptions {
  address: string;
  /** Omitted for directory (LDAP) accounts: their passwords are never stored. */
  password?: string;
  displayName?: string;
  source?: 'local' | 'ldap';
  quotaBytes?: number | null;
}

export async function addAccount(ctx: CoreContext, input: NewAccountInput): Promise<Account> {
  const addr = parseAddress(input.address);
  const source = input.source ?? 'local';
  if (source === 'local') {
    if (input.password === undefined) throw new InvalidInputError('a local account needs a password');
    checkPassword(input.password);
  } else if (input.password !== undefined) {
    throw new InvalidInputError('directory accounts have no stored password');
  }
  const passwordHash = input.password === undefined ? null : await hashPassword(input.password);
  return ctx.db.transaction(async (tx) => {
    const domainId = await claimAddress(ctx, tx, addr.address, addr.domain, input);
    const account = await store.insertAccount(tx, {
      domainId,
      address: addr.address,
      displayName: input.displayName ?? '',
      passwordHash,
      source,
      quotaBytes: input.quotaBytes ?? null,
    });
    await ensureDefaultMailboxes(tx, account.id);
    await insertAudit(tx, { actor: ctx.actor, node: ctx.node, action: 'account.create', target: addr.address });
    return account;
  });
}

export async function listAccounts(ctx: CoreContext, domain?: string): Promise<Account[]> {
  if (domain === undefined) return store.listAccounts(ctx.db);
  const d = await store.findDomain(ctx.db, domain.toLowerCase());
  if (!d) throw new NotFoundError(`domain ${domain} does not exist`);
  return store.listAccounts(ctx.db, d.id);
}

export async function getAccount(ctx: CoreContext, address: string): Promise<Account> {
  const addr = parseAddress(address);
  const a = await store.findAccount(ctx.db, addr.address);
  if (!a) throw new NotFoundError(`user ${addr.address} does not exist`);
  return a;
}

export async function setPassword(ctx: CoreContext, address: string, password: string): Promise<void> {
  checkPassword(password);
  const hash = await hashPassword(password);
  const addr = parseAddress(address);
  await ctx.db.transaction(async (tx) => {
    const a = await store.findAccount(tx, addr.address);
    if (!a) throw new NotFoundError(`user ${addr.address} does not exist`);
    if (a.source !== 'local') throw new InvalidInputError(`${addr.address} is a directory account; change its password in the directory`);
    await store.updatePasswordHash(tx, a.id, hash);
    await insertAudit(tx, { actor: ctx.actor, node: ctx.node, action: 'account.password', target: addr.address });
  });
}

/** Removes the account and all its mailboxes and messages (blobs are collected later). */
export async function removeAccount(ctx: CoreContext, address: string): Promise<void> {
  const addr = parseAddress(address);
  await ctx.db.transaction(async (tx) => {
    const a = await store.findAccount(tx, addr.address);
    if (!a) throw new NotFoundError(`user ${addr.address} does not exist`);
    await store.deleteAccount(tx, a.id);
    await insertAudit(tx, { actor: ctx.actor, node: ctx.node, action: 'account.delete', target: addr.address });
  });
}
