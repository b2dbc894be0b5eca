/**
 * The mail services protocols use (SMTP, LMTP; IMAP and POP3 later), built
 * once by the composition root over one database and directory. Structurally
 * they satisfy each protocol's own narrow interface (protocols never import core types they don't need).
 */
import type { Directory } from '../directory/types.ts';
import type { Database } from '../store/db.ts';
import { findDomain } from '../store/directory.ts';
import { deliverMessage, type DeliveredCopy, type DeliveryInput } from './deliver.ts';
import { resolveRecipient, type ResolvedRecipients } from './recipients.ts';
import { verifyInboundMessage } from './verify-inbound.ts';
import type { DnsResolver } from '../mail/dns.ts';
import { MessageSpool, type SpooledMessage } from './spool.ts';
import { checkQuota, limitedAccounts, type QuotaCheck, type QuotaSubject } from './quota.ts';
import { dkimSignatureFor, mayUseSender, reportDelivered, type DeliveredReport, type SenderPolicy } from './outbound.ts';
import type { DirectoryAccount } from '../directory/types.ts';

/** What inbound verification (SPF, DKIM, DMARC, ARC) decided for one message. */
export interface InboundVerdict {
  action: 'accept' | 'quarantine' | 'reject';
  /** Authentication-Results and Received-SPF, CRLF-terminated. */
  header: string;
  /**
   * The message with forged Authentication-Results (claiming our host name)
   * removed (RFC 8601 5); for a spooled message, the spool rewritten (same
   * spool id, new size, SHA-256 and head; see core/verify-inbound.ts).
   */
  message: Buffer | SpooledMessage;
  reason?: string;
}

export interface InboundEnvelope {
  ip: string;
  helo: string;
  mailFrom: string | null;
  hostname: string;
}

export interface MailServices {
  authenticate: Directory['authenticate'];
  isLocalDomain(domain: string): Promise<boolean>;
  resolveRecipient(address: string): Promise<ResolvedRecipients | undefined>;
  /** Quota check before accepting a message of `incomingBytes` (0: not known yet); see core/quota.ts. */
  checkQuota(accounts: readonly QuotaSubject[], incomingBytes: number): Promise<QuotaCheck[]>;
  deliver(input: DeliveryInput): Promise<DeliveredCopy[]>;
  openSpool(): MessageSpool;
  /**
   * SPF/DKIM/DMARC/ARC for a message received from another MTA, in memory or
   * spooled (read back from the spool a chunk at a time). Undefined when
   * there is no resolver or the smtp.verifyInbound setting is off.
   */
  verifyInbound(message: Buffer | SpooledMessage, env: InboundEnvelope): Promise<InboundVerdict | undefined>;
  /** May this authenticated user send as `address`? (the senderPolicy option; see outbound.ts) */
  mayUseSender(user: DirectoryAccount, address: string): Promise<boolean>;
  /** DKIM-Signature field(s) for an outbound message leaving with `prefix`; empty when the domain has no key. */
  signOutbound(message: Buffer | SpooledMessage, prefix: Buffer, fromDomain: string): Promise<Buffer>;
  /** A "delivered" DSN for recipients that asked for NOTIFY=SUCCESS (RFC 3461 6.2.2); best effort. */
  reportDelivered(report: DeliveredReport): Promise<void>;
}

export interface MailServicesOptions {
  /** DNS for SPF/DKIM/DMARC; none: inbound verification is off. Tests pass a fake. */
  resolver?: DnsResolver;
  /** Read per message (the smtp.verifyInbound setting); default on. */
  verifyInbound?: () => boolean;
  /** Read per check (the mailbox.defaultQuotaBytes setting): the limit of accounts without their own; default 0, unlimited. */
  defaultQuotaBytes?: () => number;
  /** Read per check (the submission.senderPolicy setting); default 'own'. */
  senderPolicy?: () => SenderPolicy;
  /** Read per check (the addressing.subaddressSeparator setting); default none. */
  subaddressSeparator?: () => string;
}

export function createMailServices(db: Database, directory: Directory, opts: MailServicesOptions = {}): MailServices {
  const isLocalDomain = localDomainCache(db);
  const resolve = (address: string) => resolveRecipient(directory, address, { isLocalDomain });
  return {
    authenticate: (login, secret) => directory.authenticate(login, secret),
    isLocalDomain,
    resolveRecipient: (address) => resolveRecipient(directory, address, { isLocalDomain }),
    async checkQuota(accounts, incomingBytes) {
      const defaultQuota = opts.defaultQuotaBytes?.() ?? 0;
      const limited = limitedAccounts(accounts, defaultQuota);
      return limited.length === 0 ? [] : checkQuota(db, limited, incomingBytes, defaultQuota);
    },
    deliver: (input) => deliverMessage(db, input),
    openSpool: () => new MessageSpool(db),
    mayUseSender: (user, address) => mayUseSender(db, user, address, opts.senderPolicy?.() ?? 'own', opts.subaddressSeparator?.() ?? ''),
    signOutbound: (message, prefix, fromDomain) => dkimSignatureFor(db, message, prefix, fromDomain),
    reportDelivered: (report) => reportDelivered(db, { isLocalDomain, resolveRecipient: resolve }, report),
    async verifyInbound(message, env) {
      if (!opts.resolver || opts.verifyInbound?.() === false) return undefined;
      return verifyInboundMessage(db, message, env, opts.resolver);
    },
  };
}

/** How long a domain found in the database is believed to still be ours. */
export const LOCAL_DOMAIN_TTL_MS = 30_000;

/**
 * "Is this one of our domains?" is asked at every RCPT; the answer rarely
 * changes. Only positive answers are cached (for LOCAL_DOMAIN_TTL_MS), so a
 * domain added on any node is accepted at once, and a removed one at most
 * that long after (its recipients are unknown by then anyway: 550 5.1.1).
 */
function localDomainCache(db: Database, now: () => number = Date.now): (domain: string) => Promise<boolean> {
  const known = new Map<string, number>();
  return async (domain) => {
    const name = domain.toLowerCase();
    const until = known.get(name);
    if (until !== undefined && until > now()) return true;
    const found = (await findDomain(db, name)) !== undefined;
    if (found) {
      if (known.size >= 10_000) known.clear(); // bounded: a flood of names can't grow it
      known.set(name, now() + LOCAL_DOMAIN_TTL_MS);
    } else known.delete(name);
    return found;
  };
}
