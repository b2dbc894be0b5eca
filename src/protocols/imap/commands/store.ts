/**
 * STORE / UID STORE (RFC 9051 6.4.6) and EXPUNGE / UID EXPUNGE (RFC 9051
 * 6.4.3; RFC 4315 2.1), through the core (message-flags.ts, expunge.ts).
 *
 *  - STORE: FLAGS replaces, +FLAGS adds, -FLAGS removes; unless .SILENT each
 *    named message gets `* n FETCH (FLAGS (...))` (with UID for UID STORE,
 *    RFC 9051 6.4.9), and MODSEQ once CONDSTORE is on (RFC 7162 3.1).
 *    With .SILENT and CONDSTORE on, each changed message still gets
 *    `* n FETCH (MODSEQ (m))`, so the client's cache learns its new
 *    mod-sequence (RFC 7162 3.1.3).
 *  - STORE (UNCHANGEDSINCE n) (RFC 7162 3.1.3), a CONDSTORE enabling
 *    action: messages whose modseq is above n are left alone and listed in
 *    the tagged `OK [MODIFIED set]` (sequence numbers, or UIDs for UID
 *    STORE); 0 always fails (the core's rule).
 *  - EXPUNGE: `* n EXPUNGE` for each removed message, descending, the map
 *    shrinking with each (RFC 9051 7.5.1); once QRESYNC is enabled one
 *    `* VANISHED uids` instead (RFC 7162 3.2.10) and the tagged OK carries
 *    `[HIGHESTMODSEQ n]` (as Dovecot does), the modseq the session has now
 *    told everything up to. UID EXPUNGE only removes \Deleted messages among
 *    the UIDs. Messages another session expunged meanwhile are reported at
 *    the next NOOP.
 *  - The selected mailbox deleted by another session: `* BYE` and close
 *    (updates.ts closeIfSelectedGone).
 *  - Both refuse a read-only mailbox: NO (RFC 9051 6.3.3: no
 *    changes to the mailbox are permitted).
 */
import type { ExpungeCommand, StoreCommand } from '../parser/index.ts';
import { uidSet } from '../responses.ts';
import type { SelectedMailbox } from '../selected.ts';
import type { StoreFlagsResult } from '../services.ts';
import type { SessionApi } from './api.ts';
import { flagsItem, modseqItem } from './fetch-items.ts';
import { changeFlags, resolveSet, uidRanges } from './message-set.ts';
import { closeIfSelectedGone } from './updates.ts';

export async function store(s: SessionApi, cmd: StoreCommand): Promise<void> {
  const state = s.state;
  if (state.kind !== 'selected') return;
  const box = state.mailbox;
  // RFC 7162 3.1: STORE UNCHANGEDSINCE is a CONDSTORE enabling action.
  if (cmd.unchangedSince !== null) s.enableCondstore();
  if (box.readOnly) return s.tagged(cmd.tag, 'NO', 'The mailbox is read-only (EXAMINE)');
  const seqs = resolveSet(box, cmd);
  if (!seqs) return s.tagged(cmd.tag, 'BAD', 'Message sequence number out of range');
  const uids = seqs.map((seq) => box.uids[seq - 1]!);
  let result: StoreFlagsResult;
  try {
    result = await changeFlags(s, box, { uids: uidRanges(uids), operation: cmd.operation, flags: cmd.flags, unchangedSince: cmd.unchangedSince });
  } catch (err) {
    if (await closeIfSelectedGone(s, err)) return;
    throw err;
  }
  const out = storeResponses(s, box, cmd, result);
  if (out) await s.send(out);
  const what = `${cmd.uid ? 'UID ' : ''}STORE`;
  const failed = result.modified.map((m) => (cmd.uid ? m.uid : box.seqOf(m.uid))).filter((n) => n > 0);
  if (failed.length > 0) return s.tagged(cmd.tag, 'OK', `Conditional ${what} failed for some messages`, `MODIFIED ${uidSet(failed)}`);
  s.tagged(cmd.tag, 'OK', `${what} completed`);
}

/** The untagged FETCH responses of a STORE (RFC 9051 6.4.6; RFC 7162 3.1.3). */
function storeResponses(s: SessionApi, box: SelectedMailbox, cmd: StoreCommand, result: StoreFlagsResult): string {
  const uid = (u: number): string => (cmd.uid ? ` UID ${u}` : '');
  const modseq = (m: bigint): string => (s.condstore ? ` ${modseqItem(m)}` : '');
  let out = '';
  if (!cmd.silent) {
    for (const m of [...result.changed, ...result.unchanged].sort((a, b) => a.uid - b.uid)) {
      const seq = box.seqOf(m.uid);
      if (seq > 0) out += `* ${seq} FETCH (${flagsItem(s, m.uid, m.flags)}${uid(m.uid)}${modseq(m.modseq)})\r\n`;
    }
  } else if (s.condstore) {
    for (const m of result.changed) {
      const seq = box.seqOf(m.uid);
      if (seq > 0) out += `* ${seq} FETCH (${modseqItem(m.modseq)}${uid(m.uid)})\r\n`;
    }
  }
  return out;
}

export async function expunge(s: SessionApi, cmd: ExpungeCommand): Promise<void> {
  const state = s.state;
  if (state.kind !== 'selected') return;
  const box = state.mailbox;
  if (box.readOnly) return s.tagged(cmd.tag, 'NO', 'The mailbox is read-only (EXAMINE)');
  const what = `${cmd.uid ? 'UID ' : ''}EXPUNGE`;
  let only: { first: number; last: number }[] | null = null;
  if (cmd.uid) {
    only = uidRanges(box.resolveUids(cmd.set).map((seq) => box.uids[seq - 1]!));
    if (only.length === 0) return s.tagged(cmd.tag, 'OK', `${what} completed (nothing to expunge)`);
  }
  let result;
  try {
    result = await s.services.expunge(state.user.id, box.id, only);
  } catch (err) {
    if (await closeIfSelectedGone(s, err)) return;
    throw err;
  }
  await sendExpunged(s, box, result.uids);
  if (result.modseq !== null && result.modseq === box.modseq + 1n) box.modseq = result.modseq;
  s.tagged(cmd.tag, 'OK', `${what} completed`, s.qresync ? `HIGHESTMODSEQ ${box.modseq}` : undefined);
}

/**
 * Expunged messages this session removed itself (EXPUNGE, UID EXPUNGE,
 * MOVE): `* n EXPUNGE` each, descending (RFC 9051 7.5.1), or one
 * `* VANISHED uids` once QRESYNC is enabled (RFC 7162 3.2.10).
 */
export async function sendExpunged(s: SessionApi, box: SelectedMailbox, gone: Iterable<number>): Promise<void> {
  if (s.qresync) {
    const uids = [...gone].filter((u) => box.seqOf(u) > 0);
    box.remove(uids);
    if (uids.length > 0) await s.send(`* VANISHED ${uidSet(uids)}\r\n`);
    return;
  }
  const seqs = box.remove(gone);
  if (seqs.length > 0) await s.send(seqs.map((seq) => `* ${seq} EXPUNGE\r\n`).join(''));
}
