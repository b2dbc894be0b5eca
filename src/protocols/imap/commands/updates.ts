/**
 * Untagged updates of the selected mailbox (RFC 9051 7, 5.2): what other
 * sessions (and deliveries) changed since the session's last known modseq,
 * read from the core (mailbox-sync: tombstones and CHANGEDSINCE), told as
 *
 *   * n EXPUNGE              descending, the map shrinking with each (7.5.1)
 *   * VANISHED uids          instead of EXPUNGE once QRESYNC is enabled (RFC 7162 3.2.10)
 *   * n EXISTS               new messages joining the map (7.4.1)
 *   * n RECENT               rev1 read-write: the session claims \Recent for
 *                            them first (RFC 3501 7.3.2; core claimRecent)
 *   * n FETCH (FLAGS (...) UID u [MODSEQ (m)])   flag changes (7.5.2); MODSEQ
 *                            once CONDSTORE is on (RFC 7162 3.1)
 *
 * When: NOOP, CHECK and IDLE (RFC 9051 7.5.1: EXPUNGE is never sent while a
 * FETCH, STORE or SEARCH is in progress, nor after a command using sequence
 * numbers where the client could be confused). This server only reports at
 * NOOP, CHECK and IDLE, so the map is stable for every other command; RFC
 * 9051 5.2 lets a server choose when to send updates.
 *
 * The selected mailbox deleted by another session (RFC 2180 3.3, RFC 9051
 * 6.3.5): the next command that reaches it (NOOP, CHECK, IDLE, FETCH,
 * STORE, EXPUNGE, COPY, MOVE) gets `* BYE Selected mailbox was deleted` and
 * the connection closes, as Dovecot does: there is no way to tell a client
 * in the selected state that its mailbox is gone. A RENAME by another
 * session changes nothing here: the selection works by mailbox id, which a
 * RENAME keeps (docs/imap-store.md), so the session goes on.
 */
import { NotFoundError } from '../../../lib/errors.ts';
import { uidSet } from '../responses.ts';
import type { SimpleCommand } from '../parser/index.ts';
import type { SessionApi } from './api.ts';
import { flagsItem, modseqItem } from './fetch-items.ts';

/**
 * After a NotFoundError in the selected state (or rows missing): when the
 * selected mailbox no longer exists, sends `* BYE` and closes (RFC 2180
 * 3.3); true then, and the command must not answer. False: it exists (the
 * error was about something else).
 */
export async function closeIfSelectedGone(s: SessionApi, err?: unknown): Promise<boolean> {
  if (err !== undefined && !(err instanceof NotFoundError)) return false;
  const state = s.state;
  if (state.kind !== 'selected') return false;
  const [still] = await s.services.mailboxStatuses(state.user.id, [state.mailbox.id], { counts: false });
  if (still) return false;
  s.log.info({ mailbox: state.mailbox.id }, 'selected mailbox was deleted');
  s.close('Selected mailbox was deleted, have to disconnect');
  return true;
}

/** Sends what changed since the last report; the caller's command completes afterwards. */
export async function reportChanges(s: SessionApi): Promise<void> {
  const state = s.state;
  if (state.kind !== 'selected') return;
  const box = state.mailbox;
  let changes;
  try {
    changes = await s.services.mailboxChanges(state.user.id, box.id, box.modseq);
  } catch (err) {
    if (await closeIfSelectedGone(s, err)) return;
    throw err;
  }
  if (s.state !== state) return; // deselected meanwhile (IDLE ended by a LOGOUT)
  if (s.qresync) {
    // RFC 7162 3.2.10: the UIDs, in one response; EXISTS shrinks by their number.
    const gone = [...changes.vanished].filter((uid) => box.seqOf(uid) > 0);
    if (gone.length > 0) {
      box.remove(gone);
      s.untagged(`VANISHED ${uidSet(gone)}`);
    }
  } else {
    for (const seq of box.remove(changes.vanished)) s.untagged(`${seq} EXPUNGE`);
  }
  const known = box.lastUid;
  const added: number[] = [];
  const flagged: { uid: number; modseq: bigint; flags: string[] }[] = [];
  for (const m of changes.changed) {
    if (m.uid > known) added.push(m.uid);
    else flagged.push(m);
  }
  if (added.length > 0) {
    s.untagged(`${box.append(added)} EXISTS`);
    if (!s.rev2 && !box.readOnly) {
      // RFC 3501 7.3.2: the new messages are \Recent to the one session that claims them.
      let claim;
      try {
        claim = await s.services.claimRecent(state.user.id, box.id);
      } catch (err) {
        if (await closeIfSelectedGone(s, err)) return;
        throw err;
      }
      const last = box.recent.at(-1);
      if (last && last.to === claim.from) last.to = claim.to;
      else if (claim.to > claim.from) box.recent.push(claim);
      s.untagged(`${box.recentCount()} RECENT`);
    }
  }
  for (const m of flagged) {
    const seq = box.seqOf(m.uid);
    if (seq > 0) s.untagged(`${seq} FETCH (${flagsItem(s, m.uid, m.flags)} UID ${m.uid}${s.condstore ? ` ${modseqItem(m.modseq)}` : ''})`);
  }
  if (changes.highestModseq > box.modseq) box.modseq = changes.highestModseq;
}

/** CHECK (RFC 3501 6.4.1; gone from IMAP4rev2, RFC 9051 Appendix E): nothing to flush here, so like NOOP. */
export async function check(s: SessionApi, cmd: SimpleCommand): Promise<void> {
  await reportChanges(s);
  if (s.state.kind === 'logout') return;
  s.tagged(cmd.tag, 'OK', 'CHECK completed');
}
