/**
 * Commands on messages name them by sequence number, or by UID with the UID
 * prefix (RFC 9051 6.4.9). The set's type follows: a `uid: true` command has
 * a SequenceSet<Uid>, a `uid: false` one a SequenceSet<SeqNum>.
 */
import type { SeqNum, Uid } from '../../../lib/ids.ts';
import type { Scanner } from './scanner.ts';
import { sequenceSet, type SequenceSet } from './sequence-set.ts';

export type Numbered =
  | { readonly uid: false; readonly set: SequenceSet<SeqNum> }
  | { readonly uid: true; readonly set: SequenceSet<Uid> };

/** SP sequence-set, typed by `uid`. */
export function numberedSet(s: Scanner, uid: boolean): Numbered {
  s.sp();
  return uid ? { uid: true, set: sequenceSet<Uid>(s) } : { uid: false, set: sequenceSet<SeqNum>(s) };
}
