/**
 * MIME structured field values: Content-Type (RFC 2045 5.1),
 * Content-Disposition (RFC 2183 2), Content-Language (RFC 3282 2),
 * Content-Transfer-Encoding (RFC 2045 6.1), and their parameters with RFC 2231
 * continuations and character sets. Lenient: malformed input gives what could
 * be read, never an exception; work is linear in the input.
 */
import { decodeCharset } from './mime-decode.ts';
import type { MimeParam } from './mime-types.ts';

/** Merged parameters kept per field (more is junk no mailer writes; boundary and charset are kept anyway). */
export const MAX_PARAMS = 64;
/** RFC 2231 3: continuation sections kept per parameter. */
const MAX_SECTIONS = 1000;

/** RFC 2045 5.1 tspecials, plus space and controls: what ends a token. */
function isTokenChar(c: string): boolean {
  const code = c.charCodeAt(0);
  return code > 0x20 && code !== 0x7f && !'()<>@,;:\\"/[]?='.includes(c);
}

/** Index after a comment starting at s[i] === '(' (nested, with quoted-pairs; RFC 5322 3.2.2). Unterminated: s.length. */
export function skipComment(s: string, i: number): number {
  let depth = 0;
  for (; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') i++;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i + 1;
  }
  return s.length;
}

/** Index of the first character that is not whitespace or part of a comment. */
function skipCfws(s: string, i: number): number {
  while (i < s.length) {
    const c = s[i];
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') i++;
    else if (c === '(') i = skipComment(s, i);
    else break;
  }
  return i;
}

/** The value with comments removed and whitespace trimmed ("base64 (comment)" -> "base64"). */
export function withoutComments(s: string): string {
  if (!s.includes('(')) return s.trim();
  let out = '';
  for (let i = 0; i < s.length; ) {
    const c = s[i]!;
    if (c === '(') {
      i = skipComment(s, i);
      out += ' ';
    } else if (c === '"') {
      const end = quotedEnd(s, i);
      out += s.slice(i, end);
      i = end;
    } else {
      out += c;
      i++;
    }
  }
  return out.trim();
}

/** Index after a quoted string starting at s[i] === '"' (unterminated: s.length). */
function quotedEnd(s: string, i: number): number {
  for (i++; i < s.length; i++) {
    if (s[i] === '\\') i++;
    else if (s[i] === '"') return i + 1;
  }
  return s.length;
}

/** The content of a quoted string starting at s[i], quoted-pairs undone (RFC 5322 3.2.4). */
function unquote(s: string, i: number, end: number): string {
  let out = '';
  const stop = s[end - 1] === '"' && end - 1 > i ? end - 1 : end;
  for (let j = i + 1; j < stop; j++) {
    if (s[j] === '\\' && j + 1 < stop) j++;
    out += s[j];
  }
  return out;
}

interface RawParam {
  name: string;
  value: string;
}

/** `; attribute=value` pairs from s[i] on (RFC 2045 5.1), as written. Linear: each parameter is scanned once. */
function rawParams(s: string, i: number): RawParam[] {
  const out: RawParam[] = [];
  while (i < s.length) {
    i = skipCfws(s, i);
    if (s[i] === ';') {
      i++;
      continue;
    }
    // The attribute ends at "=", or this parameter (without "=": skipped) at ";".
    let eq = i;
    while (eq < s.length && s[eq] !== '=' && s[eq] !== ';' && s[eq] !== '"') eq++;
    if (s[eq] !== '=') {
      const semi = nextOf(s, eq, ';');
      if (semi < 0) break;
      i = semi + 1;
      continue;
    }
    const name = withoutComments(s.slice(i, eq));
    i = skipCfws(s, eq + 1);
    let value: string;
    if (s[i] === '"') {
      const end = quotedEnd(s, i);
      value = unquote(s, i, end);
      const after = nextOf(s, end, ';');
      i = after < 0 ? s.length : after + 1;
    } else {
      const end = nextOf(s, i, ';');
      value = withoutComments(s.slice(i, end < 0 ? s.length : end));
      i = end < 0 ? s.length : end + 1;
    }
    if (name !== '' && !/[\s"]/.test(name)) out.push({ name, value });
  }
  return out;
}

/** Next index of `ch` at or after i outside quoted strings and comments, or -1. */
function nextOf(s: string, i: number, ch: string): number {
  for (; i < s.length; i++) {
    const c = s[i];
    if (c === ch) return i;
    if (c === '"') i = quotedEnd(s, i) - 1;
    else if (c === '(') i = skipComment(s, i) - 1;
  }
  return -1;
}

/** RFC 2231 7 attribute-char: what may stand unencoded in an extended value. */
function percentEncode(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += byte > 0x20 && byte < 0x7f && isTokenChar(c) && c !== '*' && c !== "'" && c !== '%' ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

interface Section {
  n: number;
  extended: boolean;
  value: string;
}

/**
 * Merges RFC 2231 continuations (name*0, name*1*, ...) into one parameter,
 * at the place of its first section. A value with a character set (name*,
 * name*0*) stays encoded, under the name with a trailing "*", as Dovecot
 * prints it in BODYSTRUCTURE; paramValue() decodes it. Sections after a gap
 * are dropped (RFC 2231 3).
 */
export function mergeParams(raw: readonly RawParam[]): MimeParam[] {
  type Slot = { base: string; sections: Section[] } | { param: MimeParam };
  const slots: Slot[] = [];
  const byBase = new Map<string, { base: string; sections: Section[] }>();
  for (const p of raw) {
    let name = p.name;
    const extended = name.endsWith('*');
    if (extended) name = name.slice(0, -1);
    const m = /^(.+)\*(\d{1,4})$/.exec(name);
    if (!m && !extended) {
      slots.push({ param: [p.name, p.value] });
      continue;
    }
    const base = m ? m[1]! : name;
    const n = m ? Number(m[2]) : 0;
    const key = base.toLowerCase();
    let slot = byBase.get(key);
    if (!slot) {
      slot = { base, sections: [] };
      byBase.set(key, slot);
      slots.push(slot);
    }
    if (slot.sections.length < MAX_SECTIONS) slot.sections.push({ n, extended, value: p.value });
  }
  const out: MimeParam[] = [];
  for (const slot of slots) {
    if ('param' in slot) {
      out.push(slot.param);
      continue;
    }
    const sorted = slot.sections.sort((a, b) => a.n - b.n);
    const contiguous: Section[] = [];
    for (const s of sorted) {
      if (s.n !== contiguous.length) break; // a gap, or a repeated section number
      contiguous.push(s);
    }
    if (contiguous.length === 0) continue;
    if (!contiguous.some((s) => s.extended)) {
      out.push([slot.base, contiguous.map((s) => s.value).join('')]);
      continue;
    }
    const [first, ...rest] = contiguous;
    let value = first!.extended ? first!.value : `''${percentEncode(first!.value)}`;
    for (const s of rest) value += s.extended ? s.value : percentEncode(s.value);
    out.push([`${slot.base}*`, value]);
  }
  if (out.length <= MAX_PARAMS) return out;
  // Junk past the limit goes, but not a boundary or charset: they decide how the body is read.
  const key = (name: string): boolean => /^(boundary|charset)\*?$/i.test(name);
  return [...out.slice(0, MAX_PARAMS), ...out.slice(MAX_PARAMS).filter(([k]) => key(k))];
}

export interface MediaType {
  type: string;
  subtype: string;
  params: MimeParam[];
  /** False when the field could not be read as type "/" subtype (RFC 2045 5.2: then text/plain is assumed). */
  valid: boolean;
}

function token(s: string, i: number): { value: string; end: number } {
  let end = i;
  while (end < s.length && isTokenChar(s[end]!)) end++;
  return { value: s.slice(i, end), end };
}

/** Content-Type: type "/" subtype *(";" parameter) (RFC 2045 5.1). */
export function parseContentType(value: string): MediaType {
  let i = skipCfws(value, 0);
  const type = token(value, i);
  i = skipCfws(value, type.end);
  let subtype = { value: '', end: i };
  if (value[i] === '/') subtype = token(value, skipCfws(value, i + 1));
  const semi = nextOf(value, subtype.end, ';');
  const params = mergeParams(rawParams(value, semi < 0 ? value.length : semi));
  return { type: type.value, subtype: subtype.value, params, valid: type.value !== '' && subtype.value !== '' };
}

/** Content-Disposition: disposition-type *(";" disposition-parm) (RFC 2183 2). */
export function parseDisposition(value: string): { type: string; params: MimeParam[] } | null {
  const t = token(value, skipCfws(value, 0));
  if (t.value === '') return null;
  const semi = nextOf(value, t.end, ';');
  return { type: t.value, params: mergeParams(rawParams(value, semi < 0 ? value.length : semi)) };
}

/** Content-Language: 1#Language-Tag (RFC 3282 2); null when empty. */
export function parseLanguage(value: string): string[] | null {
  const tags = withoutComments(value)
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
  return tags.length ? tags.slice(0, 16) : null;
}

/** Content-Transfer-Encoding mechanism as written, comments removed (RFC 2045 6.1); null when empty. */
export function parseEncoding(value: string): string | null {
  const v = withoutComments(value);
  return v === '' ? null : v;
}

/**
 * A parameter's value, decoded: "name" as written, or "name*"
 * (charset'language'%XX, RFC 2231 4) converted from its character set.
 */
export function paramValue(params: readonly MimeParam[], name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of params) if (k.toLowerCase() === lower) return v;
  for (const [k, v] of params) if (k.toLowerCase() === `${lower}*`) return decodeExtendedValue(v);
  return undefined;
}

/** charset'language'percent-encoded (RFC 2231 4) -> text. */
export function decodeExtendedValue(v: string): string {
  const q1 = v.indexOf("'");
  const q2 = q1 < 0 ? -1 : v.indexOf("'", q1 + 1);
  const charset = q2 < 0 ? 'utf-8' : v.slice(0, q1);
  const encoded = q2 < 0 ? v : v.slice(q2 + 1);
  // Octets: %XX as written, anything else (it should be ASCII) as its UTF-8.
  const text = Buffer.from(encoded, 'utf8');
  const bytes = Buffer.allocUnsafe(text.length);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const hi = text[i] === 0x25 ? hexDigit(text[i + 1]) : -1;
    const lo = hi >= 0 ? hexDigit(text[i + 2]) : -1;
    if (lo >= 0) {
      bytes[n++] = hi * 16 + lo;
      i += 2;
    } else bytes[n++] = text[i]!;
  }
  return decodeCharset(bytes.subarray(0, n), charset || 'utf-8');
}

function hexDigit(b: number | undefined): number {
  if (b === undefined) return -1;
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x41 && b <= 0x46) return b - 0x37;
  if (b >= 0x61 && b <= 0x66) return b - 0x57;
  return -1;
}
