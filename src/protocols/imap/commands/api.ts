/** What a command handler may do with its session (session.ts implements it). */
import type { DirectoryAccount } from '../../../directory/types.ts';
import type { IpEventLimit } from '../../../lib/ip-limits.ts';
import type { Logger } from '../../../lib/log.ts';
import type { Status } from '../responses.ts';
import type { ImapServices, MailboxRef } from '../services.ts';
import type { SelectedMailbox, SessionState } from '../state.ts';
import type { AppendUpload } from './append-upload.ts';

/** Capabilities ENABLE can turn on (RFC 5161), spelled as CAPABILITY lists them. */
export type Enableable = 'IMAP4rev2' | 'UTF8=ACCEPT' | 'CONDSTORE' | 'QRESYNC';

export interface ServerInfo {
  /** The ID response (RFC 2971 3.3): name and version of this server. */
  name: string;
  version: string;
}

export interface SessionApi {
  readonly id: string;
  readonly log: Logger;
  readonly services: ImapServices;
  readonly hostname: string;
  readonly serverInfo: ServerInfo;
  readonly remoteAddress: string;
  readonly state: SessionState;
  /** The connection is encrypted. */
  readonly tls: boolean;
  /** Mailbox names and quoted strings in UTF-8: ENABLE UTF8=ACCEPT (RFC 6855 3) or IMAP4rev2 (RFC 9051 5.1). */
  readonly utf8: boolean;
  /** ENABLE IMAP4rev2 was given: answer in IMAP4rev2 form (RFC 9051 Appendix A). */
  readonly rev2: boolean;
  /** Enables a capability; false when it was enabled already. */
  enable(cap: Enableable): boolean;
  /**
   * CONDSTORE is on for this session (RFC 7162 3.1): after any CONDSTORE
   * enabling action, or ENABLE QRESYNC (which implies it, RFC 7162 3.2.3).
   * Then SELECT/EXAMINE report HIGHESTMODSEQ and every FETCH response caused
   * by a flag change carries MODSEQ.
   */
  readonly condstore: boolean;
  /** ENABLE QRESYNC was given (RFC 7162 3.2.3): VANISHED instead of EXPUNGE, SELECT (QRESYNC ...). */
  readonly qresync: boolean;
  /**
   * A CONDSTORE enabling action happened (RFC 7162 3.1): SELECT/EXAMINE
   * (CONDSTORE), FETCH MODSEQ or CHANGEDSINCE, SEARCH MODSEQ, STORE
   * UNCHANGEDSINCE, STATUS HIGHESTMODSEQ. Idempotent.
   */
  enableCondstore(): void;

  /** The current capability list (capabilities.ts). */
  capabilities(): string[];
  /** LOGIN/AUTHENTICATE PLAIN are allowed now: over TLS, or plaintext passwords are allowed by setting. */
  loginAllowed(): boolean;
  /** Failed logins from this client's IP across connections (limits.authFailuresPerIpPerMinute). */
  readonly authFailures: IpEventLimit;
  /** Failed logins on this connection; returns the new count. */
  countLoginFailure(): number;
  /** not authenticated -> authenticated. */
  loggedIn(user: DirectoryAccount): void;

  /** authenticated/selected -> selected `mailbox` (SELECT, EXAMINE). */
  select(mailbox: SelectedMailbox): void;
  /** selected -> authenticated (CLOSE, UNSELECT, a SELECT replacing the mailbox); stops watching it. */
  deselect(): void;

  /** `* <data>` */
  untagged(data: string): void;
  /** `* OK [code] text` (RFC 9051 7.1.1). */
  untaggedOk(text: string, code?: string): void;
  /** Raw response bytes (FETCH with literals); resolves when the socket can take more (back-pressure). */
  send(data: string | Buffer): Promise<void>;
  tagged(tag: string, status: Status, text: string, code?: string): void;
  /** `+ text` (RFC 9051 7.5). */
  continuation(text: string): void;
  /**
   * The next line from the client goes to `handler` instead of being read as
   * a command: an AUTHENTICATE response (RFC 9051 6.2.2) or IDLE's DONE. A
   * failure in `handler` completes the command `tag`.
   */
  expectLine(tag: string, handler: (line: Buffer) => Promise<void>): void;

  /** STARTTLS can be done now (TLS material configured, not encrypted yet). */
  canStartTls(): boolean;
  /** Sends the tagged OK and starts the TLS handshake; bytes pipelined after the command are discarded (RFC 9051 6.2.1). */
  startTls(tag: string): void;

  /** The APPEND whose message literals are being received, if any (commands/append.ts). */
  readonly upload: AppendUpload | undefined;
  /** Starts receiving the message literals of an APPEND (replacing nothing: there is at most one). */
  startUpload(tag: string | null, mailbox: string, found?: MailboxRef): AppendUpload;
  /** Takes the upload out of the session (the APPEND command completes or discards it). */
  takeUpload(): AppendUpload | undefined;

  /**
   * While IDLE: calls `onChange` when the selected mailbox may have changed
   * (a change hint, core/mailbox-change-feed.ts). Returns the stop function.
   * Nothing is watched in the authenticated state.
   */
  watchSelected(onChange: () => void): () => void;

  /** LOGOUT: `* BYE`, the tagged OK, then close (RFC 9051 6.1.3). */
  logout(tag: string): void;
  /** Sends `* BYE text` (unless closed) and closes the connection. */
  close(byeText?: string): void;
}
