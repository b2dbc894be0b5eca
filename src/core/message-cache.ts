/**
 * A node's cache of what never changes about a stored message, so that a
 * FETCH of bodies, headers, sizes or structure needs no query once the
 * message has been read on this node (Dovecot gets the same from its index
 * cache and the page cache of its mail files).
 *
 * Only immutable facts are kept: a message in a mailbox is fixed once stored
 * (RFC 9051 2.3.1.1: a UID names one message for as long as UIDVALIDITY
 * holds; UIDs only grow, mailbox ids are never reused), so entries need no
 * invalidation and the cache is safe in a cluster. Flags and mod-sequences
 * change and are never cached here. An expunged or deleted message's entry
 * simply ages out. Restoring a database backup under running nodes can
 * bring back old ids: restart the nodes after a restore (docs/operations.md).
 *
 * Bounded by octets (content, header prefix, an estimate for the MIME tree);
 * least recently used entries go first. A message whose blob is larger than
 * the per-entry limit keeps only its facts and header section; its body is
 * read from the store in ranges as before.
 */
import type { MailboxId, MessageId } from '../lib/ids.ts';
import type { ImapEnvelope, MimePart } from '../mail/mime-types.ts';
import { SMALL_BLOB } from '../store/fetch.ts';

/** The octets of the blob a row was read with (store FetchContent). */
export type CachedContent =
  /** Nothing: facts only. */
  | 'none'
  /** The top-level header section of the blob (content = blob[0, headerEnd)). */
  | 'header'
  /** The whole blob. */
  | 'whole';

export interface MessageFacts {
  id: MessageId;
  uid: number;
  /** RFC822.SIZE: header prefix + blob. */
  size: number;
  internalDate: Date;
  headerPrefix: Buffer;
  blobId: number;
  /** Octets of the blob's header section, when the stored structure has it. */
  headerEnd?: number | undefined;
  /** The envelope and tree computed at delivery; both undefined when not (yet) read or not computed. */
  envelope?: ImapEnvelope | undefined;
  structure?: MimePart | undefined;
  /** Leading octets of the blob, as `contentKind` says. */
  content?: Buffer | undefined;
  /**
   * Octets derived from the message (a HEADER.FIELDS selection), keyed by
   * what derived them, at most MEMO_ENTRIES, each no larger than the header
   * section; present on cached messages only.
   */
  memo?: Map<string, Buffer> | undefined;
}

/** Derived octets kept per cached message (the field lists a client asks for are few). */
export const MEMO_ENTRIES = 2;

interface Entry {
  facts: MessageFacts;
  contentKind: CachedContent;
  /** Whether the envelope / structure columns were read (they may still be undefined: not computed at delivery). */
  treeRead: boolean;
  weight: number;
}

/** What a FETCH batch needs of each message beyond the facts (store FetchContent). */
export type ContentNeed = 'none' | 'header' | 'headerOnly' | 'small';

/** Per-entry bookkeeping plus the id, dates and key, roughly. */
const ENTRY_OVERHEAD = 300;
/** A parsed envelope and MIME tree, roughly, per part. */
const TREE_WEIGHT_PER_PART = 600;

function countParts(p: MimePart | undefined): number {
  if (!p) return 0;
  let n = 1;
  for (const c of p.children) n += countParts(c);
  if (p.message) n += countParts(p.message.body);
  return n;
}

export class MessageCache {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;

  /**
   * @param maxBytes the budget for all entries; 0 turns the cache off.
   * @param maxContent the largest blob kept whole (larger ones keep their header only); at most
   *   what the store reads whole with a row (SMALL_BLOB), or a blob in between would never be whole.
   */
  constructor(
    readonly maxBytes: number,
    readonly maxContent: number = SMALL_BLOB,
  ) {
    if (maxContent > SMALL_BLOB) throw new RangeError(`maxContent above ${SMALL_BLOB}`);
  }

  get size(): number {
    return this.entries.size;
  }

  get weight(): number {
    return this.bytes;
  }

  private static key(mailboxId: MailboxId, uid: number): string {
    return `${mailboxId}:${uid}`;
  }

  /** The facts of a message when cached with at least what `need` asks; undefined on a miss. */
  get(mailboxId: MailboxId, uid: number, need: ContentNeed): MessageFacts | undefined {
    const key = MessageCache.key(mailboxId, uid);
    const e = this.entries.get(key);
    if (!e || !satisfies(e, need, this.maxContent)) return undefined;
    // Most recently used last (Map keeps insertion order).
    this.entries.delete(key);
    this.entries.set(key, e);
    return e.facts;
  }

  /**
   * Records a message as read from the store with `kind` content (and its
   * tree when `treeRead`), merged with what was cached before.
   */
  put(mailboxId: MailboxId, facts: MessageFacts, kind: CachedContent, treeRead: boolean): void {
    if (this.maxBytes <= 0) return;
    const key = MessageCache.key(mailboxId, facts.uid);
    const old = this.entries.get(key);
    let next: Entry = { facts: { ...facts }, contentKind: kind, treeRead, weight: 0 };
    if (next.facts.content && next.facts.content.length > this.maxContent) {
      // Too big to keep whole: keep the header section when its end is known.
      const end = next.facts.headerEnd;
      next.facts.content = kind === 'whole' && end !== undefined && end <= this.maxContent ? Buffer.from(next.facts.content.subarray(0, end)) : undefined;
      next.contentKind = next.facts.content ? 'header' : 'none';
    }
    if (old) {
      next = merge(old, next);
      this.bytes -= old.weight;
      this.entries.delete(key);
    }
    next.facts.memo = old?.facts.memo ?? new Map();
    next.weight = weightOf(next);
    if (next.weight > this.maxBytes) return;
    this.entries.set(key, next);
    this.bytes += next.weight;
    this.evict();
  }

  private evict(): void {
    for (const [key, e] of this.entries) {
      if (this.bytes <= this.maxBytes) return;
      this.entries.delete(key);
      this.bytes -= e.weight;
    }
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }
}

function satisfies(e: Entry, need: ContentNeed, maxContent: number): boolean {
  switch (need) {
    case 'none':
      return true;
    case 'headerOnly':
      // A message without a stored structure has no known header end: its sections come from parsing it (tree).
      return e.contentKind !== 'none' || (e.treeRead && e.facts.headerEnd === undefined);
    case 'header':
      return e.treeRead && (e.contentKind !== 'none' || e.facts.headerEnd === undefined);
    case 'small':
      // A blob over the limit is never kept whole and is read in ranges: the facts and tree are all a batch needs.
      return e.treeRead && (e.contentKind === 'whole' || blobSize(e.facts) > maxContent);
  }
}

/** The blob's size (the message less its header prefix). */
function blobSize(f: MessageFacts): number {
  return f.size - f.headerPrefix.length;
}

function merge(old: Entry, next: Entry): Entry {
  const rank = { none: 0, header: 1, whole: 2 } as const;
  const content = rank[next.contentKind] >= rank[old.contentKind] ? next : old;
  const tree = next.treeRead ? next : old;
  return {
    facts: {
      ...next.facts,
      content: content.facts.content,
      envelope: tree.facts.envelope,
      structure: tree.facts.structure,
      headerEnd: next.facts.headerEnd ?? old.facts.headerEnd,
    },
    contentKind: content.contentKind,
    treeRead: old.treeRead || next.treeRead,
    weight: 0,
  };
}

function weightOf(e: Entry): number {
  const f = e.facts;
  const memo = MEMO_ENTRIES * (f.headerPrefix.length + (f.headerEnd ?? 0));
  return ENTRY_OVERHEAD + memo + f.headerPrefix.length + (f.content?.length ?? 0) + (f.structure ? countParts(f.structure) * TREE_WEIGHT_PER_PART : 0);
}
