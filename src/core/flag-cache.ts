/**
 * A node's cache of message flags and mod-sequences per mailbox, so that a
 * FETCH of FLAGS (a message list: `UID FETCH n:m (FLAGS BODY.PEEK[HEADER...])`)
 * needs no query while nothing changed in the mailbox.
 *
 * Flags change, so the cache knows up to which mod-sequence of the mailbox
 * (`validThrough`) it is complete, and drops a mailbox at the first change it
 * cannot account for:
 *
 *  - filled from a query that also read the mailbox's highest modseq (one
 *    snapshot): the rows are current as of that modseq;
 *  - a change committed through this node (applyLocal) names the modseqs it
 *    used, (from, to], and what it did: flags set on these UIDs, messages
 *    appended (no existing message's flags change), messages expunged. It is
 *    applied only when it follows on exactly (from = validThrough), before
 *    the client is answered, so a session on this node never reads flags
 *    older than a change another session here was told about;
 *  - a change hint from any node (the NOTIFY of change-hints.ts, through the
 *    node's MailboxChangeFeed) above validThrough drops the mailbox: another
 *    node changed something, the next FETCH reads it;
 *  - hints are best effort (a broken LISTEN loses them), so an entry is
 *    trusted for at most `ttlMs` after it was read or confirmed: a change made
 *    through another node is seen within that time even when its hint is lost.
 *    Past that the entries are kept aside, not served: the next fill that read
 *    the mailbox's highest modseq equal to the old validThrough confirms them
 *    all (nothing changed since), so one query renews the whole mailbox.
 *
 * A message expunged by another session still has its cached flags until
 * the mailbox is dropped; FETCH may answer for it (RFC 2180 4.1.2), and the
 * session's map keeps it until it is told anyway.
 *
 * Bounded: at most `maxMailboxes` mailboxes and `maxEntries` messages in
 * all (least recently used mailboxes go first), at most `maxPerMailbox`
 * messages per mailbox (past that a fill is not kept).
 */
import type { MailboxId } from '../lib/ids.ts';

export interface FlagEntry {
  flags: string[];
  modseq: bigint;
}

/** What a change committed through this node did (applyLocal). */
export type LocalChange =
  | { kind: 'flags'; rows: readonly { uid: number; flags: string[]; modseq: bigint }[] }
  | { kind: 'append'; rows?: readonly { uid: number; flags: string[]; modseq: bigint }[] }
  | { kind: 'expunge'; uids: Iterable<number> };

interface BoxState {
  /** The mailbox modseq the entries are complete up to; null: none are (not filled yet, dropped, or too old). */
  validThrough: bigint | null;
  /**
   * Entries too old to serve (ttlMs) are kept with the modseq they were
   * complete up to: a fill that read exactly that modseq confirms them.
   * Null while the entries are valid or cleared.
   */
  staleThrough: bigint | null;
  /**
   * While not filled: the highest modseq a change or hint named. A fill read
   * in a snapshot older than that is not kept (it raced with that change).
   */
  floor: bigint;
  /** When the cached state was last read from (or confirmed by) the store. */
  checkedAt: number;
  entries: Map<number, FlagEntry>;
  /** Stops the feed subscription. */
  unwatch: () => void;
}

export interface FlagCacheOptions {
  maxMailboxes?: number;
  maxPerMailbox?: number;
  /** Messages in all mailboxes together; default 500,000 (an entry is about 125 octets of heap: some 60 MB). */
  maxEntries?: number;
  ttlMs?: number;
  /** Subscribes to the change hints of a mailbox (the node's MailboxChangeFeed); returns the unsubscribe. */
  watch: (mailboxId: MailboxId, onHint: (modseq: bigint) => void) => () => void;
  now?: () => number;
}

const max = (a: bigint, b: bigint): bigint => (a > b ? a : b);

export class FlagCache {
  private readonly boxes = new Map<MailboxId, BoxState>();
  private readonly maxMailboxes: number;
  private readonly maxPerMailbox: number;
  private readonly maxEntries: number;
  /** Entries in all mailboxes. */
  private total = 0;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(private readonly opts: FlagCacheOptions) {
    this.maxMailboxes = opts.maxMailboxes ?? 10_000;
    this.maxPerMailbox = opts.maxPerMailbox ?? 10_000;
    this.maxEntries = opts.maxEntries ?? 500_000;
    this.ttlMs = opts.ttlMs ?? 1000;
    this.now = opts.now ?? Date.now;
  }

  get mailboxes(): number {
    return this.boxes.size;
  }

  /** Messages cached in all mailboxes. */
  get entries(): number {
    return this.total;
  }

  /** The flags of every one of `uids`, or undefined when any is missing or the mailbox's state is too old. */
  get(mailboxId: MailboxId, uids: readonly number[]): (FlagEntry & { uid: number })[] | undefined {
    const box = this.boxes.get(mailboxId);
    if (!box || box.validThrough === null) return undefined;
    if (this.now() - box.checkedAt > this.ttlMs) {
      // Too old to serve without asking the store; kept for a fill to confirm.
      box.staleThrough = box.validThrough;
      box.validThrough = null;
      box.floor = max(box.floor, box.staleThrough);
      return undefined;
    }
    const out: (FlagEntry & { uid: number })[] = [];
    for (const uid of uids) {
      const e = box.entries.get(uid);
      if (!e) return undefined;
      out.push({ uid, flags: e.flags, modseq: e.modseq });
    }
    // Most recently used last.
    this.boxes.delete(mailboxId);
    this.boxes.set(mailboxId, box);
    return out;
  }

  /**
   * What the cache holds of a mailbox: the modseq its entries are complete
   * up to (valid, or kept aside past ttlMs) and how many there are. When the
   * store confirms that the mailbox is at that modseq with that many
   * messages, the entries are every message of it (each entry is a message
   * the mailbox had at that modseq, an expunge through this node removes
   * its entry, and any other change moves the modseq): see messages().
   */
  known(mailboxId: MailboxId): { modseq: bigint; count: number } | undefined {
    const box = this.boxes.get(mailboxId);
    const through = box?.validThrough ?? box?.staleThrough ?? null;
    return box && through !== null ? { modseq: through, count: box.entries.size } : undefined;
  }

  /**
   * The cached messages of a mailbox the store just confirmed at `modseq`
   * (see known()): UIDs ascending, how many lack \Seen, the first of those.
   * The entries are trusted again from now (as by a fill). Undefined when
   * they changed meanwhile.
   */
  messages(mailboxId: MailboxId, modseq: bigint): { uids: number[]; unseen: number; firstUnseenUid: number | null } | undefined {
    const box = this.boxes.get(mailboxId);
    if (!box || (box.validThrough ?? box.staleThrough) !== modseq || modseq < box.floor) return undefined;
    box.validThrough = modseq;
    box.staleThrough = null;
    box.checkedAt = this.now();
    const uids = [...box.entries.keys()].sort((a, b) => a - b);
    let unseen = 0;
    let firstUnseenUid: number | null = null;
    for (const uid of uids) {
      if (box.entries.get(uid)!.flags.includes('\\Seen')) continue;
      unseen++;
      firstUnseenUid ??= uid;
    }
    return { uids, unseen, firstUnseenUid };
  }

  /**
   * Before a query whose rows will be given to fill(): from now on changes
   * and hints for the mailbox are tracked, so a fill that raced with one is
   * not kept.
   */
  begin(mailboxId: MailboxId): void {
    if (this.boxes.has(mailboxId)) return;
    const unwatch = this.opts.watch(mailboxId, (modseq) => this.hint(mailboxId, modseq));
    this.boxes.set(mailboxId, { validThrough: null, staleThrough: null, floor: 0n, checkedAt: 0, entries: new Map(), unwatch });
    this.evict();
  }

  /** Rows read (after begin()) in one snapshot in which the mailbox's highest modseq was `highest`. */
  fill(mailboxId: MailboxId, highest: bigint, rows: readonly (FlagEntry & { uid: number })[]): void {
    const box = this.boxes.get(mailboxId);
    if (!box) return;
    const before = box.entries.size;
    this.fillBox(box, highest, rows);
    this.resized(mailboxId, box, before);
  }

  private fillBox(box: BoxState, highest: bigint, rows: readonly (FlagEntry & { uid: number })[]): void {
    if (highest < box.floor) return;
    if (box.validThrough !== null && highest < box.validThrough) return; // older than what is kept
    if (box.validThrough === null && box.staleThrough === highest) {
      // The store is still at the modseq the old entries were complete up to: nothing changed, all of them hold.
      box.validThrough = highest;
    } else if (box.validThrough === null || highest > box.validThrough) {
      // Not filled, or something changed that the cache did not see: start over from these rows.
      box.entries.clear();
      box.validThrough = highest;
    }
    box.staleThrough = null;
    if (box.entries.size + rows.length > this.maxPerMailbox) {
      this.forget(box, highest);
      return;
    }
    for (const r of rows) box.entries.set(r.uid, { flags: r.flags, modseq: r.modseq });
    box.checkedAt = this.now();
  }

  /** A change committed through this node that used the mod-sequences (from, to]; called before the client is answered. */
  applyLocal(mailboxId: MailboxId, from: bigint, to: bigint, change: LocalChange): void {
    const box = this.boxes.get(mailboxId);
    if (!box) return;
    const before = box.entries.size;
    this.applyToBox(box, from, to, change);
    this.resized(mailboxId, box, before);
  }

  private applyToBox(box: BoxState, from: bigint, to: bigint, change: LocalChange): void {
    if (box.validThrough === null && box.staleThrough !== null && box.staleThrough === from && box.floor <= from) {
      // Entries kept aside past ttlMs: a change that follows on exactly keeps them what the store had
      // at `to` (anything else changed meanwhile shows as a higher modseq when they are confirmed).
      if (this.apply(box, change, to)) {
        box.staleThrough = to;
        box.floor = max(box.floor, to);
      }
      return;
    }
    if (box.validThrough === null) {
      box.floor = max(box.floor, to);
      box.staleThrough = null;
      box.entries.clear();
      return;
    }
    if (box.validThrough >= to) return; // a fill already read it
    if (box.validThrough !== from) {
      this.forget(box, to);
      return;
    }
    if (this.apply(box, change, to)) box.validThrough = to;
  }

  /** Applies a change to the entries; false when that made the mailbox too big to keep (dropped). */
  private apply(box: BoxState, change: LocalChange, to: bigint): boolean {
    if (change.kind === 'flags') {
      for (const r of change.rows) if (box.entries.has(r.uid)) box.entries.set(r.uid, { flags: r.flags, modseq: r.modseq });
    } else if (change.kind === 'append') {
      // New messages: their flags are what the append gave them (so a mailbox whose every message is
      // cached stays so, which SELECT relies on; see known()).
      if (box.entries.size + (change.rows?.length ?? 0) > this.maxPerMailbox) {
        this.forget(box, to);
        return false;
      }
      for (const r of change.rows ?? []) box.entries.set(r.uid, { flags: r.flags, modseq: r.modseq });
    } else if (change.kind === 'expunge') {
      for (const uid of change.uids) box.entries.delete(uid);
    }
    return true;
  }

  /** A change hint (any node): a modseq above what the cache accounts for drops the mailbox's entries. */
  hint(mailboxId: MailboxId, modseq: bigint): void {
    const box = this.boxes.get(mailboxId);
    if (!box) return;
    const before = box.entries.size;
    if (box.validThrough === null) box.floor = max(box.floor, modseq);
    else if (modseq > box.validThrough) this.forget(box, modseq);
    this.resized(mailboxId, box, before);
  }

  /** Accounts for a mailbox's entries having changed in number; past maxEntries drops other mailboxes, least recently used first. */
  private resized(mailboxId: MailboxId, box: BoxState, before: number): void {
    this.total += box.entries.size - before;
    if (this.total <= this.maxEntries) return;
    for (const [id] of this.boxes) {
      if (this.total <= this.maxEntries) return;
      if (id !== mailboxId) this.drop(id);
    }
  }

  /** Drops a mailbox's entries; fills read before modseq `floor` are not kept. */
  private forget(box: BoxState, floor: bigint): void {
    box.entries.clear();
    box.validThrough = null;
    box.staleThrough = null;
    box.floor = max(box.floor, floor);
  }

  /** Stops tracking a mailbox. */
  drop(mailboxId: MailboxId): void {
    const box = this.boxes.get(mailboxId);
    if (!box) return;
    this.total -= box.entries.size;
    this.boxes.delete(mailboxId);
    box.unwatch();
  }

  clear(): void {
    for (const id of [...this.boxes.keys()]) this.drop(id);
  }

  private evict(): void {
    for (const id of this.boxes.keys()) {
      if (this.boxes.size <= this.maxMailboxes) return;
      this.drop(id);
    }
  }
}
