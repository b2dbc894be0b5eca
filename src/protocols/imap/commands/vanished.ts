/**
 * QRESYNC's VANISHED (EARLIER) (RFC 7162 3.2.10): which expunged UIDs to
 * tell a client that resynchronises, in SELECT/EXAMINE (QRESYNC ...) (RFC
 * 7162 3.2.5) and UID FETCH (CHANGEDSINCE n VANISHED) (RFC 7162 3.2.6).
 *
 *  - The core's tombstones (core/mailbox-sync.ts vanishedSince) give the
 *    UIDs expunged after the client's modseq, up to the modseq the session
 *    has reported. When the journal was pruned past the client's modseq
 *    (`complete` false) they are a superset: every UID below UIDNEXT that is
 *    not in the mailbox. RFC 7162 3.2.10 lets VANISHED (EARLIER) name UIDs
 *    the client never saw, so the superset is sent, narrowed to the client's
 *    known UIDs, and below the highest UID the sequence match data proves
 *    in step (3.2.5.2).
 *  - Always narrowed to the UIDs the client named (known-uids, the UID FETCH
 *    set), and never a UID still in the session's map: such a message was
 *    expunged after the session's last report, and is told by the next
 *    `* VANISHED` (without EARLIER), which shrinks EXISTS.
 *
 * Everything stays as UID ranges: a superset over a large mailbox is a
 * handful of ranges, never one number per message.
 */
import type { SeqNum, Uid } from '../../../lib/ids.ts';
import { formatUidRanges, normalizeUidRanges, type UidRange } from '../../../lib/uid-ranges.ts';
import type { QresyncParams, SequenceSet } from '../parser/index.ts';
import type { SelectedMailbox } from '../selected.ts';

const MAX_UID = 4294967295;

/** More sequence-match pairs than this are not worth checking: the data is then ignored (RFC 7162 3.2.5.2 makes it optional). */
const MAX_MATCH_PAIRS = 100_000;

/** A client's UID set as ranges; "*" has no upper bound here (the UIDs in question are not in the mailbox any more). */
export function clientUidRanges(set: SequenceSet<Uid>): UidRange[] {
  return normalizeUidRanges(set.ranges.map((r) => ({ first: r.first === '*' ? MAX_UID : r.first, last: r.last === '*' ? MAX_UID : r.last })));
}

/** The intersection of two normalized range lists. */
export function intersectRanges(a: readonly UidRange[], b: readonly UidRange[]): UidRange[] {
  const out: UidRange[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    const first = Math.max(x.first, y.first);
    const last = Math.min(x.last, y.last);
    if (first <= last) out.push({ first: first as Uid, last: last as Uid });
    if (x.last < y.last) i++;
    else j++;
  }
  return out;
}

/** The ranges without the UIDs in the session's map (binary search per range). */
export function withoutMapped(ranges: readonly UidRange[], box: SelectedMailbox): UidRange[] {
  const out: UidRange[] = [];
  for (const r of ranges) {
    let from: number = r.first;
    // uids[k] for k from the first index at or above r.first, while <= r.last.
    let lo = 0;
    let hi = box.uids.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (box.uids[mid]! < r.first) lo = mid + 1;
      else hi = mid;
    }
    for (let k = lo; k < box.uids.length && box.uids[k]! <= r.last; k++) {
      const u = box.uids[k]!;
      if (u > from) out.push({ first: from as Uid, last: (u - 1) as Uid });
      from = u + 1;
    }
    if (from <= r.last) out.push({ first: from as Uid, last: r.last });
  }
  return out;
}

/**
 * RFC 7162 3.2.5.2: the highest UID of the sequence match data whose
 * sequence number the client gives is also its sequence number here. Every
 * UID up to it that the client knew still exists (the client knew every
 * message below a UID it knew, UIDs only grow, and both sides count the same
 * number of messages up to it), so nothing at or below it vanished. 0: no
 * such pair, or data that cannot be paired (different lengths, too long).
 */
export function matchedUpTo(box: SelectedMailbox, seqMatch: NonNullable<QresyncParams['seqMatch']>): number {
  const expand = <N extends SeqNum | Uid>(set: SequenceSet<N>): number[] | null => {
    const out: number[] = [];
    for (const r of set.ranges) {
      if (r.first === '*' || r.last === '*') return null;
      const a = Math.min(r.first, r.last);
      const b = Math.max(r.first, r.last);
      if (out.length + (b - a + 1) > MAX_MATCH_PAIRS) return null;
      for (let n = a; n <= b; n++) out.push(n);
    }
    return out;
  };
  const seqs = expand(seqMatch.seqs);
  const uids = expand(seqMatch.uids);
  if (!seqs || !uids || seqs.length !== uids.length) return 0;
  let best = 0;
  for (let i = 0; i < seqs.length; i++) {
    const uid = uids[i]!;
    if (uid > best && box.seqOf(uid) === seqs[i]) best = uid;
  }
  return best;
}

/** What of `vanished` to tell: within `wanted`, above `matched`, not in the map. */
export function vanishedToTell(vanished: readonly UidRange[], wanted: readonly UidRange[], box: SelectedMailbox, matched = 0): UidRange[] {
  let r = intersectRanges(vanished, wanted);
  if (matched > 0 && matched < MAX_UID) r = intersectRanges(r, [{ first: (matched + 1) as Uid, last: MAX_UID as Uid }]);
  else if (matched >= MAX_UID) return [];
  return withoutMapped(r, box);
}

/** `VANISHED (EARLIER) uid-set`, or null when there is nothing to tell. */
export function vanishedEarlier(ranges: readonly UidRange[]): string | null {
  return ranges.length === 0 ? null : `VANISHED (EARLIER) ${formatUidRanges(ranges)}`;
}
