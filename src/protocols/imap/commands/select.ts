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
 *   * OK [MAILBOXID (id)]         RFC 8474 4
 *   tag OK [READ-WRITE] | [READ-ONLY]
 *
 * CONDSTORE and QRESYNC parameters are refused until CONDSTORE is announced.
 * A name that is not one of the account's selectable mailboxes (another
 * user's, a \Noselect superior, nothing): NO [NONEXISTENT], and no mailbox is
 * selected any more (RFC 9051 6.3.2).
 */
import { NotFoundError } from '../../../lib/errors.ts';
import type { SelectCommand, SimpleCommand } from '../parser/index.ts';
import { CODE } from '../responses.ts';
import { SelectedMailbox } from '../selected.ts';
import { userOf } from '../state.ts';
import type { SessionApi } from './api.ts';

/** The system flags (RFC 9051 2.3.2); keywords are created freely (`\*` in PERMANENTFLAGS). */
export const SYSTEM_FLAGS = '\\Answered \\Flagged \\Deleted \\Seen \\Draft';

export async function select(s: SessionApi, cmd: SelectCommand): Promise<void> {
  const user = userOf(s.state)!;
  if (cmd.condstore || cmd.qresync) return s.tagged(cmd.tag, 'BAD', `${cmd.name} parameters (CONDSTORE, QRESYNC) are not implemented yet`);
  if (s.state.kind === 'selected') {
    s.deselect();
    s.untaggedOk('Previous mailbox is now closed', 'CLOSED');
  }
  const readOnly = cmd.name === 'EXAMINE';
  const found = await s.services.findMailbox(user.id, cmd.mailbox);
  if (!found) return s.tagged(cmd.tag, 'NO', 'No such mailbox', CODE.NONEXISTENT);
  let view;
  try {
    view = await s.services.selectMailbox(user.id, found.id, { claimRecent: !readOnly && !s.rev2 });
  } catch (err) {
    if (err instanceof NotFoundError) return s.tagged(cmd.tag, 'NO', 'No such mailbox', CODE.NONEXISTENT);
    throw err;
  }
  const box = new SelectedMailbox(view.id, view.name, readOnly, view.uidValidity, view.uids, view.highestModseq);
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
  s.untaggedOk('Mailbox id', `MAILBOXID (${view.objectId})`);
  s.select(box);
  s.tagged(cmd.tag, 'OK', `${cmd.name} completed`, readOnly ? 'READ-ONLY' : 'READ-WRITE');
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
