/**
 * Untagged updates of the selected mailbox (RFC 9051 7, 5.2): what other
 * sessions (and deliveries) changed since the session's last known modseq,
 * read from the core (mailbox-sync: tombstones and CHANGEDSINCE), told as
 *
 *   * n EXPUNGE              descending, the map shrinking with each (7.5.1)
 *   * n EXISTS               new messages joining the map (7.4.1)
 *   * n FETCH (FLAGS (...) UID u)   flag changes (7.5.2)
 *
 * When: NOOP, CHECK and IDLE (RFC 9051 7.5.1: EXPUNGE is never sent while a
 * FETCH, STORE or SEARCH is in progress, nor after a command using sequence
 * numbers where the client could be confused). This server only reports at
 * NOOP, CHECK and IDLE, so the map is stable for every other command; RFC
 * 9051 5.2 lets a server choose when to send updates.
 */
import { NotFoundError } from '../../../lib/errors.ts';
import type { SimpleCommand } from '../parser/index.ts';
import type { SessionApi } from './api.ts';

/** Sends what changed since the last report; the caller's command completes afterwards. */
export async function reportChanges(s: SessionApi): Promise<void> {
  const state = s.state;
  if (state.kind !== 'selected') return;
  const box = state.mailbox;
  let changes;
  try {
    changes = await s.services.mailboxChanges(state.user.id, box.id, box.modseq);
  } catch (err) {
    // The mailbox was deleted or renamed away: nothing to report; the next command sees it.
    if (err instanceof NotFoundError) return;
    throw err;
  }
  if (s.state !== state) return; // deselected meanwhile (IDLE ended by a LOGOUT)
  for (const seq of box.remove(changes.vanished)) s.untagged(`${seq} EXPUNGE`);
  const known = box.lastUid;
  const added: number[] = [];
  const flagged: { uid: number; flags: string[] }[] = [];
  for (const m of changes.changed) {
    if (m.uid > known) added.push(m.uid);
    else flagged.push(m);
  }
  if (added.length > 0) s.untagged(`${box.append(added)} EXISTS`);
  for (const m of flagged) {
    const seq = box.seqOf(m.uid);
    if (seq > 0) s.untagged(`${seq} FETCH (FLAGS (${m.flags.join(' ')}) UID ${m.uid})`);
  }
  if (changes.highestModseq > box.modseq) box.modseq = changes.highestModseq;
}

/** CHECK (RFC 3501 6.4.1; gone from IMAP4rev2, RFC 9051 Appendix E): nothing to flush here, so like NOOP. */
export async function check(s: SessionApi, cmd: SimpleCommand): Promise<void> {
  await reportChanges(s);
  s.tagged(cmd.tag, 'OK', 'CHECK completed');
}
