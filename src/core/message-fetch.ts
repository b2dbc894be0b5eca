/**
 * Reading messages for IMAP FETCH (RFC 9051 6.4.5), in batches of rows
 * without their content, and their octets by range:
 *
 *  - fetchMessages: at most one query per batch (the caller keeps batches
 *    small, e.g. 100 messages), with the envelope and MIME tree computed at
 *    delivery (messages.envelope / messages.bodystructure, migration 0004);
 *    what never changes comes from the node's MessageCache when it has it,
 *    so only flags and modseq are read, or nothing at all;
 *  - messageStructure: that tree, or, for rows written before it was
 *    computed (NULL), the message parsed now;
 *  - readMessage: octets [start, end) of header_prefix || blob, as chunks of
 *    at most 1 MiB, each one substring() of the blob (never the whole
 *    message in memory for a large one).
 */
import type { AccountId, MailboxId } from '../lib/ids.ts';
import { envelopeFromJson, structureFromJson } from '../mail/mime-json.ts';
import { parseMimeStructure } from '../mail/mime-structure.ts';
import type { ImapEnvelope, MimePart } from '../mail/mime-types.ts';
import { fetchRows, fetchStates, readBlobRange, type FetchContent, type FetchRow } from '../store/fetch.ts';
import type { CoreContext } from './context.ts';
import type { StoredMessage } from './append-batch.ts';
import type { FlagCache } from './flag-cache.ts';
import type { CachedContent, MessageCache, MessageFacts } from './message-cache.ts';
import { flagNames } from './message-flags.ts';

export type { FetchContent };

export const READ_CHUNK = 1024 * 1024;

/**
 * A message as FETCH answers it: the immutable facts (possibly from this
 * node's MessageCache) and, when asked for, its flags and modseq as read now.
 */
export interface FetchedMessage extends MessageFacts {
  /** Flag names (system flags and keywords); undefined when the FETCH asked for no state. */
  flags: string[] | undefined;
  /** undefined when the FETCH asked for no state. */
  modseq: bigint | undefined;
}

function facts(r: FetchRow): MessageFacts {
  return {
    id: r.id,
    uid: r.uid,
    size: r.size,
    internalDate: r.internalDate,
    headerPrefix: r.headerPrefix,
    blobId: r.blobId,
    envelope: r.envelope == null ? undefined : envelopeFromJson(r.envelope),
    structure: r.bodystructure == null ? undefined : structureFromJson(r.bodystructure),
    ...(r.content ? { content: r.content } : {}),
    ...(r.headerEnd !== null ? { headerEnd: r.headerEnd } : {}),
  };
}

/**
 * The flags and modseqs of `uids` as stored now, given to the flag cache
 * (begun before the query, so a fill that raced with a change is not kept).
 */
async function readStates(
  ctx: CoreContext,
  flagCache: FlagCache | undefined,
  accountId: AccountId,
  mailboxId: MailboxId,
  uids: readonly number[],
): Promise<{ uid: number; flags: string[]; modseq: bigint }[]> {
  flagCache?.begin(mailboxId);
  const states = await fetchStates(ctx.db, accountId, mailboxId, uids);
  const rows = states.rows.map((st) => ({ uid: st.uid, flags: flagNames(st.flags, st.keywords), modseq: st.modseq }));
  if (flagCache && states.highestModseq !== null) flagCache.fill(mailboxId, states.highestModseq, rows);
  return rows;
}

/**
 * Reads the flags of every one of `uids` (a mailbox's whole UID map, as
 * SELECT just reported it) into the flag cache: from then on a re-SELECT
 * reads no message while the mailbox changes only through this node (see
 * FlagCache.known()), and a message list FETCH finds all flags cached.
 */
export async function fillFlagCache(ctx: CoreContext, flagCache: FlagCache, accountId: AccountId, mailboxId: MailboxId, uids: readonly number[]): Promise<void> {
  await readStates(ctx, flagCache, accountId, mailboxId, uids);
}

/**
 * Puts messages this node just appended into its cache, as a FETCH would
 * after reading them: new mail is what clients read next (a message list
 * after IDLE reports it, then the body), and the node has every immutable
 * part of it in hand. Spooled (large) uploads keep their facts only.
 */
export function cacheAppended(cache: MessageCache, mailboxId: MailboxId, stored: readonly StoredMessage[]): void {
  for (const m of stored) {
    const structure = structureFromJson(m.bodystructure);
    const envelope = envelopeFromJson(m.envelope);
    const raw = m.raw;
    cache.put(
      mailboxId,
      {
        id: m.id,
        uid: m.uid,
        size: m.size,
        internalDate: m.internalDate,
        headerPrefix: EMPTY,
        blobId: m.blobId,
        envelope,
        structure,
        // A copy when kept whole (the upload's buffer is the session's); put() copies the header of a larger one.
        ...(raw ? { content: raw.length <= cache.maxContent ? Buffer.from(raw) : raw } : {}),
        ...(structure ? { headerEnd: structure.bodyStart } : {}),
      },
      raw ? 'whole' : 'none',
      true,
    );
  }
}

const EMPTY = Buffer.alloc(0);

/** What a row read with `content` holds, for the cache. */
function cachedKind(content: FetchContent, r: FetchRow): CachedContent {
  if (!r.content) return 'none';
  return content === 'small' ? 'whole' : 'header';
}

export interface FetchMessagesOptions {
  /** The blob octets wanted with each message (store FetchContent). */
  content?: FetchContent;
  /** Read flags and modseq (FETCH FLAGS, MODSEQ, CHANGEDSINCE, an implied \Seen); without it a batch all in the cache needs no query. */
  withState?: boolean;
}

/** The node's caches fetchMessages reads through (both optional). */
export interface FetchCaches {
  messages?: MessageCache | undefined;
  flags?: FlagCache | undefined;
}

/**
 * The messages of `uids` (ascending) of the account's mailbox; UIDs no longer
 * there are left out, except that a batch answered from the caches reads
 * nothing, so a message expunged by another session but not yet announced is
 * still answered (RFC 2180 4.1.2 allows either).
 *
 * One query at most: none when the node's caches hold the messages (and
 * their flags, when asked); the state query alone when only flags are
 * missing; otherwise the full rows, which refresh both caches.
 */
export async function fetchMessages(
  ctx: CoreContext,
  caches: FetchCaches,
  accountId: AccountId,
  mailboxId: MailboxId,
  uids: readonly number[],
  opts: FetchMessagesOptions = {},
): Promise<FetchedMessage[]> {
  const content = opts.content ?? 'none';
  const withState = opts.withState ?? true;
  const { messages: cache, flags: flagCache } = caches;
  const cached: MessageFacts[] = [];
  if (cache) {
    for (const uid of uids) {
      const f = cache.get(mailboxId, uid, content);
      if (!f) break;
      cached.push(f);
    }
  }
  if (cache && cached.length === uids.length) {
    if (!withState) return cached.map((f) => ({ ...f, flags: undefined, modseq: undefined }));
    const known = flagCache?.get(mailboxId, uids);
    if (known) return cached.map((f, i) => ({ ...f, flags: known[i]!.flags, modseq: known[i]!.modseq }));
    const states = await readStates(ctx, flagCache, accountId, mailboxId, uids);
    const byUid = new Map(cached.map((f) => [f.uid, f]));
    return states.map((st) => ({ ...byUid.get(st.uid)!, flags: st.flags, modseq: st.modseq }));
  }
  if (withState) flagCache?.begin(mailboxId);
  const rows = await fetchRows(ctx.db, accountId, mailboxId, uids, content);
  const treeRead = content !== 'headerOnly';
  const out = rows.map((r) => {
    const f = facts(r);
    cache?.put(mailboxId, f, cachedKind(content, r), treeRead);
    return { ...f, flags: flagNames(r.flags, r.keywords), modseq: r.modseq };
  });
  if (withState && flagCache && rows[0]) flagCache.fill(mailboxId, rows[0].highestModseq, out);
  return out;
}

/**
 * Octets [start, end) of the message when the header prefix and the octets
 * read with the row (or cached) hold them: no query, no copy unless the
 * range spans the prefix and the blob. Undefined when the store must be read.
 */
export function messageOctets(m: Pick<FetchedMessage, 'size' | 'headerPrefix' | 'content'>, start: number, end: number): Buffer | undefined {
  const stop = Math.min(end, m.size);
  const from = Math.max(0, start);
  if (stop <= from) return Buffer.alloc(0);
  const prefix = m.headerPrefix.length;
  if (stop <= prefix) return m.headerPrefix.subarray(from, stop);
  const content = m.content;
  if (!content || stop - prefix > content.length) return undefined;
  if (from >= prefix) return content.subarray(from - prefix, stop - prefix);
  return Buffer.concat([m.headerPrefix.subarray(from), content.subarray(0, stop - prefix)]);
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
