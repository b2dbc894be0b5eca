/**
 * Character classes of RFC 9051 9 (formal syntax), as 256-entry tables so the
 * per-byte loops stay cheap. Bytes >= 0x80 are in none of them: atoms, tags
 * and keywords are 7-bit (CHAR = %x01-7F).
 *
 *   atom-specials = "(" / ")" / "{" / SP / CTL / list-wildcards / quoted-specials / resp-specials
 *   list-wildcards = "%" / "*"; quoted-specials = DQUOTE / "\"; resp-specials = "]"
 *   ATOM-CHAR    = <any CHAR except atom-specials>
 *   ASTRING-CHAR = ATOM-CHAR / resp-specials
 *   tag          = 1*<any ASTRING-CHAR except "+">
 *   list-char    = ATOM-CHAR / list-wildcards / resp-specials
 */

function table(pred: (b: number) => boolean): Uint8Array {
  const t = new Uint8Array(256);
  for (let b = 0; b < 256; b++) t[b] = pred(b) ? 1 : 0;
  return t;
}

const ATOM_SPECIALS = new Set([...'(){ %*"\\]'].map((c) => c.charCodeAt(0)));
const isCtl = (b: number): boolean => b < 0x20 || b === 0x7f;

export const ATOM_CHAR = table((b) => b < 0x80 && b !== 0 && !isCtl(b) && !ATOM_SPECIALS.has(b));
export const ASTRING_CHAR = table((b) => ATOM_CHAR[b] === 1 || b === 0x5d);
export const TAG_CHAR = table((b) => ASTRING_CHAR[b] === 1 && b !== 0x2b);
export const LIST_CHAR = table((b) => ASTRING_CHAR[b] === 1 || b === 0x25 || b === 0x2a);
/** Letters, digits, "." and "-": command names, fetch attributes, search keys, options. */
export const KEYWORD_CHAR = table((b) => /[A-Za-z0-9.-]/.test(String.fromCharCode(b)) && b < 0x80);
export const ALPHA = table((b) => (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a));
export const DIGIT = table((b) => b >= 0x30 && b <= 0x39);

/** Upper case for ASCII letters only ('ſ'.toUpperCase() is 'S'; keywords must not match that way). */
export function asciiUpper(s: string): string {
  return s.replace(/[a-z]+/g, (m) => m.toUpperCase());
}

/** The tag at the start of a command line, or null when it is missing or has a byte a tag may not have. */
export function tagOf(line: Buffer): string | null {
  let end = line.indexOf(0x20);
  if (end < 0) end = line.length;
  if (end === 0) return null;
  for (let i = 0; i < end; i++) if (TAG_CHAR[line[i]!] !== 1) return null;
  return line.toString('latin1', 0, end);
}
