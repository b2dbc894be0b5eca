/**
 * Mailbox names on the wire (RFC 9051 5.1, 5.1.3; RFC 3501 5.1.3; RFC 6855 3).
 *
 * IMAP4rev1 clients without UTF8=ACCEPT send names in modified UTF-7: printable
 * US-ASCII (0x20-0x7E) stands for itself except "&", which is written "&-";
 * anything else is UTF-16 in modified BASE64 (RFC 2152 with "," for "/", no
 * padding) between "&" and "-". Clients that enabled UTF8=ACCEPT or IMAP4rev2
 * send UTF-8, where "&" is an ordinary character.
 *
 * Inside the server a name is a JavaScript string in Unicode NFC (RFC 6855 3,
 * RFC 5198 2: Net-Unicode), without control characters. "INBOX" in any case
 * is the name INBOX (RFC 9051 5.1).
 */

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,';
const B64_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) B64_VALUE[B64.charCodeAt(i)] = i;

const AMP = 0x26;

/** Control characters (C0, DEL, C1) are not allowed in names (RFC 5198 2). */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Decodes modified UTF-7 (RFC 3501 5.1.3). Null when the text is not valid,
 * canonical modified UTF-7: raw characters outside 0x20-0x7E, a bare or
 * unterminated "&", base64 encoding printable ASCII, nonzero padding bits,
 * an unpaired surrogate.
 */
export function decodeModifiedUtf7(text: string): string | null {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return null;
    if (c !== AMP) {
      out += text[i];
      i++;
      continue;
    }
    const end = text.indexOf('-', i + 1);
    if (end < 0) return null;
    if (end === i + 1) {
      out += '&';
      i = end + 1;
      continue;
    }
    const decoded = decodeShifted(text, i + 1, end);
    if (decoded === null) return null;
    out += decoded;
    i = end + 1;
  }
  return out;
}

/** The UTF-16 text of one modified BASE64 run, or null. */
function decodeShifted(text: string, from: number, to: number): string | null {
  let bits = 0;
  let nbits = 0;
  const units: number[] = [];
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? B64_VALUE[c]! : -1;
    if (v < 0) return null;
    bits = ((bits << 6) | v) & 0xffffff;
    nbits += 6;
    if (nbits >= 16) {
      nbits -= 16;
      units.push((bits >> nbits) & 0xffff);
    }
  }
  // Leftover bits: fewer than 6 (else a character too many) and all zero.
  if (nbits >= 6 || (bits & ((1 << nbits) - 1)) !== 0 || units.length === 0) return null;
  let out = '';
  for (let k = 0; k < units.length; k++) {
    const u = units[k]!;
    if (u >= 0x20 && u <= 0x7e) return null; // printable ASCII must stand for itself
    if (u >= 0xd800 && u <= 0xdbff) {
      const lo = units[k + 1];
      if (lo === undefined || lo < 0xdc00 || lo > 0xdfff) return null;
      out += String.fromCharCode(u, lo);
      k++;
    } else if (u >= 0xdc00 && u <= 0xdfff) {
      return null;
    } else {
      out += String.fromCharCode(u);
    }
  }
  return out;
}

/** Encodes a name in modified UTF-7 (RFC 3501 5.1.3), the canonical form decodeModifiedUtf7 accepts. */
export function encodeModifiedUtf7(name: string): string {
  let out = '';
  let i = 0;
  while (i < name.length) {
    const c = name.charCodeAt(i);
    if (c >= 0x20 && c <= 0x7e) {
      out += c === AMP ? '&-' : name[i];
      i++;
      continue;
    }
    let j = i;
    while (j < name.length && (name.charCodeAt(j) < 0x20 || name.charCodeAt(j) > 0x7e)) j++;
    out += `&${encodeShifted(name.slice(i, j))}-`;
    i = j;
  }
  return out;
}

function encodeShifted(run: string): string {
  let out = '';
  let bits = 0;
  let nbits = 0;
  for (let k = 0; k < run.length; k++) {
    bits = ((bits << 16) | run.charCodeAt(k)) & 0xffffff;
    nbits += 16;
    while (nbits >= 6) {
      nbits -= 6;
      out += B64[(bits >> nbits) & 0x3f];
    }
  }
  if (nbits > 0) out += B64[(bits << (6 - nbits)) & 0x3f];
  return out;
}

/**
 * A mailbox name as sent by the client (the bytes of its astring), decoded.
 * Returns the reason as `{ error }` when it is not acceptable.
 */
export function decodeMailboxName(raw: Buffer, utf8: boolean): { name: string } | { error: string } {
  let name: string;
  if (utf8) {
    try {
      name = UTF8.decode(raw);
    } catch {
      return { error: 'Mailbox name is not valid UTF-8' };
    }
  } else {
    for (const b of raw) if (b >= 0x80) return { error: 'Mailbox name has 8-bit characters: use modified UTF-7 or ENABLE UTF8=ACCEPT' };
    const decoded = decodeModifiedUtf7(raw.toString('latin1'));
    if (decoded === null) return { error: 'Mailbox name is not valid modified UTF-7 (RFC 3501 5.1.3)' };
    name = decoded;
  }
  if (CONTROL.test(name)) return { error: 'Mailbox name has control characters' };
  name = name.normalize('NFC');
  return { name: /^inbox$/i.test(name) ? 'INBOX' : name };
}

/** A name as the server sends it: modified UTF-7 for IMAP4rev1 clients, UTF-8 when enabled. */
export function encodeMailboxName(name: string, utf8: boolean): string {
  return utf8 ? name : encodeModifiedUtf7(name);
}
