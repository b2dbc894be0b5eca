/**
 * Mailbox names (RFC 9051 5.1): how they are checked, spelled and matched.
 *
 * Names are stored as UTF-8 text (decoding modified UTF-7, RFC 9051 5.1.3, is
 * the IMAP layer's job), in Unicode NFC (RFC 5198 Net-Unicode), with "/" as
 * the hierarchy delimiter (the one DEFAULT_MAILBOXES and mailboxes.name use).
 * "INBOX" is case-insensitive (RFC 9051 5.1), also as the first level of a
 * name: "inbox/Work" is stored as "INBOX/Work".
 */
import { InvalidInputError } from '../lib/errors.ts';
import type { MailboxId, UidValidity } from '../lib/ids.ts';

/** The hierarchy delimiter (RFC 9051 6.3.9: LIST's delimiter). */
export const DELIMITER = '/';

/** Octets of UTF-8 a name may take; levels are limited by the name only. */
export const MAX_NAME_OCTETS = 1000;

// Controls (C0, DEL, C1), lone surrogates, and the LIST wildcards "%" and "*"
// (RFC 9051 5.1: legal but unusable with LIST, so refused).
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f%*]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export interface NameOptions {
  /**
   * CREATE only (RFC 9051 6.3.4): a trailing delimiter declares that the
   * client means to create names below; servers that need no such
   * declaration ignore it.
   */
  allowTrailingDelimiter?: boolean;
}

/** The name as stored: checked, NFC, INBOX spelled INBOX. Throws InvalidInputError. */
export function normalizeMailboxName(name: string, opts: NameOptions = {}): string {
  let n = name.normalize('NFC');
  if (opts.allowTrailingDelimiter && n.endsWith(DELIMITER) && n.length > 1) n = n.slice(0, -1);
  if (n === '') throw new InvalidInputError('empty mailbox name');
  if (FORBIDDEN.test(n)) throw new InvalidInputError(`mailbox name ${JSON.stringify(name)} contains a character that is not allowed`);
  if (Buffer.byteLength(n, 'utf8') > MAX_NAME_OCTETS) throw new InvalidInputError(`mailbox name longer than ${MAX_NAME_OCTETS} octets`);
  const levels = n.split(DELIMITER);
  if (levels.some((l) => l === '')) throw new InvalidInputError(`mailbox name ${JSON.stringify(name)} has an empty level`);
  if (levels[0]!.toUpperCase() === 'INBOX') levels[0] = 'INBOX';
  return levels.join(DELIMITER);
}

/** The superiors of a name, outermost first: "a/b/c" -> ["a", "a/b"]. */
export function superiorsOf(name: string): string[] {
  const levels = name.split(DELIMITER);
  return levels.slice(0, -1).map((_, i) => levels.slice(0, i + 1).join(DELIMITER));
}

/** True when `name` is strictly below `ancestor` ("a/b" is below "a"; "ab" is not). */
export function isBelow(name: string, ancestor: string): boolean {
  return name.length > ancestor.length + 1 && name.startsWith(ancestor + DELIMITER);
}

/** `name` renamed from `from` to `to` (name is `from` or below it). */
export function renamedName(name: string, from: string, to: string): string {
  return to + name.slice(from.length);
}

/**
 * The mailbox's OBJECTID MAILBOXID (RFC 8474 4.1): 1-255 of ALPHA / DIGIT /
 * "_" / "-", stable for the mailbox's life (kept across RENAME, never reused:
 * both the row id and the UIDVALIDITY are unique and never change).
 */
export function mailboxObjectId(id: MailboxId, uidValidity: UidValidity): string {
  return `M${id.toString(36)}-${uidValidity.toString(36)}`;
}

/**
 * LIST pattern matching (RFC 9051 6.3.9): "*" matches any characters, "%"
 * any except the delimiter; everything else literally (INBOX case-insensitively).
 * `pattern` is reference and mailbox argument already joined by the caller.
 */
export function matchMailboxPattern(name: string, pattern: string): boolean {
  let p = pattern.normalize('NFC');
  if (name === 'INBOX' || name.startsWith('INBOX' + DELIMITER)) {
    let k = 0;
    while (k < 5 && k < p.length && p[k]!.toUpperCase() === 'INBOX'[k]) k++;
    p = 'INBOX'.slice(0, k) + p.slice(k);
  }
  const re = p.replace(/[.*+?^${}()|[\]\\%/]/g, (c) => (c === '*' ? '.*' : c === '%' ? '[^/]*' : `\\${c}`));
  return new RegExp(`^${re}$`, 's').test(name);
}
