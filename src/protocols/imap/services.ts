/**
 * What the IMAP server needs from the rest of TEGU: the core's IMAP services
 * (core/imap-services.ts, where each operation is described) plus the limits
 * from the settings, put together by the composition root
 * (cli/commands/serve-imap.ts). The protocol never sees the database; every
 * operation is scoped to the logged-in account.
 */
import type { ImapCoreServices } from '../../core/imap-services.ts';

export type { MailboxRef } from '../../core/append-batch.ts';
export type {
  AppendedMessages,
  CopyResult,
  CreatedMailbox,
  ExpungeResult,
  FetchedMessage,
  FetchMessagesOptions,
  FlagState,
  ImapCoreServices,
  MailboxChanges,
  MailboxStatus,
  MailboxView,
  MessageStructure,
  RenameResult,
  StoreFlagsInput,
  StoreFlagsResult,
  TreeEntry,
  UploadedMessage,
  UploadSink,
  Vanished,
} from '../../core/imap-services.ts';
export type { FetchContent } from '../../core/message-fetch.ts';
export { MEMO_ENTRIES } from '../../core/message-cache.ts';
export type { SearchMatches, SearchOptions, SearchQuery } from '../../core/message-search.ts';

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

/** The core's services plus the settings the protocol reads (cli/commands/serve-imap.ts builds it). */
export interface ImapServices extends ImapCoreServices {
  /** Read at each use, so settings changes apply to new commands at once. */
  limits(): ImapLimits;
}

