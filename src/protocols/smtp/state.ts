/** The state of one SMTP/LMTP session and of its current mail transaction. */
import type { AccountId } from '../../lib/ids.ts';
import type { DirectoryAccount } from '../../directory/types.ts';
import type { MailParams, RcptParams } from './parser/index.ts';
import type { IncomingMessage } from './services.ts';

export type ListenerMode = 'mx' | 'submission' | 'submissions' | 'lmtp';

export interface AcceptedRecipient {
  /** As the client wrote it (normalized domain). */
  address: string;
  params: RcptParams;
  /** Local accounts this recipient reaches (after aliases and groups). */
  local: { accountId: AccountId; deliveredTo: string; quotaBytes?: number | null }[];
  /** A remote recipient of an authenticated user's message: it goes to the outbound queue. */
  remote?: boolean;
  /** Remote addresses an alias or group of ours forwards this recipient to (through the outbound queue). */
  forward?: string[];
}

export interface MailTransaction {
  /** null: the null reverse-path <>. */
  mailFrom: string | null;
  params: MailParams;
  recipients: AcceptedRecipient[];
  /** Body received so far (DATA or BDAT chunks), written to the database spool as it arrives. */
  spool: IncomingMessage | undefined;
  size: number;
  tooBig: boolean;
  /** BDAT was used: DATA is then out of sequence (RFC 3030 3). */
  bdat: boolean;
  /** A BDAT failed: the rest of the chunks are read and dropped until LAST or RSET. */
  bdatFailed: boolean;
}

export interface SessionState {
  id: string;
  remoteAddress: string;
  /** Client's EHLO/HELO/LHLO name; undefined before it. */
  helo: string | undefined;
  esmtp: boolean;
  tls: { version: string; cipher: string } | undefined;
  user: DirectoryAccount | undefined;
  tx: MailTransaction | undefined;
  badCommands: number;
  authFailures: number;
}

export function newTransaction(mailFrom: string | null, params: MailParams): MailTransaction {
  return { mailFrom, params, recipients: [], spool: undefined, size: 0, tooBig: false, bdat: false, bdatFailed: false };
}
