/**
 * Reading messages for IMAP FETCH (RFC 9051 6.4.5), in batches of rows
 * without their content, and their octets by range:
 *
 *  - fetchMessages: one query per batch (the caller keeps batches small,
 *    e.g. 100 messages), with the envelope and MIME tree computed at
 *    delivery (messages.envelope / messages.bodystructure, migration 0004);
 *  - messageStructure: that tree, or, for rows written before it was
 *    computed (NULL), the message parsed now;
 *  - readMessage: octets [start, end) of header_prefix || blob, as chunks of
 *    at most 1 MiB, each one substring() of the blob (never the whole
 *    message in memory for a large one).
 */
import type { AccountId, MailboxId, MessageId } from '../lib/ids.ts';
import { envelopeFromJson, structureFromJson } from '../mail/mime-json.ts';
import { parseMimeStructure } from '../mail/mime-structure.ts';
import type { ImapEnvelope, MimePart } from '../mail/mime-types.ts';
import { fetchRows, readBlobRange, type FetchContent, type FetchRow } from '../store/fetch.ts';
import type { CoreContext } from './context.ts';
import { flagNames } from './message-flags.ts';

export type { FetchContent };

export const READ_CHUNK = 1024 * 1024;

export interface FetchedMessage {
  id: MessageId;
  uid: number;
  modseq: bigint;
  size: number;
  internalDate: Date;
  flags: string[];
  /** From messages.envelope; undefined: not computed (use messageStructure). */
  envelope: ImapEnvelope | undefined;
  /** From messages.bodystructure; undefined: not computed. */
  structure: MimePart | undefined;
  headerPrefix: Buffer;
  /** The blob's id: the same for a message and its copies (RFC 8474 EMAILID). */
  blobId: number;
  /** Leading octets of the blob read with the row (store FetchContent); reads inside it need no query. */
  content?: Buffer | undefined;
  /** Octets of the blob's header section, when the stored structure has it: BODY[HEADER] is [0, prefix + headerEnd) without reading the tree. */
  headerEnd?: number | undefined;
}

function fetched(r: FetchRow): FetchedMessage {
  return {
    id: r.id,
    uid: r.uid,
    modseq: r.modseq,
    size: r.size,
    internalDate: r.internalDate,
    flags: flagNames(r.flags, r.keywords),
    envelope: r.envelope == null ? undefined : envelopeFromJson(r.envelope),
    structure: r.bodystructure == null ? undefined : structureFromJson(r.bodystructure),
    headerPrefix: r.headerPrefix,
    blobId: r.blobId,
    ...(r.content ? { content: r.content } : {}),
    ...(r.headerEnd !== null ? { headerEnd: r.headerEnd } : {}),
  };
}

/** The messages of `uids` (ascending) of the account's mailbox; UIDs no longer there are left out. */
export async function fetchMessages(
  ctx: CoreContext,
  accountId: AccountId,
  mailboxId: MailboxId,
  uids: readonly number[],
  content: FetchContent = 'none',
): Promise<FetchedMessage[]> {
  return (await fetchRows(ctx.db, accountId, mailboxId, uids, content)).map(fetched);
}

/** Octets [start, end) of the message (header_prefix || blob), in chunks of at most READ_CHUNK. */
export async function* readMessage(
  ctx: CoreContext,
  m: Pick<FetchedMessage, 'id' | 'size' | 'headerPrefix' | 'content'>,
  start: number,
  end: number,
): AsyncGenerator<Buffer> {
  const stop = Math.min(end, m.size);
  const prefix = m.headerPrefix.length;
  let at = Math.max(0, start);
  if (at < prefix && at < stop) {
    const piece = m.headerPrefix.subarray(at, Math.min(prefix, stop));
    at += piece.length;
    yield piece;
  }
  const cached = m.content;
  if (cached && at < stop && stop - prefix <= cached.length) {
    yield cached.subarray(at - prefix, stop - prefix);
    return;
  }
  while (at < stop) {
    const to = Math.min(stop, at + READ_CHUNK);
    const piece = await readBlobRange(ctx.db, m.id, at - prefix, to - prefix);
    if (piece.length === 0) return;
    at += piece.length;
    yield piece;
  }
}

export interface MessageStructure {
  envelope: ImapEnvelope;
  root: MimePart;
  /** What the tree's offsets are relative to: the blob (add the prefix length), or the whole message (0). */
  prefixLength: number;
}

/** The envelope and MIME tree: as stored, or parsed from the message when not computed at delivery. */
export async function messageStructure(ctx: CoreContext, m: FetchedMessage): Promise<MessageStructure> {
  if (m.envelope && m.structure) return { envelope: m.envelope, root: m.structure, prefixLength: m.headerPrefix.length };
  const chunks: Buffer[] = [];
  for await (const c of readMessage(ctx, m, 0, m.size)) chunks.push(c);
  const parsed = parseMimeStructure(Buffer.concat(chunks));
  return { envelope: parsed.envelope, root: parsed.root, prefixLength: 0 };
}
