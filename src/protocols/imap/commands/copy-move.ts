/**
 * COPY / UID COPY (RFC 9051 6.4.7) and MOVE / UID MOVE (RFC 6851 3.1), with
 * COPYUID (RFC 4315 3), through core/copy-move.ts (one transaction each).
 *
 *  - The target is one of the account's mailboxes; a missing one is
 *    NO [TRYCREATE] (RFC 9051 6.4.7). A copy over the quota: NO [OVERQUOTA].
 *  - COPY: tagged OK [COPYUID uidvalidity source-uids target-uids].
 *  - MOVE: `* OK [COPYUID ...]` first, then `* n EXPUNGE` for each moved
 *    message (descending, the map shrinking), then the tagged OK (RFC 6851
 *    4.3). Once QRESYNC is enabled one `* VANISHED uids` instead (RFC 7162
 *    3.2.10; RFC 6851 4.4) and the tagged OK carries [HIGHESTMODSEQ n].
 *    Not in a read-only mailbox (it expunges).
 *  - The selected mailbox deleted by another session: `* BYE` and close.
 *  - Nothing matched (UIDs that are gone): OK without COPYUID.
 */
import { uidSet, CODE } from '../responses.ts';
import type { CopyCommand } from '../parser/index.ts';
import { expandUidRanges, type UidRange } from '../../../lib/uid-ranges.ts';
import type { SessionApi } from './api.ts';
import { resolveSet, uidRanges } from './message-set.ts';
import { sendExpunged } from './store.ts';
import { closeIfSelectedGone } from './updates.ts';

function copyUid(validity: number, source: readonly UidRange[], target: readonly UidRange[]): string {
  return `COPYUID ${validity} ${uidSet([...expandUidRanges(source)])} ${uidSet([...expandUidRanges(target)])}`;
}

export async function copyMove(s: SessionApi, cmd: CopyCommand): Promise<void> {
  const state = s.state;
  if (state.kind !== 'selected') return;
  const box = state.mailbox;
  const move = cmd.name === 'MOVE';
  const what = `${cmd.uid ? 'UID ' : ''}${cmd.name}`;
  if (move && box.readOnly) return s.tagged(cmd.tag, 'NO', 'The mailbox is read-only (EXAMINE)');
  const seqs = resolveSet(box, cmd);
  if (!seqs) return s.tagged(cmd.tag, 'BAD', 'Message sequence number out of range');
  const target = await s.services.findMailbox(state.user.id, cmd.mailbox);
  if (!target) return s.tagged(cmd.tag, 'NO', 'No such mailbox', CODE.TRYCREATE);
  if (seqs.length === 0) return s.tagged(cmd.tag, 'OK', `${what} completed (no messages)`);
  const uids = uidRanges(seqs.map((seq) => box.uids[seq - 1]!));
  let r;
  try {
    r = await s.services.copyMessages(state.user.id, box.id, target.id, uids, move);
  } catch (err) {
    if (await closeIfSelectedGone(s, err)) return;
    throw err;
  }
  if (r.count === 0) return s.tagged(cmd.tag, 'OK', `${what} completed (no messages)`);
  const code = copyUid(r.targetUidValidity, r.source, r.target);
  if (!move) return s.tagged(cmd.tag, 'OK', `${what} completed`, code);
  s.untaggedOk('Moved', code);
  await sendExpunged(s, box, expandUidRanges(r.source));
  if (r.sourceModseq !== null && r.sourceModseq === box.modseq + 1n) box.modseq = r.sourceModseq;
  s.tagged(cmd.tag, 'OK', `${what} completed`, s.qresync ? `HIGHESTMODSEQ ${box.modseq}` : undefined);
}
