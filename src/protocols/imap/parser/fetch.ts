/**
 * FETCH and UID FETCH (RFC 9051 6.4.5; CONDSTORE/QRESYNC RFC 7162 3.1.4,
 * 3.2.6; BINARY RFC 3516 4.1; OBJECTID RFC 8474 5; SAVEDATE RFC 8514 4.1):
 *
 *   fetch = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" / fetch-att
 *           / "(" fetch-att *(SP fetch-att) ")") [fetch-modifiers]
 *   fetch-att = "ENVELOPE" / "FLAGS" / "INTERNALDATE" / "RFC822.SIZE" / "BODY" ["STRUCTURE"]
 *             / "UID" / "BODY" section [partial] / "BODY.PEEK" section [partial]
 *             / "BINARY" [".PEEK"] section-binary [partial] / "BINARY.SIZE" section-binary
 *             / "RFC822" / "RFC822.HEADER" / "RFC822.TEXT"            (IMAP4rev1)
 *             / "MODSEQ" / "EMAILID" / "THREADID" / "SAVEDATE"
 *   fetch-modifiers = SP "(" fetch-modifier *(SP fetch-modifier) ")"   RFC 4466 2.4
 *   fetch-modifier  = "CHANGEDSINCE" SP mod-sequence-value / "VANISHED"
 *
 * The macros are expanded (RFC 9051 6.4.5): ALL = FLAGS INTERNALDATE
 * RFC822.SIZE ENVELOPE, FAST = the first three, FULL = ALL and BODY.
 * VANISHED needs UID FETCH and CHANGEDSINCE (RFC 7162 3.2.6: else BAD).
 * CHANGEDSINCE 0 is accepted (it selects every message).
 */
import { section, sectionBinary, partial, type BodySection, type Partial } from './fetch-section.ts';
import { numberedSet, type Numbered } from './numbered.ts';
import { modSequence, parenList } from './primitives.ts';
import type { Scanner } from './scanner.ts';

export type * from './fetch-section.ts';

export const SIMPLE_FETCH_ITEMS = [
  'ENVELOPE',
  'FLAGS',
  'INTERNALDATE',
  'RFC822.SIZE',
  'BODYSTRUCTURE',
  'BODY',
  'UID',
  'RFC822',
  'RFC822.HEADER',
  'RFC822.TEXT',
  'MODSEQ',
  'EMAILID',
  'THREADID',
  'SAVEDATE',
] as const;

export type SimpleFetchItem = (typeof SIMPLE_FETCH_ITEMS)[number];

export type FetchAttribute =
  /** BODY (no section) is the non-extensible BODYSTRUCTURE. */
  | { readonly kind: SimpleFetchItem }
  /** BODY[section]<partial>; `peek`: BODY.PEEK, which does not set \Seen. */
  | { readonly kind: 'section'; readonly peek: boolean; readonly section: BodySection; readonly partial: Partial | null }
  /** BINARY[part]<partial> / BINARY.PEEK (RFC 3516 4.1). */
  | { readonly kind: 'binary'; readonly peek: boolean; readonly part: readonly number[]; readonly partial: Partial | null }
  | { readonly kind: 'binarySize'; readonly part: readonly number[] };

export type FetchCommand = {
  readonly name: 'FETCH';
  readonly tag: string;
  /** In the order given, macros expanded. */
  readonly items: readonly FetchAttribute[];
  /** The macro used, if any (ALL, FAST, FULL). */
  readonly macro: 'ALL' | 'FAST' | 'FULL' | null;
  /** RFC 7162 3.1.4 CHANGEDSINCE. */
  readonly changedSince: bigint | null;
  /** RFC 7162 3.2.6 VANISHED. */
  readonly vanished: boolean;
} & Numbered;

const SIMPLE: ReadonlySet<string> = new Set(SIMPLE_FETCH_ITEMS);

const MACROS = {
  FAST: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE'],
  ALL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE'],
  FULL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY'],
} as const satisfies Record<string, readonly SimpleFetchItem[]>;

export function fetchAttribute(s: Scanner): FetchAttribute {
  const word = s.keyword();
  const bracket = s.peek() === 0x5b;
  switch (word) {
    case 'BODY':
    case 'BODY.PEEK':
      if (!bracket) break;
      return { kind: 'section', peek: word === 'BODY.PEEK', section: section(s), partial: partial(s) };
    case 'BINARY':
    case 'BINARY.PEEK':
      return { kind: 'binary', peek: word === 'BINARY.PEEK', part: sectionBinary(s), partial: partial(s) };
    case 'BINARY.SIZE':
      return { kind: 'binarySize', part: sectionBinary(s) };
  }
  if (SIMPLE.has(word)) return { kind: word as SimpleFetchItem };
  return s.fail(word ? `Unknown FETCH item ${word}` : 'Expected a FETCH item');
}

export function fetch(s: Scanner, tag: string, uid: boolean): FetchCommand {
  const numbered = numberedSet(s, uid);
  s.sp();
  let items: FetchAttribute[];
  let macro: FetchCommand['macro'] = null;
  if (s.peek() === 0x28) {
    items = parenList(s, () => fetchAttribute(s), false, 'FETCH items');
  } else {
    const start = s.pos;
    const word = s.keyword();
    if ((word === 'ALL' || word === 'FAST' || word === 'FULL') && s.peek() !== 0x5b) {
      macro = word;
      items = MACROS[word].map((kind) => ({ kind }));
    } else {
      s.pos = start;
      items = [fetchAttribute(s)];
    }
  }
  const mods: { changedSince: bigint | null; vanished: boolean } = { changedSince: null, vanished: false };
  if (s.eat(0x20)) {
    parenList(
      s,
      () => {
        const word = s.keyword();
        if (word === 'CHANGEDSINCE' && mods.changedSince === null) {
          s.sp();
          mods.changedSince = modSequence(s, 'CHANGEDSINCE', true);
        } else if (word === 'VANISHED' && !mods.vanished) {
          mods.vanished = true;
        } else {
          s.fail(word === 'CHANGEDSINCE' || word === 'VANISHED' ? `${word} given twice` : 'Unknown FETCH modifier');
        }
      },
      false,
      'FETCH modifiers',
    );
  }
  if (mods.vanished && (!uid || mods.changedSince === null)) s.fail('VANISHED needs UID FETCH and CHANGEDSINCE (RFC 7162 3.2.6)');
  return { name: 'FETCH', tag, items, macro, ...mods, ...numbered };
}
