/**
 * COPY and MOVE (RFC 9051 6.4.7, 6.4.8; MOVE: RFC 6851 3), with their UID forms:
 *
 *   copy = "COPY" SP sequence-set SP mailbox
 *   move = "MOVE" SP sequence-set SP mailbox
 */
import { numberedSet, type Numbered } from './numbered.ts';
import { mailbox } from './primitives.ts';
import type { Scanner } from './scanner.ts';

export type CopyCommand = {
  readonly name: 'COPY' | 'MOVE';
  readonly tag: string;
  readonly mailbox: string;
} & Numbered;

export function copyOrMove(name: 'COPY' | 'MOVE') {
  return (s: Scanner, tag: string, uid: boolean): CopyCommand => {
    const numbered = numberedSet(s, uid);
    s.sp();
    return { name, tag, mailbox: mailbox(s), ...numbered };
  };
}
