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
 *    message). "$" (SEARCHRES, RFC 5182) is refused until SEARCH saves results.
 */
import type { MailboxId, SeqNum, Uid, UidValidity } from '../../lib/ids.ts';
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
   * range"), so the caller gets null for them.
   */
  resolveSeqs(set: SequenceSet<SeqNum>): number[] | null {
    const max = this.exists;
    const bound = (b: SeqBound<SeqNum>): number => (b === '*' ? max : b);
    const out = new Set<number>();
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
   */
  resolveUids(set: SequenceSet<Uid>): number[] {
    const last = this.lastUid;
    const bound = (b: SeqBound<Uid>): number => (b === '*' ? last : b);
    const out = new Set<number>();
    for (const r of set.ranges) {
      const a = Math.min(bound(r.first), bound(r.last));
      const b = Math.max(bound(r.first), bound(r.last));
      for (let seq = this.firstAtOrAbove(a); seq <= this.exists && this.uids[seq - 1]! <= b; seq++) out.add(seq);
    }
    return [...out].sort((x, y) => x - y);
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
