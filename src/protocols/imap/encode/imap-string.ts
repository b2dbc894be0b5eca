/**
 * IMAP strings in responses (RFC 9051 4.3, RFC 3501 4.3): quoted when that
 * is safe, else a literal. The result is text to be sent as UTF-8; a
 * literal's {n} counts those UTF-8 octets.
 */

export interface ImapStringOptions {
  /**
   * The client enabled UTF8=ACCEPT (RFC 9051 7.5.2 / RFC 6855 3): UTF-8 may
   * stand in quoted strings. Otherwise 8-bit text goes out as a literal.
   */
  utf8?: boolean;
}

export const NIL = 'NIL';

/**
 * Quoted only when every character is a plain TEXT-CHAR: no CR, LF or NUL,
 * no other control than TAB, no quoted-specials (" and \ could be escaped,
 * but like Dovecot we send such strings as literals, which every client
 * reads alike), and no 8-bit characters unless UTF8=ACCEPT.
 */
function quotable(s: string, utf8: boolean): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22 || c === 0x5c || c === 0x7f || (c < 0x20 && c !== 0x09)) return false;
    if (c > 0x7f && !utf8) return false;
  }
  return true;
}

/** string = quoted / literal (RFC 9051 9 Formal Syntax). */
export function imapString(s: string, opts: ImapStringOptions = {}): string {
  if (quotable(s, opts.utf8 === true)) return `"${s}"`;
  return `{${Buffer.byteLength(s, 'utf8')}}\r\n${s}`;
}

/** nstring = string / nil. */
export function nstring(s: string | null | undefined, opts: ImapStringOptions = {}): string {
  return s === null || s === undefined ? NIL : imapString(s, opts);
}
