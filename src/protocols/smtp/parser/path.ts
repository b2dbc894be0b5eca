/**
 * RFC 5321 4.1.2 paths, with the UTF-8 of RFC 6531 3.3:
 *
 *   Reverse-path = Path / "<>"
 *   Forward-path = Path
 *   Path         = "<" [ A-d-l ":" ] Mailbox ">"
 *   A-d-l        = At-domain *( "," At-domain )     ; source route, ignored (RFC 5321 C)
 *   At-domain    = "@" Domain
 *   Mailbox      = Local-part "@" ( Domain / address-literal )
 *   Local-part   = Dot-string / Quoted-string
 *   Dot-string   = Atom *("."  Atom)
 *   Quoted-string = DQUOTE *QcontentSMTP DQUOTE
 *
 * Errors are reported with the reply of the caller's `fail`: 501 5.1.7 for
 * MAIL, 501 5.1.3 for RCPT (RFC 3463 3.2).
 */
import { isValidLocalPart } from '../../../lib/address.ts';
import { BAD_RECIPIENT_SYNTAX, BAD_SENDER_SYNTAX } from '../replies.ts';
import type { ForwardPath, Host, Mailbox, ReversePath } from './command.ts';
import { addressLiteral, domain, hostText } from './domain.ts';
import { fail, isAtext, isNonAscii, type Fail, type Scanner } from './scanner.ts';

/** RFC 5321 4.5.3.1.1: "The maximum total length of a user name or other local-part is 64 octets." */
const MAX_LOCAL_PART_OCTETS = 64;
/** RFC 5321 4.5.3.1.3: "The maximum total length of a reverse-path or forward-path is 256 octets (including the punctuation and element separators)." */
const MAX_PATH_OCTETS = 256;

export interface PathContext {
  /** Non-ASCII allowed in the address (RFC 6531 3.3). */
  utf8: boolean;
  fail: Fail;
}

export function pathContext(role: 'sender' | 'recipient', utf8: boolean): PathContext {
  const base = role === 'sender' ? BAD_SENDER_SYNTAX : BAD_RECIPIENT_SYNTAX;
  return { utf8, fail: (text) => fail(base, text) };
}

const octets = (s: string): number => Buffer.byteLength(s, 'utf8');

/** Reverse-path = Path / "<>"; null for the null path. */
export function reversePath(sc: Scanner, ctx: PathContext): ReversePath {
  if (sc.literal('<>')) return null;
  return path(sc, ctx);
}

/** "<Postmaster>" (RFC 5321 4.1.1.3, case-insensitive) / Forward-path. */
export function forwardPath(sc: Scanner, ctx: PathContext): ForwardPath {
  if (sc.literal('<Postmaster>')) return { kind: 'postmaster' };
  if (sc.text.startsWith('<>', sc.pos)) ctx.fail('The null path <> is not a recipient');
  return path(sc, ctx);
}

/** Path = "<" [ A-d-l ":" ] Mailbox ">" */
export function path(sc: Scanner, ctx: PathContext): Mailbox {
  const start = sc.pos;
  if (!sc.literal('<')) ctx.fail('Expected "<" (RFC 5321 4.1.2: the address must be in angle brackets)');
  if (sc.peek() === '@') adl(sc, ctx);
  const box = mailbox(sc, ctx);
  if (!sc.literal('>')) ctx.fail('Expected ">" after the address');
  if (octets(sc.text.slice(start, sc.pos)) > MAX_PATH_OCTETS) {
    ctx.fail('Path longer than 256 octets (RFC 5321 4.5.3.1.3)');
  }
  return box;
}

/**
 * A-d-l ":" - the source route of RFC 821. RFC 5321 3.3 and C: servers
 * SHOULD accept and ignore it, so it is checked for syntax and dropped.
 */
function adl(sc: Scanner, ctx: PathContext): void {
  do atDomain(sc, ctx);
  while (sc.literal(','));
  if (!sc.literal(':')) ctx.fail('Expected ":" after the source route');
}

/** At-domain = "@" Domain */
function atDomain(sc: Scanner, ctx: PathContext): void {
  if (!sc.literal('@')) ctx.fail('Invalid source route');
  domain(sc, { utf8: ctx.utf8, fail: ctx.fail });
}

/** Mailbox = Local-part "@" ( Domain / address-literal ) */
export function mailbox(sc: Scanner, ctx: PathContext): Mailbox {
  const start = sc.pos;
  const { local, quoted } = localPart(sc, ctx);
  if (!sc.literal('@')) ctx.fail('Expected "@" and a domain after the local part');
  const host: Host =
    sc.peek() === '[' ? addressLiteral(sc, ctx.fail) : { kind: 'domain', domain: domain(sc, { utf8: ctx.utf8, fail: ctx.fail }) };
  const utf8 = /[^\x00-\x7f]/.test(sc.text.slice(start, sc.pos));
  return { kind: 'mailbox', local, quoted, domain: hostText(host), host, utf8 };
}

/** Local-part = Dot-string / Quoted-string; returns the decoded local part. */
export function localPart(sc: Scanner, ctx: PathContext): { local: string; quoted: boolean } {
  if (sc.peek() === '"') {
    const local = quotedString(sc, ctx);
    if (local === '') ctx.fail('Empty local part');
    // RFC 5321 4.1.2: a Quoted-string that is also a Dot-string names the same mailbox.
    return { local, quoted: !isDotString(local) };
  }
  return { local: dotString(sc, ctx), quoted: false };
}

function isDotString(local: string): boolean {
  // address.ts keeps addresses in lower case; its atext has no upper-case letters.
  return isValidLocalPart(local.toLowerCase());
}

function checkLocalPartLength(written: string, ctx: PathContext): void {
  if (octets(written) > MAX_LOCAL_PART_OCTETS) ctx.fail('Local part longer than 64 octets (RFC 5321 4.5.3.1.1)');
}

/** Dot-string = Atom *("." Atom); Atom = 1*atext (RFC 6531 3.3: atext =/ UTF8-non-ascii). */
export function dotString(sc: Scanner, ctx: PathContext): string {
  const token = sc.takeWhile((ch) => isAtext(ch) || ch === '.' || (ctx.utf8 && isNonAscii(ch)));
  if (!token) ctx.fail('Expected a local part');
  checkLocalPartLength(token, ctx);
  if (!isDotString(token)) ctx.fail('Invalid local part');
  return token;
}

/** qtextSMTP = %d32-33 / %d35-91 / %d93-126 (RFC 6531 3.3: / UTF8-non-ascii) */
const isQtextSMTP = (ch: string, utf8: boolean): boolean =>
  /^[\x20\x21\x23-\x5b\x5d-\x7e]$/.test(ch) || (utf8 && isNonAscii(ch) && !/\p{Cc}/u.test(ch));

/**
 * Quoted-string = DQUOTE *QcontentSMTP DQUOTE; QcontentSMTP = qtextSMTP /
 * quoted-pairSMTP; quoted-pairSMTP = %d92 %d32-126. Returns the content with
 * the quoting removed.
 */
export function quotedString(sc: Scanner, ctx: PathContext): string {
  const start = sc.pos;
  if (!sc.literal('"')) ctx.fail('Expected a quoted string');
  let out = '';
  for (;;) {
    const ch = sc.next();
    if (ch === '"') break;
    if (ch === '\\') {
      const quoted = sc.next();
      if (!/^[\x20-\x7e]$/.test(quoted)) ctx.fail('Invalid quoted pair in local part');
      out += quoted;
    } else if (isQtextSMTP(ch, ctx.utf8)) {
      out += ch;
    } else {
      ctx.fail(ch === '' ? 'Unterminated quoted string' : 'Invalid character in quoted local part');
    }
  }
  checkLocalPartLength(sc.text.slice(start, sc.pos), ctx);
  return out;
}
