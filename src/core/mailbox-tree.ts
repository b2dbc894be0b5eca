/**
 * The mailbox tree of an account (RFC 9051 6.3.4-6.3.9): CREATE, DELETE,
 * RENAME, SUBSCRIBE/UNSUBSCRIBE and the data LIST/LSUB answer from. Every
 * function takes the account id; a mailbox of another account does not exist.
 *
 * Decisions (docs/imap-store.md):
 *  - CREATE makes the missing superiors too (RFC 9051 6.3.4 SHOULD), as plain
 *    mailboxes without subscription or special use;
 *  - DELETE of a mailbox with inferiors is allowed (RFC 9051 6.3.5): its row
 *    and messages go, the inferiors stay, and the name lives on only as their
 *    superior, listed \NonExistent (which implies \Noselect, RFC 9051 7.3.1);
 *    deleting a name that is only such a superior is an error, and so is
 *    deleting INBOX;
 *  - RENAME moves inferiors with the mailbox and creates missing superiors of
 *    the new name (RFC 9051 6.3.6); the mailbox keeps its id, OBJECTID and
 *    UIDVALIDITY (UIDVALIDITY values come from one sequence and are never
 *    reused, so (new name, UIDVALIDITY) never names an older mailbox). RENAME
 *    of INBOX creates the new mailbox (fresh UIDVALIDITY) and moves every
 *    message of INBOX into it; INBOX stays (same id), empty, and its inferiors
 *    are not renamed. A name that exists only as a superior can be renamed:
 *    its inferiors move;
 *  - subscriptions are names: SUBSCRIBE accepts a name that does not exist,
 *    DELETE keeps the subscription (RFC 9051 6.3.7), RENAME moves it;
 *  - special use on CREATE (RFC 6154 5.3): \Archive \Drafts \Junk \Sent \Trash.
 *    \All and \Flagged name virtual collections this server does not build:
 *    refused (SpecialUseError, IMAP NO [USEATTR]). Several mailboxes of an
 *    account may share an attribute (RFC 6154 does not forbid it, the schema
 *    does not either).
 */
import { AlreadyExistsError, InvalidInputError, NotFoundError, SpecialUseError } from '../lib/errors.ts';
import type { AccountId, MailboxId, UidValidity } from '../lib/ids.ts';
import { ALL_UIDS } from '../lib/uid-ranges.ts';
import type { Tx } from '../store/db.ts';
import { moveMessages } from '../store/copy-move.ts';
import { lockMailboxes, lockMailboxTree } from '../store/mailbox-locks.ts';
import * as tree from '../store/mailbox-tree.ts';
import { findMailbox, type SpecialUse } from '../store/mailboxes.ts';
import * as subs from '../store/subscriptions.ts';
import type { CoreContext } from './context.ts';
import { announce } from './locked-mailboxes.ts';
import { isBelow, mailboxObjectId, normalizeMailboxName, renamedName, superiorsOf } from './mailbox-names.ts';

export type { SpecialUse };

/** Attributes CREATE (USE (...)) may give (RFC 6154 5.3); \All and \Flagged are virtual here. */
export const CREATABLE_SPECIAL_USES: readonly SpecialUse[] = ['\\Archive', '\\Drafts', '\\Junk', '\\Sent', '\\Trash'];

export interface CreatedMailbox {
  id: MailboxId;
  name: string;
  uidValidity: UidValidity;
  objectId: string;
  /** Superiors that did not exist and were created with it, outermost first. */
  createdSuperiors: string[];
}

async function createMissing(tx: Tx, accountId: AccountId, names: readonly string[]): Promise<{ name: string; id: MailboxId }[]> {
  const created: { name: string; id: MailboxId }[] = [];
  for (const name of names) {
    const row = await tree.insertTreeMailbox(tx, accountId, name, null);
    if (row) created.push({ name, id: row.id });
  }
  return created;
}

async function requireAccount(tx: Tx, accountId: AccountId): Promise<void> {
  if (!(await tree.accountExists(tx, accountId))) throw new NotFoundError(`account ${accountId} does not exist`);
}

/** CREATE (RFC 9051 6.3.4), with CREATE-SPECIAL-USE (RFC 6154 5.3). */
export async function createMailbox(
  ctx: CoreContext,
  accountId: AccountId,
  name: string,
  opts: { specialUse?: string | null } = {},
): Promise<CreatedMailbox> {
  const n = normalizeMailboxName(name, { allowTrailingDelimiter: true });
  const use = opts.specialUse ?? null;
  if (use !== null && !CREATABLE_SPECIAL_USES.includes(use as SpecialUse)) {
    throw new SpecialUseError(`special use ${use} is not supported`);
  }
  const result = await ctx.db.transaction(async (tx) => {
    await lockMailboxTree(tx, accountId);
    await requireAccount(tx, accountId);
    const superiors = await createMissing(tx, accountId, superiorsOf(n));
    const row = await tree.insertTreeMailbox(tx, accountId, n, use as SpecialUse | null);
    if (!row) throw new AlreadyExistsError(`mailbox ${n} already exists`);
    return { id: row.id, name: n, uidValidity: row.uidValidity, objectId: mailboxObjectId(row.id, row.uidValidity), createdSuperiors: superiors.map((s) => s.name) };
  });
  announce(ctx, [{ mailboxId: result.id, modseq: 1n }]);
  return result;
}

/** DELETE (RFC 9051 6.3.5). Returns the id the mailbox had. */
export async function deleteMailbox(ctx: CoreContext, accountId: AccountId, name: string): Promise<{ id: MailboxId; name: string }> {
  const n = normalizeMailboxName(name);
  if (n === 'INBOX') throw new InvalidInputError('INBOX cannot be deleted');
  const result = await ctx.db.transaction(async (tx) => {
    await lockMailboxTree(tx, accountId);
    const box = await findMailbox(tx, accountId, n);
    // Held by the tree lock, the name still names this row; lock it like every writer does.
    if (!box || (await lockMailboxes(tx, accountId, [box.id])).length === 0) throw new NotFoundError(`mailbox ${n} does not exist`);
    const gone = await tree.deleteTreeMailbox(tx, box.id);
    if (!gone) throw new NotFoundError(`mailbox ${n} does not exist`);
    return { id: box.id, name: n, modseq: gone.highestModseq + 1n };
  });
  announce(ctx, [{ mailboxId: result.id, modseq: result.modseq }]);
  return { id: result.id, name: result.name };
}

export interface RenameResult {
  /** Mailboxes that changed name (the mailbox and its inferiors), ids ascending. */
  renamed: { id: MailboxId; from: string; to: string }[];
  /** Superiors of the new name that were created, outermost first (and for INBOX, the new mailbox last). */
  created: string[];
  /** RENAME INBOX: the new mailbox and how many messages moved into it. */
  inboxMove?: { mailboxId: MailboxId; count: number };
}

/** RENAME (RFC 9051 6.3.6). */
export async function renameMailbox(ctx: CoreContext, accountId: AccountId, fromName: string, toName: string): Promise<RenameResult> {
  const from = normalizeMailboxName(fromName);
  const to = normalizeMailboxName(toName);
  if (from === 'INBOX') return renameInbox(ctx, accountId, to);
  if (to === from) throw new AlreadyExistsError(`mailbox ${to} already exists`);
  if (isBelow(to, from)) throw new InvalidInputError(`cannot rename ${from} to a name below itself`);
  const hints: { mailboxId: MailboxId; modseq: bigint }[] = [];
  const result = await ctx.db.transaction(async (tx): Promise<RenameResult> => {
    await lockMailboxTree(tx, accountId);
    const rows = await tree.mailboxesUnder(tx, accountId, from);
    if (rows.length === 0) throw new NotFoundError(`mailbox ${from} does not exist`);
    const renames = rows.map((r) => ({ id: r.id, from: r.name, to: renamedName(r.name, from, to) }));
    const oldNames = new Set(rows.map((r) => r.name));
    const taken = [...(await tree.existingMailboxNames(tx, accountId, renames.map((r) => r.to)))].filter((x) => !oldNames.has(x));
    if (taken.length > 0) throw new AlreadyExistsError(`mailbox ${taken[0]} already exists`);
    // Row locks in id order before the UPDATEs take them in any order (mailbox-locks.ts).
    const locked = await lockMailboxes(tx, accountId, rows.map((r) => r.id));
    await tree.renameTreeMailboxes(tx, accountId, renames.map((r) => ({ id: r.id, name: r.to })));
    const created = await createMissing(tx, accountId, superiorsOf(to));
    await subs.renameSubscriptions(tx, accountId, from, to);
    for (const b of locked) hints.push({ mailboxId: b.id, modseq: b.highestModseq });
    return { renamed: renames, created: created.map((c) => c.name) };
  });
  announce(ctx, hints);
  return result;
}

/**
 * RENAME INBOX (RFC 9051 6.3.6): a new mailbox under the new name receives
 * every message of INBOX (a MOVE: UIDs 1..n there, tombstones in INBOX), in one
 * transaction. INBOX keeps its id and OBJECTID (RFC 8474 4.1) and its inferiors.
 */
async function renameInbox(ctx: CoreContext, accountId: AccountId, to: string): Promise<RenameResult> {
  if (to === 'INBOX') throw new AlreadyExistsError('mailbox INBOX already exists');
  const hints: { mailboxId: MailboxId; modseq: bigint }[] = [];
  const result = await ctx.db.transaction(async (tx): Promise<RenameResult> => {
    await lockMailboxTree(tx, accountId);
    const inbox = await findMailbox(tx, accountId, 'INBOX');
    if (!inbox) throw new NotFoundError('mailbox INBOX does not exist');
    const superiors = await createMissing(tx, accountId, superiorsOf(to));
    const target = await tree.insertTreeMailbox(tx, accountId, to, null);
    if (!target) throw new AlreadyExistsError(`mailbox ${to} already exists`);
    const locked = await lockMailboxes(tx, accountId, [inbox.id, target.id]);
    const src = locked.find((b) => b.id === inbox.id);
    const dst = locked.find((b) => b.id === target.id);
    if (!src || !dst) throw new NotFoundError('mailbox INBOX does not exist');
    const moved = await moveMessages(tx, src.id, ALL_UIDS, { id: dst.id, uidNext: dst.uidNext, modseq: dst.highestModseq + 1n }, src.highestModseq + 1n);
    if (moved.count > 0) {
      hints.push({ mailboxId: src.id, modseq: src.highestModseq + 1n }, { mailboxId: dst.id, modseq: dst.highestModseq + 1n });
    }
    return { renamed: [], created: [...superiors.map((s) => s.name), to], inboxMove: { mailboxId: dst.id, count: moved.count } };
  });
  announce(ctx, hints);
  return result;
}

/** SUBSCRIBE (RFC 9051 6.3.7): any valid name, existing or not. Idempotent. */
export async function subscribe(ctx: CoreContext, accountId: AccountId, name: string): Promise<void> {
  const n = normalizeMailboxName(name);
  if (!(await subs.insertSubscription(ctx.db, accountId, n))) throw new NotFoundError(`account ${accountId} does not exist`);
}

/** UNSUBSCRIBE (RFC 9051 6.3.8). False when the name was not subscribed (the IMAP layer decides whether that is NO). */
export async function unsubscribe(ctx: CoreContext, accountId: AccountId, name: string): Promise<boolean> {
  return subs.deleteSubscription(ctx.db, accountId, normalizeMailboxName(name));
}

export function listSubscriptions(ctx: CoreContext, accountId: AccountId): Promise<string[]> {
  return subs.listSubscriptions(ctx.db, accountId);
}

/**
 * One name of the account's tree, with what LIST (RFC 9051 6.3.9, LIST-EXTENDED
 * RFC 5258, CHILDREN RFC 3348, SPECIAL-USE RFC 6154) needs to answer any
 * selection. The tree holds every mailbox, every subscribed name, and every
 * superior of those.
 *
 * What to list (the protocol's part): a plain LIST shows entries with
 * `mailbox` or `hasChildren`; those without `mailbox` are \NonExistent
 * (rev2) / \Noselect (rev1). LIST (SUBSCRIBED) shows `subscribed` entries;
 * with RECURSIVEMATCH also those with `childSubscribed` (CHILDINFO
 * ("SUBSCRIBED")). LSUB shows subscribed names, and unsubscribed superiors
 * matched by "%" with `childSubscribed` as \Noselect.
 */
export interface TreeEntry {
  name: string;
  /** The mailbox under this name; null: \NonExistent (implies \Noselect). */
  mailbox: { id: MailboxId; uidValidity: UidValidity; objectId: string; specialUse: SpecialUse | null } | null;
  subscribed: boolean;
  /** Some mailbox exists below this name: \HasChildren, else \HasNoChildren. */
  hasChildren: boolean;
  /** Some name below this one is subscribed (RFC 5258 CHILDINFO "SUBSCRIBED"). */
  childSubscribed: boolean;
}

/** The whole tree of the account, sorted by name, from one query. */
export async function listMailboxTree(ctx: CoreContext, accountId: AccountId): Promise<TreeEntry[]> {
  const rows = await tree.listTreeRows(ctx.db, accountId);
  const entries = new Map<string, TreeEntry>();
  const entry = (name: string): TreeEntry => {
    let e = entries.get(name);
    if (!e) {
      e = { name, mailbox: null, subscribed: false, hasChildren: false, childSubscribed: false };
      entries.set(name, e);
    }
    return e;
  };
  for (const r of rows) {
    const e = entry(r.name);
    e.subscribed = r.subscribed;
    if (r.id !== null && r.uidValidity !== null) {
      e.mailbox = { id: r.id, uidValidity: r.uidValidity, objectId: mailboxObjectId(r.id, r.uidValidity), specialUse: r.specialUse };
    }
  }
  for (const r of rows) {
    for (const sup of superiorsOf(r.name)) {
      const e = entry(sup);
      if (r.id !== null) e.hasChildren = true;
      if (r.subscribed) e.childSubscribed = true;
    }
  }
  return [...entries.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
