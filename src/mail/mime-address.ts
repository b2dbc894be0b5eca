/**
 * Address lists (RFC 5322 3.4, with the obsolete forms of 4.4) in the raw
 * form IMAP ENVELOPE returns (RFC 9051 7.5.2): display names and local parts
 * unquoted but NOT decoded (encoded words stay), groups as start/end markers.
 *
 * Lenient, one pass, linear in the input: what cannot be read becomes an
 * address with "MISSING_MAILBOX" / "MISSING_DOMAIN" (Dovecot's placeholders),
 * never NIL, since a NIL host would read as group syntax.
 */
import type { ImapAddress } from './mime-types.ts';

export const MISSING_MAILBOX = 'MISSING_MAILBOX';
export const MISSING_DOMAIN = 'MISSING_DOMAIN';

type TokenKind = 'word' | 'literal' | 'special';

interface Token {
  kind: TokenKind;
  /** Word: atom or quoted-string content; literal: "[...]" as written; special: the character. */
  value: string;
  /** Whitespace or a comment came before it. */
  spaced: boolean;
  /** The last comment before the next token (RFC 5322 3.2.2), if any. */
  comment?: string;
}

/** RFC 5322 3.2.3 specials (except the backslash, an atom character here) and whitespace: what ends an atom. */
const ENDS_ATOM = new Uint8Array(128);
for (const c of '()<>[]:;@,." \t\r\n') ENDS_ATOM[c.charCodeAt(0)] = 1;
const SPECIAL = new Uint8Array(128);
for (const c of '<>:;@,.') SPECIAL[c.charCodeAt(0)] = 1;

function tokenize(s: string): { tokens: Token[]; trailingComment: string | undefined } {
  const tokens: Token[] = [];
  let spaced = false;
  let comment: string | undefined;
  let i = 0;
  while (i < s.length) {
    const code = s.charCodeAt(i);
    let kind: TokenKind;
    let value: string;
    if (code === 0x20 || code === 0x09 || code === 0x0d || code === 0x0a) {
      spaced = true;
      i++;
      continue;
    } else if (code === 0x28) {
      // "(" comment ")", nested, with quoted-pairs (RFC 5322 3.2.2)
      let depth = 0;
      let text = '';
      for (; i < s.length; i++) {
        const d = s[i]!;
        if (d === '\\' && i + 1 < s.length) {
          text += s[++i];
          continue;
        }
        if (d === '(' && depth++ === 0) continue;
        if (d === ')' && --depth === 0) {
          i++;
          break;
        }
        text += d;
      }
      comment = text.trim();
      spaced = true;
      continue;
    } else if (code === 0x22) {
      // quoted-string (RFC 5322 3.2.4)
      value = '';
      for (i++; i < s.length; i++) {
        const d = s[i]!;
        if (d === '\\' && i + 1 < s.length) value += s[++i];
        else if (d === '"') {
          i++;
          break;
        } else value += d;
      }
      kind = 'word';
    } else if (code === 0x5b) {
      // domain-literal (RFC 5322 3.4.1)
      const start = i;
      for (i++; i < s.length; i++) {
        if (s[i] === '\\') i++;
        else if (s[i] === ']') {
          i++;
          break;
        }
      }
      value = s.slice(start, Math.min(i, s.length));
      kind = 'literal';
    } else if (code < 128 && SPECIAL[code]) {
      value = s[i]!;
      kind = 'special';
      i++;
    } else {
      const start = i;
      i++;
      while (i < s.length) {
        const c = s.charCodeAt(i);
        if (c < 128 && ENDS_ATOM[c]) break;
        i++;
      }
      value = s.slice(start, i);
      kind = 'word';
    }
    tokens.push(comment === undefined ? { kind, value, spaced } : { kind, value, spaced, comment });
    spaced = false;
    comment = undefined;
  }
  return { tokens, trailingComment: comment };
}

const isSpecial = (t: Token | undefined, c: string): boolean => t?.kind === 'special' && t.value === c;

/**
 * A phrase (RFC 5322 3.2.5, obs-phrase 4.1): words joined by one space where
 * the message had whitespace, "." attached; encoded words are kept as written.
 */
function phrase(tokens: readonly Token[]): string {
  let out = '';
  for (const t of tokens) {
    if (t.kind === 'word' || t.kind === 'literal') out += (out !== '' && t.spaced ? ' ' : '') + t.value;
    else if (t.value === '.') out += '.';
  }
  return out;
}

/** Words and dots without spaces: a local part or a domain (RFC 5322 3.4.1, obs-local-part, obs-domain). */
function joined(tokens: readonly Token[]): string {
  let out = '';
  let words = 0;
  for (const t of tokens) {
    if (t.kind === 'special' && t.value !== '.' && t.value !== '@') continue;
    // Two words with only whitespace between them ("john doe@x"): keep the space.
    if (t.kind === 'word' && t.spaced && words > 0 && !out.endsWith('.')) out += ' ';
    out += t.value;
    if (t.kind !== 'special') words++;
  }
  return out;
}

/** addr-spec (local "@" domain) -> mailbox and host; missing pieces get the placeholders. */
function addrSpec(tokens: readonly Token[]): { mailbox: string; host: string } | undefined {
  const at = tokens.findIndex((t) => isSpecial(t, '@'));
  if (at < 0) {
    const words = tokens.filter((t) => t.kind === 'word');
    if (words.length === 0) return undefined;
    if (words.length > 1 && tokens.slice(1).some((t) => t.spaced && t.kind === 'word')) return undefined;
    return { mailbox: joined(tokens), host: MISSING_DOMAIN };
  }
  return { mailbox: joined(tokens.slice(0, at)) || MISSING_MAILBOX, host: joined(tokens.slice(at + 1)) || MISSING_DOMAIN };
}

/** One mailbox (RFC 5322 3.4 name-addr / addr-spec) out of the tokens of one list element. */
function mailbox(tokens: readonly Token[], trailingComment: string | undefined): ImapAddress | undefined {
  if (tokens.length === 0) return undefined;
  const lt = tokens.findIndex((t) => isSpecial(t, '<'));
  if (lt >= 0) {
    const name = phrase(tokens.slice(0, lt)) || null;
    let gt = tokens.findIndex((t, k) => k > lt && isSpecial(t, '>'));
    if (gt < 0) gt = tokens.length;
    let inner = tokens.slice(lt + 1, gt);
    let adl: string | null = null;
    // obs-route (RFC 5322 4.4): "<@a,@b:user@host>"
    if (isSpecial(inner[0], '@')) {
      const colon = inner.findIndex((t) => isSpecial(t, ':'));
      if (colon >= 0) {
        adl = inner.slice(0, colon).map((t) => t.value).join('') || null;
        inner = inner.slice(colon + 1);
      }
    }
    const spec = addrSpec(inner) ?? { mailbox: MISSING_MAILBOX, host: MISSING_DOMAIN };
    return [name, adl, spec.mailbox, spec.host];
  }
  const spec = addrSpec(tokens);
  if (!spec) {
    const name = phrase(tokens);
    return name === '' ? undefined : [name, null, MISSING_MAILBOX, MISSING_DOMAIN];
  }
  // "user@host (Name)": the comment is the only name there is (RFC 5322 3.4 note).
  return [trailingComment || null, null, spec.mailbox, spec.host];
}

/** An address-list header value (From, To, Cc, ...) -> IMAP addresses, or null when it holds none. */
export function parseAddressList(value: string | undefined): ImapAddress[] | null {
  if (value === undefined) return null;
  const { tokens, trailingComment } = tokenize(value);
  const out: ImapAddress[] = [];
  let inGroup = false;
  let start = 0;
  let angle = false;
  let sawAddressChar = false;
  const element = (end: number, commentAfter: string | undefined): void => {
    const m = mailbox(tokens.slice(start, end), commentAfter);
    if (m) out.push(m);
  };
  for (let i = 0; i <= tokens.length; i++) {
    const t = tokens[i];
    // The comment before a separator belongs to the element it ends.
    const commentHere = t === undefined ? trailingComment : t.comment;
    if (t === undefined) {
      element(i, commentHere);
      break;
    }
    if (t.kind !== 'special') continue;
    if (t.value === '<') angle = true;
    else if (t.value === '>') angle = false;
    if (angle) continue;
    if (t.value === '@' || t.value === '<') sawAddressChar = true;
    if (t.value === ':' && !inGroup && !sawAddressChar) {
      // group = display-name ":" [group-list] ";" (RFC 5322 3.4)
      out.push([null, null, phrase(tokens.slice(start, i)), null]);
      inGroup = true;
      start = i + 1;
    } else if (t.value === ',' || t.value === ';') {
      element(i, commentHere);
      if (t.value === ';' && inGroup) {
        out.push([null, null, null, null]);
        inGroup = false;
      }
      start = i + 1;
      sawAddressChar = false;
    }
  }
  if (inGroup) out.push([null, null, null, null]);
  return out.length ? out : null;
}
