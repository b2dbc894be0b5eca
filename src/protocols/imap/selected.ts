/**
 * The selected mailbox of a session (RFC 9051 2.3.1): the sequence-number map
 * and what the session last told the client.
 *
 *  - `uids`: ascending UIDs; uids[seq - 1] is the UID of message `seq`
 *    (RFC 9051 2.3.1.2). It changes only when the client is told: EXISTS
 *    appends, EXPUNGE removes (RFC 9051 7.5.1: numbers never shift silently).
 *  - `modseq`: the mailbox's highest modseq the session has reported up to;
 *    notifications read the changes after it (core/mailbox-sync.ts).
 *  - sequence sets and UID sets resolve against the map, "*" being the
 *    largest number in use (RFC 9051 9: for an empty mailbox, "*" names no
 *    message). "$" (SEARCHRES, RFC 5182) is the result SEARCH saved, as UIDs:
 *    expunged messages leave it (RFC 5182 2.1), nothing saved is the empty set.
 */
import type { MailboxId, SeqNum, Uid, UidValidity } from '../../lib/ids.ts';
import { normalizeUidRanges, uidRangesOf, type UidRange } from '../../lib/uid-ranges.ts';
import type { SeqBound, SequenceSet } from './parser/index.ts';

export class SelectedMailbox {
  constructor(
    readonly id: MailboxId,
    readonly name: string,
    /** EXAMINE (RFC 9051 6.3.3), or SELECT of a mailbox the user may not change. */
    readonly readOnly: boolean,
    readonly uidValidity: UidValidity,
    public uids: Uint32Array,
    public modseq: bigint,
  ) {}

  get exists(): number {
    return this.uids.length;
  }

  /**
   * rev1 \Recent (RFC 3501 2.3.2): the UID ranges [from, to) this session
   * claimed (core/mailbox-sync.ts claimRecent): at a read-write SELECT and
   * when it learns of new messages. Empty for EXAMINE and IMAP4rev2.
   */
  readonly recent: { from: number; to: number }[] = [];

  /** Whether `uid` is \Recent to this session. */
  isRecent(uid: number): boolean {
    return this.recent.some((r) => uid >= r.from && uid < r.to);
  }

  /** The RECENT count (RFC 3501 7.3.2): messages in the map that are \Recent to this session. */
  recentCount(): number {
    let n = 0;
    for (const r of this.recent) {
      if (r.to <= r.from) continue;
      n += this.firstAtOrAbove(r.to) - this.firstAtOrAbove(r.from);
    }
    return n;
  }

  /** The result of the last SEARCH ... RETURN (SAVE), ascending UIDs (RFC 5182 2.1: empty until one). */
  private savedUids: Uint32Array = new Uint32Array(0);

  /** SEARCHRES: the UIDs "$" names from now on (a failed SEARCH with SAVE saves the empty set). */
  saveResult(uids: Uint32Array): void {
    this.savedUids = uids.slice();
  }

  /** The saved UIDs still in the map, ascending. */
  get saved(): Uint32Array {
    return this.savedUids.filter((u) => this.seqOf(u) > 0);
  }

  /** The sequence number of `uid`, or 0 when it is not in the map (binary search). */
  seqOf(uid: number): number {
    let lo = 0;
    let hi = this.uids.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = this.uids[mid]!;
      if (v === uid) return mid + 1;
      if (v < uid) lo = mid + 1;
      else hi = mid - 1;
    }
    return 0;
  }

  /** The highest UID in the map, 0 when empty. */
  get lastUid(): number {
    return this.uids.length === 0 ? 0 : this.uids[this.uids.length - 1]!;
  }

  /** New messages (ascending, above lastUid) join the map; returns the new EXISTS. */
  append(uids: readonly number[]): number {
    if (uids.length === 0) return this.exists;
    const next = new Uint32Array(this.uids.length + uids.length);
    next.set(this.uids);
    next.set(uids, this.uids.length);
    this.uids = next;
    return this.exists;
  }

  /**
   * Removes expunged UIDs; returns the sequence numbers to announce, in the
   * order to send them: descending, so no EXPUNGE renumbers a later one
   * (RFC 9051 7.5.1 allows any order; each EXPUNGE shifts the higher ones).
   */
  remove(gone: Iterable<number>): number[] {
    const seqs: number[] = [];
    for (const uid of gone) {
      const seq = this.seqOf(uid);
      if (seq > 0) seqs.push(seq);
    }
    if (seqs.length === 0) return [];
    seqs.sort((a, b) => b - a);
    if (this.savedUids.length > 0) {
      const goneUids = new Set(seqs.map((seq) => this.uids[seq - 1]!));
      this.savedUids = this.savedUids.filter((u) => !goneUids.has(u));
    }
    const drop = new Set(seqs);
    const next = new Uint32Array(this.uids.length - seqs.length);
    let j = 0;
    for (let i = 0; i < this.uids.length; i++) if (!drop.has(i + 1)) next[j++] = this.uids[i]!;
    this.uids = next;
    return seqs;
  }

  /**
   * The messages a sequence set names, as ascending sequence numbers. Numbers
   * above EXISTS are an error (RFC 9051 7.1.3 BAD, "message number out of
   * range"), so the caller gets null for them. "$" adds the saved result.
   */
  resolveSeqs(set: SequenceSet<SeqNum>): number[] | null {
    const max = this.exists;
    const bound = (b: SeqBound<SeqNum>): number => (b === '*' ? max : b);
    const out = new Set<number>(set.saved ? this.savedSeqs() : []);
    for (const r of set.ranges) {
      const a = bound(r.first);
      const b = bound(r.last);
      if (max === 0 || a > max || b > max) return null;
      for (let n = Math.min(a, b); n <= Math.max(a, b); n++) out.add(n);
    }
    return [...out].sort((x, y) => x - y);
  }

  /**
   * The messages a UID set names, as ascending sequence numbers; UIDs not in
   * the map are skipped (RFC 9051 6.4.9: not an error). "*" is the highest UID
   * in the map, so "n:*" always includes the last message (RFC 9051 9).
   * "$" adds the saved result.
   */
  resolveUids(set: SequenceSet<Uid>): number[] {
    const last = this.lastUid;
    const bound = (b: SeqBound<Uid>): number => (b === '*' ? last : b);
    const out = new Set<number>(set.saved ? this.savedSeqs() : []);
    for (const r of set.ranges) {
      const a = Math.min(bound(r.first), bound(r.last));
      const b = Math.max(bound(r.first), bound(r.last));
      for (let seq = this.firstAtOrAbove(a); seq <= this.exists && this.uids[seq - 1]! <= b; seq++) out.add(seq);
    }
    return [...out].sort((x, y) => x - y);
  }

  /** The saved result's messages still in the map, as sequence numbers. */
  private savedSeqs(): number[] {
    const seqs: number[] = [];
    for (const u of this.savedUids) {
      const seq = this.seqOf(u);
      if (seq > 0) seqs.push(seq);
    }
    return seqs;
  }

  /**
   * A sequence set as UID ranges for SEARCH (RFC 9051 6.4.4): numbers above
   * EXISTS name no message rather than being an error, "*" is the last
   * message, "$" the saved result.
   */
  searchSeqUids(set: SequenceSet<SeqNum>): UidRange[] {
    const max = this.exists;
    const uids: number[] = set.saved ? [...this.saved] : [];
    if (max > 0) {
      const ranges: { first: number; last: number }[] = [];
      for (const r of set.ranges) {
        const a = r.first === '*' ? max : Math.min(r.first, max + 1);
        const b = r.last === '*' ? max : Math.min(r.last, max + 1);
        const lo = Math.min(a, b);
        const hi = Math.min(Math.max(a, b), max);
        if (lo <= hi) ranges.push({ first: this.uids[lo - 1]!, last: this.uids[hi - 1]! });
      }
      return normalizeUidRanges([...ranges, ...uids.map((u) => ({ first: u, last: u }))]);
    }
    return uidRangesOf(uids);
  }

  /** A UID set as UID ranges for SEARCH: "*" is the highest UID in the map, "$" the saved result. */
  searchUidUids(set: SequenceSet<Uid>): UidRange[] {
    const last = this.lastUid;
    const ranges: { first: number; last: number }[] = set.saved ? [...this.saved].map((u) => ({ first: u, last: u })) : [];
    if (last > 0) for (const r of set.ranges) ranges.push({ first: r.first === '*' ? last : r.first, last: r.last === '*' ? last : r.last });
    return normalizeUidRanges(ranges);
  }

  /** The first sequence number whose UID is >= uid (exists + 1 when none). */
  private firstAtOrAbove(uid: number): number {
    let lo = 0;
    let hi = this.uids.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.uids[mid]! < uid) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  }
}
