/**
 * What the SMTP/LMTP server needs from the rest of TEGU, as one narrow
 * interface (built by the composition root): it never sees the database.
 */
import type { DeliveredCopy, DeliveryInput } from '../../core/deliver.ts';
import type { InboundEnvelope, InboundVerdict } from '../../core/mail-services.ts';
import type { DeliveredReport } from '../../core/outbound.ts';
import type { QuotaCheck, QuotaSubject } from '../../core/quota.ts';
import type { SpooledMessage } from '../../core/spool.ts';
import type { ResolvedRecipients } from '../../core/recipients.ts';
import type { DirectoryAccount } from '../../directory/types.ts';

export interface SmtpLimits {
  /** SIZE (RFC 1870): the largest message accepted, in octets. */
  maxMessageBytes: number;
  /** Recipients per transaction (RFC 5321 4.5.3.1.8: at least 100). */
  maxRecipients: number;
  /** AUTH over a connection without TLS (off by default). */
  allowPlaintextAuth: boolean;
  /** Failed AUTH attempts per client IP per minute before AUTH is refused (454 4.7.0); 0: no limit. */
  authFailuresPerIpPerMinute?: number;
  /** Transactions (MAIL) per client IP per minute on the MX listener before 450 4.7.1; 0: no limit. */
  messagesPerIpPerMinute?: number;
  /** Over-quota recipients get 452 4.2.2 (temporary, the default) or 552 5.2.2 (permanent): smtp.overQuotaReply. */
  overQuotaReply?: 'temporary' | 'permanent';
  /** How long queued outbound mail is retried before it bounces (queue.maxAttemptsHours); default 120. */
  queueLifetimeHours?: number;
}

/** A message being received: its bytes go to the spool as they arrive (bounded memory). */
export interface IncomingMessage {
  write(data: Buffer): Promise<void>;
  /** In memory when small, else spooled (see core/spool.ts). */
  finish(): Promise<Buffer | SpooledMessage>;
  discard(): Promise<void>;
}

export interface SmtpServices {
  /** A new spool for one message's body. */
  openSpool(): IncomingMessage;
  /** Current limits; read per transaction, so settings changes apply to new mail at once. */
  limits(): SmtpLimits;
  authenticate(login: string, secret: string): Promise<DirectoryAccount | undefined>;
  isLocalDomain(domain: string): Promise<boolean>;
  resolveRecipient(address: string): Promise<ResolvedRecipients | undefined>;
  /** Would `incomingBytes` more (0: not known yet) put each account over its quota? */
  checkQuota(accounts: readonly QuotaSubject[], incomingBytes: number): Promise<QuotaCheck[]>;
  /** SPF/DKIM/DMARC/ARC of mail from other MTAs; undefined when not verified. */
  verifyInbound(message: Buffer | SpooledMessage, env: InboundEnvelope): Promise<InboundVerdict | undefined>;
  /**
   * Stores the message for its local recipients and queues it for its remote
   * ones (input.outbound), in one transaction; resolves after COMMIT.
   */
  deliver(input: DeliveryInput): Promise<DeliveredCopy[]>;
  /** May this authenticated user send as `address` (envelope sender or From)? (submission.senderPolicy) */
  mayUseSender(user: DirectoryAccount, address: string): Promise<boolean>;
  /** The DKIM-Signature field(s) for an outbound message that leaves with `prefix` before it; empty without keys. */
  signOutbound(message: Buffer | SpooledMessage, prefix: Buffer, fromDomain: string): Promise<Buffer>;
  /** A "delivered" DSN to the sender for local recipients with NOTIFY=SUCCESS (RFC 3461 6.2.2); best effort. */
  reportDelivered(report: DeliveredReport): Promise<void>;
}
