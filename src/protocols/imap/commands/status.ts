/**
 * STATUS (RFC 9051 6.3.11) of a mailbox of the logged-in account, and the
 * status attributes LIST-STATUS (RFC 5819) returns with LIST:
 *
 *   MESSAGES UIDNEXT UIDVALIDITY SIZE (RFC 8438) HIGHESTMODSEQ (RFC 7162 3.1.2)
 *     from the mailbox row (counters kept by every change);
 *   UNSEEN DELETED RECENT (rev1 only) counted in one query, only when asked;
 *   APPENDLIMIT (RFC 7889 3.2) the server-wide limit;
 *   MAILBOXID (RFC 8474 4) the mailbox's object id.
 *
 * STATUS HIGHESTMODSEQ is a CONDSTORE enabling action (RFC 7162 3.1, 3.1.6).
 * DELETED-STORAGE (RFC 9208 QUOTA) is refused until QUOTA exists. STATUS of a
 * name that is not one of the account's mailboxes: NO [NONEXISTENT] (another
 * user's mailbox of the same name is simply not there).
 */
import type { StatusCommand, StatusItem } from '../parser/index.ts';
import { CODE, mailboxArg } from '../responses.ts';
import type { MailboxStatus } from '../services.ts';
import { userOf } from '../state.ts';
import type { SessionApi } from './api.ts';

/** Why these items cannot be answered, or null. */
export function statusItemsRefusal(s: SessionApi, items: readonly StatusItem[]): string | null {
  if (items.includes('DELETED-STORAGE')) return 'STATUS DELETED-STORAGE is not implemented yet';
  if (s.rev2 && items.includes('RECENT')) return 'RECENT is not part of IMAP4rev2 (RFC 9051 Appendix E)';
  return null;
}

/** Whether the items need the row counts (UNSEEN, DELETED, RECENT). */
export function needsCounts(items: readonly StatusItem[]): boolean {
  return items.some((i) => i === 'UNSEEN' || i === 'DELETED' || i === 'RECENT');
}

function value(st: MailboxStatus, item: StatusItem, appendLimit: number): string {
  switch (item) {
    case 'MESSAGES':
      return `${st.messages}`;
    case 'UIDNEXT':
      return `${st.uidNext}`;
    case 'UIDVALIDITY':
      return `${st.uidValidity}`;
    case 'UNSEEN':
      return `${st.unseen}`;
    case 'DELETED':
      return `${st.deleted}`;
    case 'SIZE':
      return `${st.size}`;
    case 'RECENT':
      return `${st.recent}`;
    case 'HIGHESTMODSEQ':
      return `${st.highestModseq}`;
    case 'APPENDLIMIT':
      return `${appendLimit}`;
    case 'MAILBOXID':
      return `(${st.objectId})`;
    case 'DELETED-STORAGE':
      throw new Error('DELETED-STORAGE is refused before the query');
  }
}

/** `* STATUS <mailbox> (<item> <value> ...)` (RFC 9051 7.3.4). */
export function statusResponse(s: SessionApi, name: string, st: MailboxStatus, items: readonly StatusItem[]): string {
  const limit = s.services.limits().appendLimit;
  return `STATUS ${mailboxArg(name, s.utf8)} (${items.map((i) => `${i} ${value(st, i, limit)}`).join(' ')})`;
}

export async function status(s: SessionApi, cmd: StatusCommand): Promise<void> {
  const user = userOf(s.state)!;
  const refusal = statusItemsRefusal(s, cmd.items);
  if (refusal) return s.tagged(cmd.tag, 'BAD', refusal);
  if (cmd.items.includes('HIGHESTMODSEQ')) s.enableCondstore();
  const box = await s.services.findMailbox(user.id, cmd.mailbox);
  if (!box) return s.tagged(cmd.tag, 'NO', 'No such mailbox', CODE.NONEXISTENT);
  const [st] = await s.services.mailboxStatuses(user.id, [box.id], { counts: needsCounts(cmd.items) });
  if (!st) return s.tagged(cmd.tag, 'NO', 'No such mailbox', CODE.NONEXISTENT);
  s.untagged(statusResponse(s, cmd.mailbox, st, cmd.items));
  s.tagged(cmd.tag, 'OK', 'STATUS completed');
}
