/**
 * Search keys (RFC 9051 6.4.4 and 9 search-key), with the extensions:
 *
 *   NEW, OLD, RECENT                          IMAP4rev1 (RFC 3501 6.4.4)
 *   MODSEQ [SP entry-name SP entry-type-req] SP mod-sequence-valzer   RFC 7162 3.1.5
 *   OLDER / YOUNGER SP nz-number              WITHIN, RFC 5032 3
 *   EMAILID / THREADID SP objectid            OBJECTID, RFC 8474 6
 *   SAVEDBEFORE / SAVEDON / SAVEDSINCE SP date, SAVEDATESUPPORTED   SAVEDATE, RFC 8514 4.2
 *   sequence-set including "$"                SEARCHRES, RFC 5182 2.1
 *
 * A bare sequence set is message sequence numbers even in UID SEARCH; UID
 * takes UIDs (RFC 9051 6.4.9). Nesting (NOT, OR, parentheses) is limited so
 * that hostile input cannot exhaust the stack.
 */
import type { SeqNum, Uid } from '../../../lib/ids.ts';
import { date, type ImapDate } from './date.ts';
import { flag } from './flags.ts';
import { astring, atom, modSequence, number64Clamped, nzNumber, parenList, quoted } from './primitives.ts';
import type { Scanner } from './scanner.ts';
import { sequenceSet, startsSequenceSet, type SequenceSet } from './sequence-set.ts';

/** Keys without arguments. */
export const FLAG_KEYS = [
  'ALL',
  'ANSWERED',
  'DELETED',
  'DRAFT',
  'FLAGGED',
  'SEEN',
  'UNANSWERED',
  'UNDELETED',
  'UNDRAFT',
  'UNFLAGGED',
  'UNSEEN',
  'NEW',
  'OLD',
  'RECENT',
  'SAVEDATESUPPORTED',
] as const;
export const TEXT_KEYS = ['BCC', 'BODY', 'CC', 'FROM', 'SUBJECT', 'TEXT', 'TO'] as const;
export const DATE_KEYS = ['BEFORE', 'ON', 'SINCE', 'SENTBEFORE', 'SENTON', 'SENTSINCE', 'SAVEDBEFORE', 'SAVEDON', 'SAVEDSINCE'] as const;

type FlagKey = (typeof FLAG_KEYS)[number];
type TextKey = (typeof TEXT_KEYS)[number];
type DateKey = (typeof DATE_KEYS)[number];

/** RFC 7162 3.1.5: the metadata item whose mod-sequence is compared. */
export interface ModSeqEntry {
  /** The flag of `"/flags/<flag>"`, system flags in canonical case. */
  readonly flag: string;
  readonly type: 'priv' | 'shared' | 'all';
}

export type SearchKey =
  | { readonly key: FlagKey }
  | { readonly key: TextKey; readonly value: string }
  | { readonly key: 'HEADER'; readonly field: string; readonly value: string }
  | { readonly key: 'KEYWORD' | 'UNKEYWORD'; readonly flag: string }
  | { readonly key: DateKey; readonly date: ImapDate }
  | { readonly key: 'LARGER' | 'SMALLER'; readonly size: number }
  | { readonly key: 'OLDER' | 'YOUNGER'; readonly seconds: number }
  | { readonly key: 'SEQ'; readonly set: SequenceSet<SeqNum> }
  | { readonly key: 'UID'; readonly set: SequenceSet<Uid> }
  | { readonly key: 'MODSEQ'; readonly modseq: bigint; readonly entry: ModSeqEntry | null }
  | { readonly key: 'EMAILID' | 'THREADID'; readonly id: string }
  | { readonly key: 'NOT'; readonly operand: SearchKey }
  | { readonly key: 'OR'; readonly left: SearchKey; readonly right: SearchKey }
  /** A parenthesized list, or the keys of the command: all must match. */
  | { readonly key: 'AND'; readonly operands: readonly SearchKey[] };

/** Turns the bytes of a search string into text, in the command's CHARSET. */
export type SearchTextDecoder = (s: Scanner, bytes: Buffer, what: string) => string;

const FLAG_SET: ReadonlySet<string> = new Set(FLAG_KEYS);
const TEXT_SET: ReadonlySet<string> = new Set(TEXT_KEYS);
const DATE_SET: ReadonlySet<string> = new Set(DATE_KEYS);

/** RFC 5322 3.6.8 field name: printable US-ASCII except ":". */
/** Keys followed by SP and arguments. */
const ARGUMENT_KEYS: ReadonlySet<string> = new Set([
  ...TEXT_KEYS,
  ...DATE_KEYS,
  ...['HEADER', 'KEYWORD', 'UNKEYWORD', 'LARGER', 'SMALLER', 'OLDER', 'YOUNGER', 'UID', 'NOT', 'OR', 'MODSEQ', 'EMAILID', 'THREADID'],
]);

const FIELD_NAME = /^[\x21-\x39\x3b-\x7e]+$/;
/** RFC 8474 4: objectid = 1*255(ALPHA / DIGIT / "_" / "-"). */
const OBJECT_ID = /^[A-Za-z0-9_-]{1,255}$/;

/** Several keys: one of them, or their AND. */
export function allOf(keys: SearchKey[]): SearchKey {
  return keys.length === 1 ? keys[0]! : { key: 'AND', operands: keys };
}

export function searchKey(s: Scanner, text: SearchTextDecoder): SearchKey {
  return s.nested(() => {
    const b = s.peek();
    if (b === 0x28) return allOf(parenList(s, () => searchKey(s, text), false, 'search key list'));
    if (startsSequenceSet(b)) return { key: 'SEQ', set: sequenceSet<SeqNum>(s) };
    const key = s.keyword();
    if (FLAG_SET.has(key)) return { key: key as FlagKey };
    if (!ARGUMENT_KEYS.has(key)) s.fail(key ? `Unknown search key ${key.slice(0, 32)}` : 'Expected a search key');
    s.sp(`SP after ${key}`);
    if (TEXT_SET.has(key)) return { key: key as TextKey, value: text(s, astring(s, 'a search string'), 'search string') };
    if (DATE_SET.has(key)) return { key: key as DateKey, date: date(s) };
    switch (key) {
      case 'HEADER': {
        const field = astring(s, 'a header field name').toString('latin1');
        if (!FIELD_NAME.test(field)) s.fail('Invalid header field name');
        s.sp();
        return { key, field, value: text(s, astring(s, 'a search string'), 'search string') };
      }
      case 'KEYWORD':
      case 'UNKEYWORD':
        return { key, flag: atom(s, 'a keyword') };
      case 'LARGER':
      case 'SMALLER':
        return { key, size: number64Clamped(s, 'size') };
      case 'OLDER':
      case 'YOUNGER':
        return { key, seconds: nzNumber(s, 'interval') };
      case 'UID':
        return { key, set: sequenceSet<Uid>(s) };
      case 'NOT':
        return { key, operand: searchKey(s, text) };
      case 'OR': {
        const left = searchKey(s, text);
        s.sp('SP between OR operands');
        return { key, left, right: searchKey(s, text) };
      }
      case 'MODSEQ':
        return modseqKey(s);
      case 'EMAILID':
      case 'THREADID': {
        const id = atom(s, 'an object id');
        if (!OBJECT_ID.test(id)) s.fail('Invalid object id (RFC 8474 4)');
        return { key, id };
      }
      default:
        return s.fail(`Unknown search key ${key}`); // not reached: ARGUMENT_KEYS lists every case
    }
  });
}

/** MODSEQ [SP entry-name SP entry-type-req] SP mod-sequence-valzer; entry-name = DQUOTE "/flags/" attr-flag DQUOTE. */
function modseqKey(s: Scanner): SearchKey {
  let entry: ModSeqEntry | null = null;
  if (s.peek() === 0x22) {
    const name = quoted(s).toString('latin1');
    if (!name.toLowerCase().startsWith('/flags/')) s.fail('MODSEQ entry name must be "/flags/<flag>"');
    const flagText = name.slice('/flags/'.length);
    const parsedFlag = parseFlagText(s, flagText);
    s.sp();
    const type = s.keyword().toLowerCase();
    if (type !== 'priv' && type !== 'shared' && type !== 'all') s.fail('MODSEQ entry type must be priv, shared or all');
    s.sp();
    entry = { flag: parsedFlag, type };
  }
  return { key: 'MODSEQ', modseq: modSequence(s, 'mod-sequence', true), entry };
}

/** The flag inside a MODSEQ entry name, checked with the flag rule. */
function parseFlagText(s: Scanner, text: string): string {
  const sub = s.sub(Buffer.from(text, 'latin1'));
  const f = flag(sub);
  if (!sub.atEnd()) s.fail('Invalid flag in MODSEQ entry name');
  return f;
}
