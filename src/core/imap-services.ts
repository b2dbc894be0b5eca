/**
 * The core operations an IMAP session uses, over one database and directory,
 * built once per node by the composition root (cli/commands/serve-imap.ts).
 * The object satisfies src/protocols/imap/services.ts structurally (with the
 * limits the composition root adds); the protocol never sees the database.
 *
 * Every operation takes the account: a mailbox is looked up within it, so a
 * name or id of another account's mailbox does not exist.
 */
import { NotFoundError } from '../lib/errors.ts';
import type { AccountId, MailboxId } from '../lib/ids.ts';
import { expandUidRanges } from '../lib/uid-ranges.ts';
import type { Directory, DirectoryAccount } from '../directory/types.ts';
import type { Database } from '../store/db.ts';
import { appendMessages, findAccountMailbox, type AppendedMessages, type MailboxRef, type UploadedMessage } from './append-batch.ts';
import type { CoreContext } from './context.ts';
import type { MailboxChangeListener, MailboxWatcher } from './mailbox-change-feed.ts';
import { copyMessages, moveMessages, type CopyResult } from './copy-move.ts';
import { expungeMessages, type ExpungeResult } from './expunge.ts';
import { claimRecent, iterateFlags, mailboxStatuses, selectMailbox, vanishedSince, type KnownMailboxes, type MailboxStatus, type MailboxView, type Vanished } from './mailbox-sync.ts';
import { FlagCache } from './flag-cache.ts';
import { MessageCache } from './message-cache.ts';
import { cacheAppended, fetchMessages, fillFlagCache, messageOctets, messageStructure, readMessage, type FetchedMessage, type FetchMessagesOptions, type MessageStructure } from './message-fetch.ts';
import { storeFlags, type FlagState, type StoreFlagsInput, type StoreFlagsResult } from './message-flags.ts';
import { searchMessages, type SearchMatches, type SearchOptions, type SearchQuery } from './message-search.ts';
import {
  createMailbox, deleteMailbox, listMailboxTree, renameMailbox, subscribe, unsubscribe, type CreatedMailbox, type RenameResult, type TreeEntry,
} from './mailbox-tree.ts';
import { checkQuota, limitedAccounts, type QuotaSubject } from './quota.ts';
import { MessageSpool, type SpooledMessage } from './spool.ts';

export type {
  AppendedMessages,
  CopyResult,
  CreatedMailbox,
  ExpungeResult,
  FetchedMessage,
  FetchMessagesOptions,
  FlagState,
  MailboxStatus,
  MailboxView,
  MessageStructure,
  RenameResult,
  StoreFlagsInput,
  StoreFlagsResult,
  TreeEntry,
  UploadedMessage,
  Vanished,
};

/** What changed in a mailbox since a modseq (the selected state's notifications, RFC 9051 7). */
export interface MailboxChanges {
  /** The mailbox's highest modseq when the expunges were read: the session's next `since`. */
  highestModseq: bigint;
  /** UIDs expunged since (a superset when the tombstones are older: intersect with the known UIDs). */
  vanished: Uint32Array;
  /** Messages (new or with changed flags) with a modseq above `since`, ascending by UID. */
  changed: FlagState[];
}

/** An uploaded message being received: in memory while small, spooled in the database above that (core/spool.ts MessageSpool). */
export interface UploadSink {
  write(data: Buffer): Promise<void>;
  finish(): Promise<Buffer | SpooledMessage>;
  discard(): Promise<void>;
}

/**
 * What the IMAP server needs from the rest of TEGU (protocols/imap/services.ts
 * adds the limits from the settings): every operation scoped to the logged-in
 * account; the protocol never sees the database.
 */
export interface ImapCoreServices {
  authenticate(login: string, secret: string): Promise<DirectoryAccount | undefined>;
  /** Every name of the account's tree with what LIST needs (core/mailbox-tree.ts), sorted by name. */
  mailboxTree(accountId: AccountId): Promise<TreeEntry[]>;
  /** STATUS of the account's mailboxes among `ids` (others are left out); `counts`: UNSEEN, DELETED, RECENT too. */
  mailboxStatuses(accountId: AccountId, ids: readonly MailboxId[], opts: { counts: boolean }): Promise<MailboxStatus[]>;
  /** The account's mailbox of that name, or undefined. */
  findMailbox(accountId: AccountId, name: string): Promise<MailboxRef | undefined>;
  /** CREATE (+ USE, RFC 6154) in the account (core/mailbox-tree.ts): AlreadyExistsError, SpecialUseError, InvalidInputError. */
  createMailbox(account: DirectoryAccount, name: string, specialUse: string | null): Promise<CreatedMailbox>;
  /** DELETE: NotFoundError (also for a name that only has inferiors), InvalidInputError for INBOX. */
  deleteMailbox(account: DirectoryAccount, name: string): Promise<{ id: MailboxId; name: string }>;
  /** RENAME with inferiors; INBOX moves its messages to a new mailbox. NotFoundError, AlreadyExistsError, InvalidInputError. */
  renameMailbox(account: DirectoryAccount, from: string, to: string): Promise<RenameResult>;
  /** SUBSCRIBE any valid name (idempotent). */
  subscribe(account: DirectoryAccount, name: string): Promise<void>;
  /** UNSUBSCRIBE; false when the name was not subscribed. */
  unsubscribe(account: DirectoryAccount, name: string): Promise<boolean>;
  /** Would `incomingBytes` more take the account over its storage quota (RFC 9208)? */
  exceedsQuota(account: QuotaSubject, incomingBytes: number): Promise<boolean>;
  /** A sink for one uploaded message: in memory while small, spooled in the database above 1 MiB. */
  openUpload(): UploadSink;
  /** APPEND / MULTIAPPEND: all or none, resolved after COMMIT (core/append-batch.ts). */
  appendMessages(account: DirectoryAccount, mailbox: string | MailboxRef, uploads: readonly UploadedMessage[]): Promise<AppendedMessages>;
  watchMailbox(mailboxId: MailboxId, listener: MailboxChangeListener): () => void;
  /** SELECT/EXAMINE snapshot (core/mailbox-sync.ts); `claimRecent` for a rev1 read-write SELECT. NotFoundError: not the account's. */
  selectMailbox(accountId: AccountId, mailbox: MailboxId | { name: string }, opts: { claimRecent: boolean }): Promise<MailboxView>;
  /** Expunges and flag changes / new messages since `since`. */
  mailboxChanges(accountId: AccountId, mailboxId: MailboxId, since: bigint): Promise<MailboxChanges>;
  /** EXPUNGE / CLOSE: removes the \Deleted messages (among `uids` when given). */
  expunge(accountId: AccountId, mailboxId: MailboxId, uids: readonly { first: number; last: number }[] | null): Promise<ExpungeResult>;
  /** FETCH FLAGS of UID ranges in chunks (one indexed query each); `changedSince`: CHANGEDSINCE (RFC 7162 3.1.4.1). */
  iterateFlags(accountId: AccountId, mailboxId: MailboxId, uids: readonly { first: number; last: number }[], opts?: { changedSince?: bigint }): AsyncIterable<FlagState[]>;
  /** UIDs expunged since a modseq, up to `upTo` (QRESYNC VANISHED (EARLIER), RFC 7162 3.2.5.2, 3.2.6). */
  vanishedSince(accountId: AccountId, mailboxId: MailboxId, since: bigint, upTo?: bigint): Promise<Vanished>;
  /** rev1 \Recent for messages that arrived while selected: the claimed range [from, to). */
  claimRecent(accountId: AccountId, mailboxId: MailboxId): Promise<{ from: number; to: number }>;
  /** FETCH rows of ascending UIDs, with the blob octets and state asked for (message-fetch.ts); keep batches small. */
  fetchMessages(accountId: AccountId, mailboxId: MailboxId, uids: readonly number[], opts?: FetchMessagesOptions): Promise<FetchedMessage[]>;
  /** Octets [start, end) of a fetched message when they came with it (no query); undefined: use readMessage. */
  messageOctets(m: FetchedMessage, start: number, end: number): Buffer | undefined;
  /** Octets [start, end) of a fetched message, in chunks of at most 1 MiB. */
  readMessage(m: FetchedMessage, start: number, end: number): AsyncIterable<Buffer>;
  /** Envelope and MIME tree (stored, or parsed when not computed at delivery). */
  messageStructure(m: FetchedMessage): Promise<MessageStructure>;
  /** STORE (core/message-flags.ts). */
  storeFlags(input: StoreFlagsInput): Promise<StoreFlagsResult>;
  /** SEARCH (core/message-search.ts): matching UIDs up to `opts.maxUid`, ascending. */
  searchMessages(accountId: AccountId, mailboxId: MailboxId, query: SearchQuery, opts: SearchOptions): Promise<SearchMatches>;
  /** COPY / MOVE of UIDs between two of the account's mailboxes (core/copy-move.ts); COPY checks the quota. */
  copyMessages(accountId: AccountId, sourceId: MailboxId, targetId: MailboxId, uids: readonly { first: number; last: number }[], move: boolean): Promise<CopyResult>;
}

export interface ImapCoreServicesOptions {
  /** This node's name (recorded with audit events). */
  node: string;
  /** The node's one LISTEN for mailbox change hints (mailbox-change-feed.ts). */
  feed: MailboxWatcher;
  /** Read per check (the mailbox.defaultQuotaBytes setting); default 0, unlimited. */
  defaultQuotaBytes?: () => number;
  /** The node's cache of immutable message data (message-cache.ts); default one of 16 MiB. */
  messageCache?: MessageCache;
}

/** SELECT reads the flags of a mailbox of at most this many messages into the flag cache when they are not all there. */
const FILL_AT_SELECT = 2_000;
/** Mailbox names whose id the node remembers for SELECT (least recently selected go first). */
const MAX_KNOWN_NAMES = 10_000;

export function createImapCoreServices(db: Database, directory: Directory, opts: ImapCoreServicesOptions): ImapCoreServices {
  const ctx = (actor: string): CoreContext => ({ db, actor, node: opts.node });
  const system = ctx('imap');
  const cache = opts.messageCache ?? new MessageCache(16 * 1024 * 1024);
  // Flags per mailbox, kept exact for changes made through this node (applyLocal below, before the
  // client is answered) and dropped at any other change the feed hints at (flag-cache.ts).
  const flagCache = new FlagCache({ watch: (mailboxId, onHint) => opts.feed.watchMailbox(mailboxId, (c) => onHint(c.modseq)) });
  const caches = { messages: cache, flags: flagCache };
  // SELECT reads no message when the flag cache holds every message of the mailbox (store/mailbox-sync.ts
  // KNOWN): which mailbox a name was last time is remembered, and the statement checks it.
  const mailboxOfName = new Map<string, MailboxId>();
  const known: KnownMailboxes = {
    known(accountId, mailbox) {
      const id = typeof mailbox === 'number' ? mailbox : mailboxOfName.get(`${accountId}/${mailbox.name}`);
      const k = id === undefined ? undefined : flagCache.known(id);
      return id === undefined || !k ? undefined : { mailboxId: id, modseq: k.modseq, count: k.count };
    },
    messages: (mailboxId, modseq) => flagCache.messages(mailboxId, modseq),
    learn(accountId, name, mailboxId) {
      const key = `${accountId}/${name}`;
      mailboxOfName.delete(key);
      mailboxOfName.set(key, mailboxId);
      if (mailboxOfName.size > MAX_KNOWN_NAMES) mailboxOfName.delete(mailboxOfName.keys().next().value!);
    },
  };
  return {
    authenticate: (login, secret) => directory.authenticate(login, secret),
    mailboxTree: (accountId) => listMailboxTree(system, accountId),
    mailboxStatuses: (accountId, ids, o) => mailboxStatuses(system, accountId, ids, o),
    async findMailbox(accountId, name) {
      try {
        return await findAccountMailbox(db, accountId, name);
      } catch (err) {
        if (err instanceof NotFoundError) return undefined;
        throw err;
      }
    },
    createMailbox: (account, name, specialUse) => createMailbox(ctx(account.address), account.id, name, { specialUse }),
    deleteMailbox: (account, name) => deleteMailbox(ctx(account.address), account.id, name),
    renameMailbox: (account, from, to) => renameMailbox(ctx(account.address), account.id, from, to),
    subscribe: (account, name) => subscribe(ctx(account.address), account.id, name),
    unsubscribe: (account, name) => unsubscribe(ctx(account.address), account.id, name),
    async exceedsQuota(account, incomingBytes) {
      const defaultQuota = opts.defaultQuotaBytes?.() ?? 0;
      const limited = limitedAccounts([account], defaultQuota);
      if (limited.length === 0) return false;
      const [check] = await checkQuota(db, limited, incomingBytes, defaultQuota);
      return check?.over ?? false;
    },
    openUpload: () => new MessageSpool(db),
    async appendMessages(account, mailbox, uploads) {
      const r = await appendMessages(ctx(account.address), account.id, mailbox, uploads);
      flagCache.applyLocal(r.mailboxId, r.modseq - BigInt(r.uids.length), r.modseq, {
        kind: 'append',
        rows: r.stored.map((m) => ({ uid: m.uid, flags: m.flags, modseq: m.modseq })),
      });
      cacheAppended(cache, r.mailboxId, r.stored);
      return r;
    },
    watchMailbox: (mailboxId, listener) => opts.feed.watchMailbox(mailboxId, listener),
    async selectMailbox(accountId, mailbox, o) {
      const view = await selectMailbox(system, accountId, mailbox, { ...o, cache: known });
      const k = flagCache.known(view.id);
      if (view.messageCount > 0 && view.messageCount <= FILL_AT_SELECT && (k?.modseq !== view.highestModseq || k.count !== view.messageCount)) {
        // Not every message's flags cached: read them all once, so the next SELECT reads none.
        await fillFlagCache(system, flagCache, accountId, view.id, Array.from(view.uids));
      }
      return view;
    },
    async mailboxChanges(accountId, mailboxId, since) {
      // Expunges first: a message changed after this read is reported again next time, never lost.
      const gone = await vanishedSince(system, accountId, mailboxId, since);
      const changed: FlagState[] = [];
      // Nothing happened since (the usual NOOP / IDLE wake-up check): one query, not two.
      if (gone.highestModseq <= since) return { highestModseq: gone.highestModseq, vanished: expandUidRanges(gone.vanished), changed };
      for await (const chunk of iterateFlags(system, accountId, mailboxId, { changedSince: since })) changed.push(...chunk);
      return { highestModseq: gone.highestModseq, vanished: expandUidRanges(gone.vanished), changed };
    },
    async expunge(accountId, mailboxId, uids) {
      const r = await expungeMessages(system, { accountId, mailboxId, uids });
      if (r.modseq !== null) flagCache.applyLocal(mailboxId, r.modseq - 1n, r.modseq, { kind: 'expunge', uids: r.uids });
      return r;
    },
    iterateFlags: (accountId, mailboxId, uids, o) => iterateFlags(system, accountId, mailboxId, { uids, ...(o?.changedSince === undefined ? {} : { changedSince: o.changedSince }) }),
    vanishedSince: (accountId, mailboxId, since, upTo) => vanishedSince(system, accountId, mailboxId, since, upTo === undefined ? {} : { upTo }),
    claimRecent: (accountId, mailboxId) => claimRecent(system, accountId, mailboxId),
    fetchMessages: (accountId, mailboxId, uids, o) => fetchMessages(system, caches, accountId, mailboxId, uids, o),
    messageOctets,
    readMessage: (m, start, end) => readMessage(system, m, start, end),
    messageStructure: (m) => messageStructure(system, m),
    async storeFlags(input) {
      const r = await storeFlags(system, input);
      // One STORE bumps the modseq by one, all its changed messages get it (store/flags.ts).
      const m = r.changed[0]?.modseq;
      if (m !== undefined) flagCache.applyLocal(input.mailboxId, m - 1n, m, { kind: 'flags', rows: r.changed });
      return r;
    },
    searchMessages: (accountId, mailboxId, query, o) => searchMessages(system, accountId, mailboxId, query, o),
    copyMessages: (accountId, sourceId, targetId, uids, move) =>
      move
        ? moveMessages(system, { accountId, sourceId, targetId, uids })
        : copyMessages(system, { accountId, sourceId, targetId, uids, defaultQuotaBytes: opts.defaultQuotaBytes?.() ?? 0 }),
  };
}
