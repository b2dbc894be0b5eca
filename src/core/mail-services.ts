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
import { authenticateMessage, removeForgedAuthResults } from '../mail/authentication.ts';
import type { DnsResolver } from '../mail/dns.ts';
import { MessageSpool, type SpooledMessage } from './spool.ts';

/** What inbound verification (SPF, DKIM, DMARC, ARC) decided for one message. */
export interface InboundVerdict {
  action: 'accept' | 'quarantine' | 'reject';
  /** Authentication-Results and Received-SPF, CRLF-terminated. */
  header: string;
  /** The message with forged Authentication-Results (claiming our host name) removed (RFC 8601 5). */
  message: Buffer;
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
  deliver(input: DeliveryInput): Promise<DeliveredCopy[]>;
  openSpool(): MessageSpool;
  /**
   * SPF/DKIM/DMARC/ARC for a message received from another MTA. Undefined when
   * there is no resolver, or for a spooled (over 1 MiB) message, which is not
   * verified yet (it would have to be read back whole).
   */
  verifyInbound(message: Buffer | SpooledMessage, env: InboundEnvelope): Promise<InboundVerdict | undefined>;
}

export interface MailServicesOptions {
  /** DNS for SPF/DKIM/DMARC; none: inbound verification is off. Tests pass a fake. */
  resolver?: DnsResolver;
  /** Read per message (the smtp.verifyInbound setting); default on. */
  verifyInbound?: () => boolean;
}

export function createMailServices(db: Database, directory: Directory, opts: MailServicesOptions = {}): MailServices {
  const isLocalDomain = async (domain: string): Promise<boolean> => (await findDomain(db, domain.toLowerCase())) !== undefined;
  return {
    authenticate: (login, secret) => directory.authenticate(login, secret),
    isLocalDomain,
    resolveRecipient: (address) => resolveRecipient(directory, address, { isLocalDomain }),
    deliver: (input) => deliverMessage(db, input),
    openSpool: () => new MessageSpool(db),
    async verifyInbound(message, env) {
      if (!opts.resolver || !Buffer.isBuffer(message) || opts.verifyInbound?.() === false) return undefined;
      const r = await authenticateMessage(message, { ...env, resolver: opts.resolver });
      return {
        action: r.action,
        header: r.header,
        message: removeForgedAuthResults(message, env.hostname),
        ...(r.reason ? { reason: r.reason } : {}),
      };
    },
  };
}
