/**
 * What the IMAP server needs from the rest of TEGU, as one narrow interface
 * built by the composition root (core/imap-services.ts plus the limits from
 * the settings, in cli/commands/serve-imap.ts). The protocol never sees the
 * database; every operation is scoped to the logged-in account.
 */
import type { MailboxRef } from '../../core/append-batch.ts';
import type {
  AppendedMessages,
  CopyResult,
  CreatedMailbox,
  ExpungeResult,
  FetchedMessage,
  FlagState,
  MailboxChanges,
  MailboxStatus,
  MailboxView,
  MessageStructure,
  RenameResult,
  StoreFlagsInput,
  StoreFlagsResult,
  TreeEntry,
  UploadedMessage,
  Vanished,
} from '../../core/imap-services.ts';
import type { FetchContent } from '../../core/message-fetch.ts';
import type { SearchMatches, SearchOptions, SearchQuery } from '../../core/message-search.ts';
import type { MailboxChangeListener } from '../../core/mailbox-change-feed.ts';
import type { QuotaSubject } from '../../core/quota.ts';
import type { SpooledMessage } from '../../core/spool.ts';
import type { DirectoryAccount } from '../../directory/types.ts';
import type { AccountId, MailboxId } from '../../lib/ids.ts';

export type {
  MailboxRef,
  FetchContent,
  AppendedMessages,
  CopyResult,
  CreatedMailbox,
  ExpungeResult,
  FetchedMessage,
  FlagState,
  MailboxChanges,
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

export type { SearchMatches, SearchOptions, SearchQuery };

export interface ImapLimits {
  /** APPENDLIMIT (RFC 7889): the largest message APPEND accepts, in octets (imap.maxLiteralBytes). */
  appendLimit: number;
  /** LOGIN and AUTHENTICATE PLAIN without TLS (auth.allowPlaintext; off: LOGINDISABLED, RFC 9051 6.2.3). */
  allowPlaintextAuth: boolean;
  /** Failed logins per client IP per minute before further attempts are refused unchecked; 0: no limit. */
  authFailuresPerIpPerMinute: number;
  /** Autologout after this much inactivity once logged in (imap.idleTimeoutSeconds, at least 30 min: RFC 9051 5.4). */
  idleTimeoutSeconds: number;
}

/** An uploaded message being received: in memory while small, spooled in the database above that. */
export interface UploadSink {
  write(data: Buffer): Promise<void>;
  finish(): Promise<Buffer | SpooledMessage>;
  discard(): Promise<void>;
}

export interface ImapServices {
  /** Read at each use, so settings changes apply to new commands at once. */
  limits(): ImapLimits;
  authenticate(login: string, secret: string): Promise<DirectoryAccount | undefined>;
  /** The account's mailbox tree (every mailbox, subscribed name and their superiors), sorted by name. */
  mailboxTree(accountId: AccountId): Promise<TreeEntry[]>;
  /** STATUS of the account's mailboxes among `ids`; `counts`: UNSEEN, DELETED and RECENT too (they count rows). */
  mailboxStatuses(accountId: AccountId, ids: readonly MailboxId[], opts: { counts: boolean }): Promise<MailboxStatus[]>;
  findMailbox(accountId: AccountId, name: string): Promise<MailboxRef | undefined>;
  /** CREATE in the account's tree (superiors too); AlreadyExistsError, SpecialUseError, InvalidInputError. */
  createMailbox(account: DirectoryAccount, name: string, specialUse: string | null): Promise<CreatedMailbox>;
  /** DELETE (inferiors stay); NotFoundError, InvalidInputError for INBOX. */
  deleteMailbox(account: DirectoryAccount, name: string): Promise<{ id: MailboxId; name: string }>;
  /** RENAME with inferiors (RENAME INBOX moves the messages); NotFoundError, AlreadyExistsError, InvalidInputError. */
  renameMailbox(account: DirectoryAccount, from: string, to: string): Promise<RenameResult>;
  subscribe(account: DirectoryAccount, name: string): Promise<void>;
  /** False when the name was not subscribed. */
  unsubscribe(account: DirectoryAccount, name: string): Promise<boolean>;
  /** Would `incomingBytes` more take the account over its storage quota (RFC 9208)? */
  exceedsQuota(account: QuotaSubject, incomingBytes: number): Promise<boolean>;
  openUpload(): UploadSink;
  /** APPEND / MULTIAPPEND, all or none; resolves after COMMIT. NotFoundError: no such mailbox (or gone since found). */
  appendMessages(account: DirectoryAccount, mailbox: string | MailboxRef, uploads: readonly UploadedMessage[]): Promise<AppendedMessages>;
  /** Hints about changes of one mailbox (a wake-up only: re-read the journal); returns the unsubscribe function. */
  watchMailbox(mailboxId: MailboxId, listener: MailboxChangeListener): () => void;
  /** SELECT/EXAMINE snapshot; `claimRecent`: rev1 read-write SELECT. NotFoundError: not the account's mailbox. */
  selectMailbox(accountId: AccountId, mailbox: MailboxId | { name: string }, opts: { claimRecent: boolean }): Promise<MailboxView>;
  /** Expunged UIDs and changed/new messages since a modseq (notifications in the selected state). */
  mailboxChanges(accountId: AccountId, mailboxId: MailboxId, since: bigint): Promise<MailboxChanges>;
  /** Removes the \Deleted messages (among `uids` when given): EXPUNGE, CLOSE. */
  expunge(accountId: AccountId, mailboxId: MailboxId, uids: readonly { first: number; last: number }[] | null): Promise<ExpungeResult>;
  /** FETCH FLAGS of UID ranges, in chunks of one indexed query each (UID FETCH 1:* (FLAGS)); `changedSince`: RFC 7162 CHANGEDSINCE. */
  iterateFlags(accountId: AccountId, mailboxId: MailboxId, uids: readonly { first: number; last: number }[], opts?: { changedSince?: bigint }): AsyncIterable<FlagState[]>;
  /** UIDs expunged since a modseq, up to `upTo` (QRESYNC VANISHED (EARLIER)); `complete` false: a superset (tombstones pruned). */
  vanishedSince(accountId: AccountId, mailboxId: MailboxId, since: bigint, upTo?: bigint): Promise<Vanished>;
  /** rev1 \Recent for messages that arrived while selected (core/mailbox-sync.ts claimRecent): [from, to). */
  claimRecent(accountId: AccountId, mailboxId: MailboxId): Promise<{ from: number; to: number }>;
  /** FETCH rows for ascending UIDs (small batches), with the blob octets `content` asks for (default none). */
  fetchMessages(accountId: AccountId, mailboxId: MailboxId, uids: readonly number[], content?: FetchContent): Promise<FetchedMessage[]>;
  /** Octets [start, end) of a message (header prefix and blob), in chunks of at most 1 MiB. */
  readMessage(m: FetchedMessage, start: number, end: number): AsyncIterable<Buffer>;
  /** Envelope and MIME tree, stored or parsed now. */
  messageStructure(m: FetchedMessage): Promise<MessageStructure>;
  /** STORE / UID STORE; the implied \Seen of FETCH. */
  storeFlags(input: StoreFlagsInput): Promise<StoreFlagsResult>;
  /** SEARCH / UID SEARCH: matching UIDs up to `opts.maxUid` (the session's last known UID), ascending. */
  searchMessages(accountId: AccountId, mailboxId: MailboxId, query: SearchQuery, opts: SearchOptions): Promise<SearchMatches>;
  /** COPY (quota checked) or MOVE of UIDs to another of the account's mailboxes; COPYUID data in the result. */
  copyMessages(accountId: AccountId, sourceId: MailboxId, targetId: MailboxId, uids: readonly { first: number; last: number }[], move: boolean): Promise<CopyResult>;
}
