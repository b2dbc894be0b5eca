/**
 * Sequence sets (RFC 9051 9; "$": RFC 5182 2.1, SEARCHRES):
 *
 *   sequence-set = (seq-number / seq-range) ["," sequence-set] / "$"
 *   seq-range    = seq-number ":" seq-number
 *   seq-number   = nz-number / "*"
 *
 * The type parameter says what the numbers are: message sequence numbers or
 * UIDs (src/lib/ids.ts), so a UID set cannot be used as a sequence set.
 * Ranges are kept as written ("4:2" is the same as "2:4"; "*" is the largest
 * number in use, only the session knows it).
 */
import type { SeqNum, Uid } from '../../../lib/ids.ts';
import { nzNumber } from './primitives.ts';
import type { Scanner } from './scanner.ts';

const STAR = 0x2a;
const DOLLAR = 0x24;
const COLON = 0x3a;
const COMMA = 0x2c;

export type SeqBound<N extends SeqNum | Uid> = N | '*';

export interface SeqRange<N extends SeqNum | Uid> {
  readonly first: SeqBound<N>;
  /** Equal to `first` for a single number. */
  readonly last: SeqBound<N>;
}

export interface SequenceSet<N extends SeqNum | Uid> {
  readonly ranges: readonly SeqRange<N>[];
  /** "$" was given: the result saved by SEARCH RETURN (SAVE) (RFC 5182), joined with the ranges. */
  readonly saved: boolean;
}

export interface SequenceSetRules {
  /** "$" allowed (everywhere but QRESYNC's known sets). */
  readonly saved?: boolean;
  /** "*" allowed (RFC 7162 3.2.5: not in QRESYNC's known-uids). */
  readonly star?: boolean;
}

/** True when a sequence set may start with `b`. */
export function startsSequenceSet(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || b === STAR || b === DOLLAR;
}

function seqNumber<N extends SeqNum | Uid>(s: Scanner, star: boolean): SeqBound<N> {
  if (s.eat(STAR)) {
    if (!star) s.fail('"*" is not allowed in this set');
    return '*';
  }
  return nzNumber(s, 'message number') as N;
}

export function sequenceSet<N extends SeqNum | Uid>(s: Scanner, rules: SequenceSetRules = {}): SequenceSet<N> {
  const { saved: allowSaved = true, star = true } = rules;
  const ranges: SeqRange<N>[] = [];
  let saved = false;
  do {
    if (s.eat(DOLLAR)) {
      if (!allowSaved) s.fail('"$" is not allowed in this set');
      saved = true;
      continue;
    }
    if (!startsSequenceSet(s.peek())) s.fail('Expected a sequence set');
    const first = seqNumber<N>(s, star);
    const last = s.eat(COLON) ? seqNumber<N>(s, star) : first;
    ranges.push({ first, last });
  } while (s.eat(COMMA));
  return { ranges, saved };
}
