/**
 * The basic rules of RFC 9051 9 (formal syntax), named after the ABNF:
 * atom, astring, string, quoted, literal, nstring, number, nz-number,
 * number64, mod-sequence-value, mailbox.
 */
import { ASTRING_CHAR, ATOM_CHAR } from './chars.ts';
import { decodeMailboxName } from './mailbox-name.ts';
import { LITERAL, type Scanner } from './scanner.ts';

const DQUOTE = 0x22;
const BACKSLASH = 0x5c;
const CR = 0x0d;

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const MAX_U32 = 0xffffffff;
const MAX_63 = 2n ** 63n - 1n;

/** atom = 1*ATOM-CHAR */
export function atom(s: Scanner, what = 'an atom'): string {
  const bytes = s.take(ATOM_CHAR);
  if (bytes.length === 0) s.fail(`Expected ${what}`);
  return bytes.toString('latin1');
}

/**
 * quoted = DQUOTE *QUOTED-CHAR DQUOTE; QUOTED-CHAR = <any TEXT-CHAR except
 * quoted-specials> / "\" quoted-specials / UTF8-2 / UTF8-3 / UTF8-4. The UTF-8
 * forms only once UTF-8 is enabled (RFC 6855 3; RFC 9051 with IMAP4rev2).
 */
export function quoted(s: Scanner): Buffer {
  s.expect(DQUOTE, 'DQUOTE');
  const out: number[] = [];
  let eight = false;
  for (;;) {
    const b = s.peek();
    if (b < 0) s.fail('Unterminated quoted string');
    s.skip();
    if (b === DQUOTE) break;
    if (b === BACKSLASH) {
      const c = s.peek();
      if (c !== DQUOTE && c !== BACKSLASH) s.fail('Invalid escape in quoted string: only \\" and \\\\');
      s.skip();
      out.push(c);
      continue;
    }
    if (b === 0 || b === CR) s.fail('Invalid character in quoted string');
    if (b >= 0x80) {
      if (!s.opts.utf8) s.fail('8-bit characters in a quoted string need UTF8=ACCEPT (RFC 6855); use a literal');
      eight = true;
    }
    out.push(b);
  }
  const bytes = Buffer.from(out);
  if (eight) utf8Text(s, bytes, 'quoted string');
  return bytes;
}

/**
 * literal = "{" number64 ["+"] "}" CRLF *CHAR8 (RFC 9051 9); CHAR8 excludes
 * NUL. literal8 (`~{n}`, RFC 3516 4.2) only where `binary` allows it.
 */
export function literal(s: Scanner, binary = false): Buffer {
  const token = s.literal();
  if (token.kind === 'streamed') s.fail('Unexpected message literal');
  if (token.binary && !binary) s.fail('literal8 (~{n}) is not allowed here');
  if (!token.binary && token.data.includes(0)) s.fail('NUL in a literal: use literal8 (RFC 3516)');
  return token.data;
}

/** string = quoted / literal */
export function string(s: Scanner, what = 'a string'): Buffer {
  const b = s.peek();
  if (b === DQUOTE) return quoted(s);
  if (b === LITERAL) return literal(s);
  return s.fail(`Expected ${what}`);
}

/** astring = 1*ASTRING-CHAR / string */
export function astring(s: Scanner, what = 'a string'): Buffer {
  const b = s.peek();
  if (b === DQUOTE || b === LITERAL) return string(s, what);
  const bytes = s.take(ASTRING_CHAR);
  if (bytes.length === 0) s.fail(`Expected ${what}`);
  return bytes;
}

/** nstring = string / nil */
export function nstring(s: Scanner, what = 'a string or NIL'): Buffer | null {
  const b = s.peek();
  if (b === DQUOTE || b === LITERAL) return string(s, what);
  if (s.eatKeyword('NIL')) return null;
  return s.fail(`Expected ${what}`);
}

/** Decodes UTF-8 or fails with a BAD naming `what`. */
export function utf8Text(s: Scanner, bytes: Buffer, what: string): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    return s.fail(`Invalid UTF-8 in ${what}`);
  }
}

/** An astring decoded as UTF-8 (user names, passwords). */
export function astringText(s: Scanner, what: string): string {
  return utf8Text(s, astring(s, what), what);
}

/** number = 1*DIGIT, an unsigned 32-bit integer. */
export function number(s: Scanner, what: string): number {
  const d = s.digits();
  if (d === '') s.fail(`Expected ${what}`);
  const n = d.length > 10 ? Infinity : Number(d);
  if (n > MAX_U32) s.fail(`${what} out of range`);
  return n;
}

/** nz-number = digit-nz *DIGIT (0 < n < 2^32). */
export function nzNumber(s: Scanner, what: string): number {
  const n = number(s, what);
  if (n === 0) s.fail(`${what} must not be zero`);
  return n;
}

/** number64 = 1*DIGIT (0 <= n < 2^63), RFC 9051 9. */
export function number64(s: Scanner, what: string): bigint {
  const d = s.digits();
  if (d === '') s.fail(`Expected ${what}`);
  const n = d.replace(/^0+(?=.)/, '').length > 19 ? MAX_63 + 1n : BigInt(d);
  if (n > MAX_63) s.fail(`${what} out of range`);
  return n;
}

/**
 * A number64 as a JavaScript number, clamped to 2^53-1: sizes and offsets
 * that large mean "beyond any message" and compare the same (LARGER, partial).
 */
export function number64Clamped(s: Scanner, what: string): number {
  const n = number64(s, what);
  return n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
}

/**
 * mod-sequence-value = 1*DIGIT (1 <= n < 2^63); mod-sequence-valzer also
 * allows 0 (RFC 7162 7).
 */
export function modSequence(s: Scanner, what: string, zero: boolean): bigint {
  const n = number64(s, what);
  if (n === 0n && !zero) s.fail(`${what} must not be zero`);
  return n;
}

/**
 * mailbox = "INBOX" / astring (RFC 9051 9), decoded (mailbox-name.ts):
 * modified UTF-7 for IMAP4rev1, UTF-8 once enabled.
 */
export function mailbox(s: Scanner, what = 'a mailbox name'): string {
  const decoded = decodeMailboxName(astring(s, what), s.opts.utf8);
  if ('error' in decoded) return s.fail(decoded.error);
  return decoded.name;
}

/** "(" ... ")" with items separated by single SPs; `empty` allows "()". */
export function parenList<T>(s: Scanner, item: () => T, empty: boolean, what: string): T[] {
  s.expect(0x28, `"(" to open ${what}`);
  const items: T[] = [];
  if (s.eat(0x29)) {
    if (!empty) s.fail(`Empty ${what}`);
    return items;
  }
  for (;;) {
    items.push(item());
    if (s.eat(0x29)) return items;
    s.sp(`SP or ")" in ${what}`);
  }
}
