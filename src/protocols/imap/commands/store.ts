/**
 * STORE / UID STORE (RFC 9051 6.4.6) and EXPUNGE / UID EXPUNGE (RFC 9051
 * 6.4.3; RFC 4315 2.1), through the core (message-flags.ts, expunge.ts).
 *
 *  - STORE: FLAGS replaces, +FLAGS adds, -FLAGS removes; unless .SILENT each
 *    named message gets `* n FETCH (FLAGS (...))` (with UID for UID STORE,
 *    RFC 9051 6.4.9). UNCHANGEDSINCE needs CONDSTORE: BAD until announced.
 *  - EXPUNGE: `* n EXPUNGE` for each removed message, descending, the map
 *    shrinking with each (RFC 9051 7.5.1). UID EXPUNGE only removes \Deleted
 *    messages among the UIDs. Messages another session expunged meanwhile
 *    are reported at the next NOOP.
 *  - Both refuse a read-only mailbox: NO (RFC 9051 6.3.3: no
 *    changes to the mailbox are permitted).
 */
import type { ExpungeCommand, StoreCommand } from '../parser/index.ts';
import type { SessionApi } from './api.ts';
import { changeFlags, resolveSet, uidRanges } from './message-set.ts';

export async function store(s: SessionApi, cmd: StoreCommand): Promise<void> {
  const state = s.state;
  if (state.kind !== 'selected') return;
  const box = state.mailbox;
  if (cmd.unchangedSince !== null) return s.tagged(cmd.tag, 'BAD', 'UNCHANGEDSINCE needs CONDSTORE, not implemented yet');
  if (box.readOnly) return s.tagged(cmd.tag, 'NO', 'The mailbox is read-only (EXAMINE)');
  const seqs = resolveSet(box, cmd);
  if (!seqs) return s.tagged(cmd.tag, 'BAD', 'Message sequence number out of range');
  const uids = seqs.map((seq) => box.uids[seq - 1]!);
  const result = await changeFlags(s, box, { uids: uidRanges(uids), operation: cmd.operation, flags: cmd.flags });
  if (!cmd.silent) {
    const all = [...result.changed, ...result.unchanged].sort((a, b) => a.uid - b.uid);
    let out = '';
    for (const m of all) {
      const seq = box.seqOf(m.uid);
      if (seq > 0) out += `* ${seq} FETCH (FLAGS (${m.flags.join(' ')})${cmd.uid ? ` UID ${m.uid}` : ''})\r\n`;
    }
    if (out) await s.send(out);
  }
  s.tagged(cmd.tag, 'OK', `${cmd.uid ? 'UID ' : ''}STORE completed`);
}

export async function expunge(s: SessionApi, cmd: ExpungeCommand): Promise<void> {
  const state = s.state;
  if (state.kind !== 'selected') return;
  const box = state.mailbox;
  if (box.readOnly) return s.tagged(cmd.tag, 'NO', 'The mailbox is read-only (EXAMINE)');
  let only: { first: number; last: number }[] | null = null;
  if (cmd.uid) {
    only = uidRanges(box.resolveUids(cmd.set).map((seq) => box.uids[seq - 1]!));
    if (only.length === 0) return s.tagged(cmd.tag, 'OK', 'UID EXPUNGE completed (nothing to expunge)');
  }
  const result = await s.services.expunge(state.user.id, box.id, only);
  const seqs = box.remove(result.uids);
  if (seqs.length > 0) await s.send(seqs.map((seq) => `* ${seq} EXPUNGE\r\n`).join(''));
  if (result.modseq !== null && result.modseq === box.modseq + 1n) box.modseq = result.modseq;
  s.tagged(cmd.tag, 'OK', `${cmd.uid ? 'UID ' : ''}EXPUNGE completed`);
}
