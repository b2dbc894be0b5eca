/**
 * SELECT and EXAMINE (RFC 9051 6.3.2, 6.3.3) with parameters (RFC 4466 2.1):
 *
 *   select        = "SELECT" SP mailbox [select-params]
 *   select-params = SP "(" select-param *(SP select-param) ")"
 *   select-param  = "CONDSTORE"                                           RFC 7162 3.1.8
 *                 / "QRESYNC" SP "(" uidvalidity SP mod-sequence-value
 *                   [SP known-uids] [SP seq-match-data] ")"                RFC 7162 3.2.5
 *   known-uids    = sequence-set      ; UIDs, "*" not allowed
 *   seq-match-data = "(" known-sequence-set SP known-uid-set ")"
 *
 * Unknown parameters are a syntax error (RFC 4466 2.1). Whether QRESYNC was
 * enabled first (RFC 7162 3.2.5: else BAD) is the session's check.
 */
import type { ModSeq, SeqNum, Uid, UidValidity } from '../../../lib/ids.ts';
import { mailbox, modSequence, nzNumber, parenList } from './primitives.ts';
import type { Scanner } from './scanner.ts';
import { sequenceSet, type SequenceSet } from './sequence-set.ts';

export interface QresyncParams {
  readonly uidValidity: UidValidity;
  readonly modseq: ModSeq;
  readonly knownUids: SequenceSet<Uid> | null;
  /** Sequence numbers and the UIDs the client knows them as (RFC 7162 3.2.5.2). */
  readonly seqMatch: { readonly seqs: SequenceSet<SeqNum>; readonly uids: SequenceSet<Uid> } | null;
}

export interface SelectCommand {
  readonly name: 'SELECT' | 'EXAMINE';
  readonly tag: string;
  readonly mailbox: string;
  readonly condstore: boolean;
  readonly qresync: QresyncParams | null;
}

const KNOWN_SET = { saved: false, star: false } as const;

function qresync(s: Scanner): QresyncParams {
  s.sp();
  s.expect(0x28, '"(" after QRESYNC');
  const uidValidity = nzNumber(s, 'UIDVALIDITY') as UidValidity;
  s.sp();
  const modseq = modSequence(s, 'mod-sequence', false) as ModSeq;
  let knownUids: SequenceSet<Uid> | null = null;
  let seqMatch: QresyncParams['seqMatch'] = null;
  if (s.eat(0x20)) {
    if (s.peek() !== 0x28) {
      knownUids = sequenceSet<Uid>(s, KNOWN_SET);
      if (s.eat(0x20) && s.peek() !== 0x28) s.fail('Expected "(" for the sequence match data');
    }
    if (s.peek() === 0x28) {
      s.skip();
      const seqs = sequenceSet<SeqNum>(s, KNOWN_SET);
      s.sp();
      const uids = sequenceSet<Uid>(s, KNOWN_SET);
      s.expect(0x29, '")" after the sequence match data');
      seqMatch = { seqs, uids };
    }
  }
  s.expect(0x29, '")" to close QRESYNC');
  return { uidValidity, modseq, knownUids, seqMatch };
}

export function select(name: 'SELECT' | 'EXAMINE') {
  return (s: Scanner, tag: string): SelectCommand => {
    s.sp();
    const box = mailbox(s);
    const params: { condstore: boolean; qresync: QresyncParams | null } = { condstore: false, qresync: null };
    if (s.eat(0x20)) {
      parenList(
        s,
        () => {
          const word = s.keyword();
          if (word === 'CONDSTORE' && !params.condstore) params.condstore = true;
          else if (word === 'QRESYNC' && !params.qresync) params.qresync = qresync(s);
          else s.fail(word === 'CONDSTORE' || word === 'QRESYNC' ? `${word} given twice` : `Unknown ${name} parameter`);
        },
        false,
        `${name} parameters`,
      );
    }
    return { name, tag, mailbox: box, ...params };
  };
}
