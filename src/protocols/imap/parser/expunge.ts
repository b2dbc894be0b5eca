/**
 * EXPUNGE (RFC 9051 6.4.3) and UID EXPUNGE (RFC 9051 6.4.9, UIDPLUS RFC 4315 2.1):
 *
 *   expunge     = "EXPUNGE"
 *   uid-expunge = "UID" SP "EXPUNGE" SP sequence-set
 */
import type { Uid } from '../../../lib/ids.ts';
import type { Scanner } from './scanner.ts';
import { sequenceSet, type SequenceSet } from './sequence-set.ts';

export type ExpungeCommand =
  | { readonly name: 'EXPUNGE'; readonly tag: string; readonly uid: false }
  | { readonly name: 'EXPUNGE'; readonly tag: string; readonly uid: true; readonly set: SequenceSet<Uid> };

export function expunge(s: Scanner, tag: string, uid: boolean): ExpungeCommand {
  if (!uid) {
    if (!s.atEnd()) s.fail('EXPUNGE takes no arguments (UID EXPUNGE takes a UID set)');
    return { name: 'EXPUNGE', tag, uid: false };
  }
  s.sp();
  return { name: 'EXPUNGE', tag, uid: true, set: sequenceSet<Uid>(s) };
}
