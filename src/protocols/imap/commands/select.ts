/**
 * SELECT and EXAMINE (RFC 9051 6.3.2, 6.3.3), CLOSE (6.4.1), UNSELECT
 * (RFC 3691; RFC 9051 6.4.2).
 *
 * SELECT answers, from one snapshot (core/mailbox-sync.ts selectMailbox):
 *
 *   * OK [CLOSED]                 a mailbox was selected before (RFC 9051 7.1; RFC 7162 3.2.11)
 *   * FLAGS (...)                 RFC 9051 7.3.5
 *   * n EXISTS                    RFC 9051 7.4.1
 *   * n RECENT                    IMAP4rev1 only (RFC 3501 7.3.2)
 *   * OK [UNSEEN n]               IMAP4rev1 only, when a message is unseen (RFC 3501 6.3.1)
 *   * OK [UIDVALIDITY u] / [UIDNEXT n] / [PERMANENTFLAGS (...)]
 *   * OK [HIGHESTMODSEQ n]        once CONDSTORE is on (RFC 7162 3.1.2.1); every
 *                                 mailbox has modseqs, so never [NOMODSEQ]
 *   * OK [MAILBOXID (id)]         RFC 8474 4
 *   * VANISHED (EARLIER) uids     QRESYNC (RFC 7162 3.2.5.2), see below
 *   * n FETCH (UID u FLAGS (...) MODSEQ (m))
 *   tag OK [READ-WRITE] | [READ-ONLY]
 *
 * (CONDSTORE) is a CONDSTORE enabling action (RFC 7162 3.1.8). HIGHESTMODSEQ
 * is sent only once CONDSTORE is on, as Dovecot does: a client that never
 * asked for CONDSTORE sees the RFC 9051 responses only. The HIGHESTMODSEQ
 * reported is the snapshot's, the session's modseq from then on.
 *
 * (QRESYNC (uidvalidity modseq [known-uids [(seq-match-data)]])) needs ENABLE
 * QRESYNC first (else BAD, RFC 7162 3.2.5). When the UIDVALIDITY matches, the
 * client is told what changed since its modseq: the expunged UIDs as one
 * VANISHED (EARLIER) (narrowed to known-uids and by the sequence match data
 * when the tombstones were pruned; vanished.ts), then a FETCH for each
 * message of known-uids whose modseq is higher. A different UIDVALIDITY: a
 * plain SELECT, the client must resynchronise from scratch (RFC 7162 3.2.5).
 *
 * IMAP4rev1 read-write SELECT claims \Recent (core claimRecent): those
 * messages are \Recent in this session's FETCH FLAGS (selected.ts).
 * A name that is not one of the account's selectable mailboxes (another
 * user's, a \Noselect superior, nothing): NO [NONEXISTENT], and no mailbox is
 * selected any more (RFC 9051 6.3.2).
 */
import { NotFoundError } from '../../../lib/errors.ts';
import { ALL_UIDS } from '../../../lib/uid-ranges.ts';
import type { QresyncParams, SelectCommand, SimpleCommand } from '../parser/index.ts';
import { CODE } from '../responses.ts';
import { SelectedMailbox } from '../selected.ts';
import { userOf } from '../state.ts';
import type { SessionApi } from './api.ts';
import { flagsItem, modseqItem } from './fetch-items.ts';
import { clientUidRanges, matchedUpTo, vanishedEarlier, vanishedToTell } from './vanished.ts';

/** The system flags (RFC 9051 2.3.2); keywords are created freely (`\*` in PERMANENTFLAGS). */
export const SYSTEM_FLAGS = '\\Answered \\Flagged \\Deleted \\Seen \\Draft';

export async function select(s: SessionApi, cmd: SelectCommand): Promise<void> {
  const user = userOf(s.state)!;
  if (cmd.qresync && !s.qresync) return s.tagged(cmd.tag, 'BAD', 'QRESYNC needs ENABLE QRESYNC first (RFC 7162 3.2.5)');
  if (cmd.condstore) s.enableCondstore();
  if (s.state.kind === 'selected') {
    s.deselect();
    s.untaggedOk('Previous mailbox is now closed', 'CLOSED');
  }
  const readOnly = cmd.name === 'EXAMINE';
  let view;
  try {
    // Found by name and read in one statement (core/mailbox-sync.ts).
    view = await s.services.selectMailbox(user.id, { name: cmd.mailbox }, { claimRecent: !readOnly && !s.rev2 });
  } catch (err) {
    if (err instanceof NotFoundError) return s.tagged(cmd.tag, 'NO', 'No such mailbox', CODE.NONEXISTENT);
    throw err;
  }
  const box = new SelectedMailbox(view.id, view.name, readOnly, view.uidValidity, view.uids, view.highestModseq);
  if (view.recent && view.recent.to > view.recent.from) box.recent.push(view.recent);
  s.untagged(`FLAGS (${SYSTEM_FLAGS})`);
  s.untagged(`${box.exists} EXISTS`);
  if (!s.rev2) {
    s.untagged(`${view.recentCount} RECENT`);
    const firstUnseen = view.firstUnseenUid === null ? 0 : box.seqOf(view.firstUnseenUid);
    if (firstUnseen > 0) s.untaggedOk(`Message ${firstUnseen} is the first unseen`, `UNSEEN ${firstUnseen}`);
  }
  s.untaggedOk('UIDs valid', `UIDVALIDITY ${view.uidValidity}`);
  s.untaggedOk('Predicted next UID', `UIDNEXT ${view.uidNext}`);
  s.untaggedOk(readOnly ? 'No permanent flags in a read-only mailbox' : 'Flags permitted', `PERMANENTFLAGS (${readOnly ? '' : `${SYSTEM_FLAGS} \\*`})`);
  if (s.condstore) s.untaggedOk('Highest', `HIGHESTMODSEQ ${view.highestModseq}`);
  s.untaggedOk('Mailbox id', `MAILBOXID (${view.objectId})`);
  s.select(box);
  try {
    if (cmd.qresync && cmd.qresync.uidValidity === view.uidValidity) await resync(s, box, cmd.qresync);
  } catch (err) {
    // Deleted since the snapshot: the next command finds out (updates.ts closeIfSelectedGone).
    if (!(err instanceof NotFoundError)) throw err;
  }
  if (s.state.kind === 'logout') return;
  s.tagged(cmd.tag, 'OK', `${cmd.name} completed`, readOnly ? 'READ-ONLY' : 'READ-WRITE');
}

/** RFC 7162 3.2.5.2: what changed since the client's modseq, for the messages it knows. */
async function resync(s: SessionApi, box: SelectedMailbox, q: QresyncParams): Promise<void> {
  const state = s.state;
  if (state.kind !== 'selected') return;
  const known = q.knownUids ? clientUidRanges(q.knownUids) : [...ALL_UIDS];
  const vanished = await s.services.vanishedSince(state.user.id, box.id, q.modseq, box.modseq);
  // Sequence match data only matters when the tombstones are gone (the set is a superset then).
  const matched = !vanished.complete && q.seqMatch ? matchedUpTo(box, q.seqMatch) : 0;
  const line = vanishedEarlier(vanishedToTell(vanished.vanished, known, box, matched));
  if (line) s.untagged(line);
  if (q.modseq >= box.modseq) return;
  for await (const chunk of s.services.iterateFlags(state.user.id, box.id, known, { changedSince: q.modseq })) {
    let out = '';
    for (const m of chunk) {
      const seq = box.seqOf(m.uid);
      if (seq > 0) out += `* ${seq} FETCH (UID ${m.uid} ${flagsItem(s, m.uid, m.flags)} ${modseqItem(m.modseq)})\r\n`;
    }
    if (out) await s.send(out);
  }
}

/** CLOSE: expunge \Deleted silently when read-write (no EXPUNGE responses, RFC 9051 6.4.1), then deselect. */
export async function close(s: SessionApi, cmd: SimpleCommand): Promise<void> {
  const state = s.state;
  if (state.kind !== 'selected') return;
  s.deselect();
  if (!state.mailbox.readOnly) {
    try {
      await s.services.expunge(state.user.id, state.mailbox.id, null);
    } catch (err) {
      // Deleted meanwhile: nothing left to expunge; the mailbox is closed all the same.
      if (!(err instanceof NotFoundError)) throw err;
    }
  }
  s.tagged(cmd.tag, 'OK', 'CLOSE completed');
}

/** UNSELECT: deselect without expunging (RFC 3691 2). */
export function unselect(s: SessionApi, cmd: SimpleCommand): void {
  s.deselect();
  s.tagged(cmd.tag, 'OK', 'UNSELECT completed');
}
