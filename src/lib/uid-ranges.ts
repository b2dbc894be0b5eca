/**
 * Sets of UIDs as sorted, disjoint, inclusive ranges: how the core and the
 * store pass "UID 1:500,700" around without listing 100,000 numbers, and the
 * compact text form ("1:500,700") the store returns large UID lists in.
 *
 * The protocol resolves "*" (RFC 9051 9, seq-number) before it gets here:
 * every bound is a real number 1..2^32-1.
 */
import type { Uid } from './ids.ts';

export interface UidRange {
  readonly first: Uid;
  /** Inclusive; equal to `first` for a single UID. */
  readonly last: Uid;
}

const MAX_UID = 4294967295;

function checkUid(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_UID) throw new RangeError(`not a UID: ${n}`);
}

/** Sorted, merged (adjacent and overlapping ranges joined), each first <= last. */
export function normalizeUidRanges(ranges: readonly { first: number; last: number }[]): UidRange[] {
  const sorted = ranges
    .map((r) => {
      checkUid(r.first);
      checkUid(r.last);
      return r.first <= r.last ? { first: r.first, last: r.last } : { first: r.last, last: r.first };
    })
    .sort((a, b) => a.first - b.first);
  const out: { first: number; last: number }[] = [];
  for (const r of sorted) {
    const prev = out[out.length - 1];
    if (prev && r.first <= prev.last + 1) prev.last = Math.max(prev.last, r.last);
    else out.push({ ...r });
  }
  return out as UidRange[];
}

/** The ranges covering a list of UIDs (any order, duplicates allowed). */
export function uidRangesOf(uids: Iterable<number>): UidRange[] {
  return normalizeUidRanges([...uids].map((u) => ({ first: u, last: u })));
}

/** Every UID in 1..2^32-1. */
export const ALL_UIDS: readonly UidRange[] = [{ first: 1 as Uid, last: MAX_UID as Uid }];

/** The two parallel arrays a store statement unnests: ($n::bigint[], $m::bigint[]). */
export function rangeBounds(ranges: readonly UidRange[]): [number[], number[]] {
  return [ranges.map((r) => r.first), ranges.map((r) => r.last)];
}

export function countUids(ranges: readonly UidRange[]): number {
  let n = 0;
  for (const r of ranges) n += r.last - r.first + 1;
  return n;
}

/**
 * Parses the store's compact form, "1:500,502,510:512" (ascending, as the SQL
 * builds it; an empty string or null is the empty set).
 */
export function parseUidRanges(text: string | null | undefined): UidRange[] {
  if (!text) return [];
  return text.split(',').map((part) => {
    const colon = part.indexOf(':');
    const first = Number(colon < 0 ? part : part.slice(0, colon));
    const last = colon < 0 ? first : Number(part.slice(colon + 1));
    return { first: first as Uid, last: last as Uid };
  });
}

/** All UIDs of the ranges, ascending, in one typed array (4 octets per message). */
export function expandUidRanges(ranges: readonly UidRange[]): Uint32Array {
  const out = new Uint32Array(countUids(ranges));
  let i = 0;
  for (const r of ranges) for (let u = r.first; u <= r.last; u++) out[i++] = u;
  return out;
}

/** The ranges as IMAP writes a sequence set (RFC 9051 9): "1:500,502". */
export function formatUidRanges(ranges: readonly UidRange[]): string {
  return ranges.map((r) => (r.first === r.last ? `${r.first}` : `${r.first}:${r.last}`)).join(',');
}
