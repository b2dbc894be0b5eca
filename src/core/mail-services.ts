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
import { MessageSpool } from './spool.ts';

export interface MailServices {
  authenticate: Directory['authenticate'];
  isLocalDomain(domain: string): Promise<boolean>;
  resolveRecipient(address: string): Promise<ResolvedRecipients | undefined>;
  deliver(input: DeliveryInput): Promise<DeliveredCopy[]>;
  openSpool(): MessageSpool;
}

export function createMailServices(db: Database, directory: Directory): MailServices {
  const isLocalDomain = async (domain: string): Promise<boolean> => (await findDomain(db, domain.toLowerCase())) !== undefined;
  return {
    authenticate: (login, secret) => directory.authenticate(login, secret),
    isLocalDomain,
    resolveRecipient: (address) => resolveRecipient(directory, address, { isLocalDomain }),
    deliver: (input) => deliverMessage(db, input),
    openSpool: () => new MessageSpool(db),
  };
}
