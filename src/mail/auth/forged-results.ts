/**
 * Forged Authentication-Results header fields (RFC 8601 5): the fields that
 * claim our authserv-id but arrive from outside, found and removed from a
 * message in memory (removeForgedAuthResults) or from the head of a message
 * known by its first octets only (forgedAuthResultsEdit).
 */
import { fieldValue, walkHeader, type RawField } from './header-scan.ts';

const TOKEN_STOP = /[\x00-\x20()<>@,;:\\"/[\]?=\x7f]/;

/** The authserv-id of an Authentication-Results value: [CFWS] value (RFC 8601 2.2, value per RFC 2045). */
export function authservIdOf(value: string): string | undefined {
  const s = value;
  let i = 0;
  // [CFWS]: whitespace and (possibly nested) comments.
  for (;;) {
    while (i < s.length && /[ \t\r\n]/.test(s[i] ?? '')) i++;
    if (s[i] !== '(') break;
    let depth = 0;
    for (; i < s.length; i++) {
      const c = s[i];
      if (c === '\\') i++;
      else if (c === '(') depth++;
      else if (c === ')' && --depth === 0) {
        i++;
        break;
      }
    }
    if (depth > 0) return undefined;
  }
  if (s[i] === '"') {
    let out = '';
    for (i++; i < s.length; i++) {
      const c = s[i];
      if (c === '"') return out;
      if (c === '\\') i++;
      out += s[i] ?? '';
    }
    return undefined; // unterminated
  }
  let j = i;
  while (j < s.length && !TOKEN_STOP.test(s[j] ?? '')) j++;
  return j > i ? s.slice(i, j) : undefined;
}

/** An Authentication-Results field whose authserv-id is `ours` (lower case), compared case-insensitively. */
function isForged(raw: Buffer, f: RawField, ours: string): boolean {
  return f.name === 'authentication-results' && authservIdOf(fieldValue(raw, f))?.toLowerCase() === ours;
}

/**
 * Removes the Authentication-Results header fields whose authserv-id is ours
 * (compared case-insensitively): RFC 8601 5 says an MTA SHOULD remove (or
 * obscure) such fields arriving from outside, since only we may write them.
 * Everything else, fields with other authserv-ids included, stays
 * byte-identical; without a match the input Buffer itself is returned.
 */
export function removeForgedAuthResults(raw: Buffer, authservId: string): Buffer {
  const ours = authservId.toLowerCase();
  if (!ours) return raw;
  // Kept bytes are copied as we go: no list of pieces that a message made of
  // a million forged fields could blow up.
  let out: Buffer | undefined;
  let written = 0;
  let kept = 0;
  walkHeader(raw, (f) => {
    if (!isForged(raw, f, ours)) return;
    out ??= Buffer.alloc(raw.length); // zeroed: the unused tail stays reachable through .buffer
    written += raw.copy(out, written, kept, f.start);
    kept = f.end;
  });
  if (!out) return raw;
  written += raw.copy(out, written, kept, raw.length);
  return out.subarray(0, written);
}

/** How removeForgedAuthResults changes a message known by its first octets only. */
export interface HeadEdit {
  /** The first `length` octets of the message (they end after the last forged field)... */
  length: number;
  /** ...are replaced by these (the same octets without the forged fields). */
  replacement: Buffer;
}

/**
 * removeForgedAuthResults for a message of which only the first octets are
 * at hand (`head`, e.g. a spooled message's): the edit to apply to the
 * message's start, or undefined when there is nothing to remove. Only fields
 * that end within `head` are looked at: when `head` is not the whole message
 * (`whole` false) and the header section does not end in it, its last field
 * may continue after it and is left alone, as are fields further on (a header
 * section over MAX_HEADER_BYTES, the head's size, is not verified either).
 */
export function forgedAuthResultsEdit(head: Buffer, authservId: string, whole: boolean): HeadEdit | undefined {
  const ours = authservId.toLowerCase();
  if (!ours) return undefined;
  let lastStart = -1;
  let forgedEnd = 0;
  let forgedEndBefore = 0; // forgedEnd as it was before the last field
  const scan = walkHeader(head, (f) => {
    lastStart = f.start;
    forgedEndBefore = forgedEnd;
    if (isForged(head, f, ours)) forgedEnd = f.end;
  });
  // The last field may be cut at the end of `head`: it does not count.
  const length = whole || scan.terminated || lastStart < 0 ? forgedEnd : forgedEndBefore;
  if (length === 0) return undefined;
  const prefix = head.subarray(0, length);
  return { length, replacement: Buffer.from(removeForgedAuthResults(prefix, authservId)) };
}
