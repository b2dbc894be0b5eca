/** What a command handler may do with its session (session.ts implements it). */
import type { Logger } from '../../../lib/log.ts';
import type { IpEventLimit } from '../../../lib/ip-limits.ts';
import type { SmtpReply } from '../replies.ts';
import type { SmtpServices } from '../services.ts';
import type { ListenerMode, SessionState } from '../state.ts';

export interface SessionApi {
  readonly state: SessionState;
  readonly mode: ListenerMode;
  readonly hostname: string;
  readonly services: SmtpServices;
  readonly log: Logger;
  reply(r: SmtpReply): void;
  /** STARTTLS can be offered: TLS material is configured and the connection is not encrypted yet. */
  canStartTls(): boolean;
  /** Sends 220 and upgrades the connection; pipelined bytes after STARTTLS are discarded (RFC 3207 6). */
  startTls(): void;
  /** AUTH is possible now: offered by this listener, and over TLS unless plaintext AUTH is allowed. */
  authOffered(): boolean;
  /** Failed AUTH attempts from this client's IP across connections (limits.authFailuresPerIpPerMinute). */
  readonly authFailures: IpEventLimit;
  /** Transactions (MAIL commands) from this client's IP across connections (limits.messagesPerIpPerMinute). */
  readonly messageRate: IpEventLimit;
  /** The next command line goes to `handler` (a SASL exchange step, RFC 4954 4). */
  expectAuthLine(handler: (line: string) => Promise<void>): void;
  /** Switch the reader to DATA body mode (after 354). */
  beginData(): void;
  /** Read `size` octets of a BDAT chunk. */
  beginBdat(size: number, last: boolean): void;
  close(final?: SmtpReply): void;
  /** Ends the current transaction, dropping whatever of its body was spooled. */
  endTransaction(): void;
}
