/** Mailboxes of an account, and the set every account starts with. */
import type { AccountId } from '../lib/ids.ts';
import { NotFoundError } from '../lib/errors.ts';
import type { Queryable } from '../store/db.ts';
import * as store from '../store/mailboxes.ts';
import type { CoreContext } from './context.ts';

export type Mailbox = store.MailboxRow;

/** Created for every new account, with RFC 6154 special-use attributes. */
export const DEFAULT_MAILBOXES: readonly { name: string; specialUse: store.SpecialUse | null }[] = [
  { name: 'INBOX', specialUse: null },
  { name: 'Drafts', specialUse: '\\Drafts' },
  { name: 'Sent', specialUse: '\\Sent' },
  { name: 'Archive', specialUse: '\\Archive' },
  { name: 'Junk', specialUse: '\\Junk' },
  { name: 'Trash', specialUse: '\\Trash' },
];

/** Creates the default mailboxes that are missing (idempotent); returns how many were created. */
export function ensureDefaultMailboxes(tx: Queryable, accountId: AccountId): Promise<number> {
  return store.insertMailboxes(
    tx,
    DEFAULT_MAILBOXES.map((m) => ({ accountId, name: m.name, specialUse: m.specialUse, subscribed: true })),
  );
}

/**
 * INBOX is case-insensitive (RFC 9051 5.1), also as the first level ("inbox/x"
 * is "INBOX/x", as mailbox-names.ts normalizeMailboxName stores it); every
 * other name is exact.
 */
export function canonicalMailboxName(name: string): string {
  const slash = name.indexOf('/');
  const first = slash < 0 ? name : name.slice(0, slash);
  return first.toUpperCase() === 'INBOX' ? 'INBOX' + name.slice(first.length) : name;
}

export function listMailboxes(ctx: CoreContext, accountId: AccountId): Promise<Mailbox[]> {
  return store.listMailboxes(ctx.db, accountId);
}

export async function getMailboxByName(ctx: CoreContext, accountId: AccountId, name: string): Promise<Mailbox> {
  const box = await store.findMailbox(ctx.db, accountId, canonicalMailboxName(name));
  if (!box) throw new NotFoundError(`mailbox ${name} does not exist`);
  return box;
}
