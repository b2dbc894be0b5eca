/**
 * Inbound verification of a received message (SPF, DKIM, DMARC, ARC: see
 * src/mail/authentication.ts) and removal of forged Authentication-Results
 * fields (RFC 8601 5), for a message in memory and for a spooled one alike.
 *
 * A spooled message (over 1 MiB, see spool.ts) is verified while it is read
 * back from the spool a chunk at a time, so memory stays bounded whatever its
 * size. Its header section is in its head (the first MAX_HEADER_BYTES); forged
 * fields are removed by rewriting the spool's first chunk(s), which gives the
 * message a new size and SHA-256 (read back once more: a rare case, such
 * fields come only from misconfigured or hostile senders).
 */
import {
  authenticateMessage,
  forgedAuthResultsEdit,
  removeForgedAuthResults,
  type InboundAuthResult,
  type MessageSource,
} from '../mail/authentication.ts';
import type { DnsResolver } from '../mail/dns.ts';
import type { Database, Queryable } from '../store/db.ts';
import type { InboundEnvelope, InboundVerdict } from './mail-services.ts';
import { readSpooledMessage, replaceSpooledPrefix, type SpooledMessage } from './spool.ts';

/** A spooled message as authenticateMessage reads it. */
export function spooledSource(db: Queryable, message: SpooledMessage): MessageSource {
  return { size: message.size, head: message.head, read: () => readSpooledMessage(db, message) };
}

export async function verifyInboundMessage(
  db: Database,
  message: Buffer | SpooledMessage,
  env: InboundEnvelope,
  resolver: DnsResolver,
): Promise<InboundVerdict> {
  if (Buffer.isBuffer(message)) {
    const r = await authenticateMessage(message, { ...env, resolver });
    return verdict(r, removeForgedAuthResults(message, env.hostname));
  }
  const r = await authenticateMessage(spooledSource(db, message), { ...env, resolver });
  // Rejected: the caller discards the spool, nothing to clean.
  if (r.action === 'reject') return verdict(r, message);
  const edit = forgedAuthResultsEdit(message.head, env.hostname, message.size <= message.head.length);
  return verdict(r, edit ? await replaceSpooledPrefix(db, message, edit.length, edit.replacement) : message);
}

function verdict(r: InboundAuthResult, message: Buffer | SpooledMessage): InboundVerdict {
  return { action: r.action, header: r.header, message, ...(r.reason ? { reason: r.reason } : {}) };
}
