/**
 * LIST (RFC 9051 6.3.9 with LIST-EXTENDED RFC 5258, LIST-STATUS RFC 5819,
 * SPECIAL-USE RFC 6154), LSUB (RFC 3501 6.3.9) and NAMESPACE (RFC 2342; RFC
 * 9051 6.3.10), over the logged-in account's mailbox tree: names are per
 * account, so nothing of another account can be listed. Which names and
 * attributes: list-select.ts.
 *
 * Subscriptions are real (core/mailbox-tree.ts, table subscriptions): every
 * default mailbox is subscribed when the account is made.
 */
import type { MailboxId } from '../../../lib/ids.ts';
import type { ListCommand, LsubCommand, SimpleCommand } from '../parser/index.ts';
import { DELIMITER_ARG, mailboxArg } from '../responses.ts';
import type { MailboxStatus } from '../services.ts';
import { userOf } from '../state.ts';
import type { SessionApi } from './api.ts';
import { selectList, selectLsub, type ListedName } from './list-select.ts';
import { needsCounts, statusItemsRefusal, statusResponse } from './status.ts';

function listLine(s: SessionApi, verb: 'LIST' | 'LSUB', l: ListedName): string {
  // RFC 5258 4: mbox-list-extended; CHILDINFO's values are quoted strings.
  const ext = l.childInfo.length > 0 ? ` ("CHILDINFO" (${l.childInfo.map((c) => `"${c}"`).join(' ')}))` : '';
  return `${verb} (${l.attributes.join(' ')}) ${DELIMITER_ARG} ${mailboxArg(l.name, s.utf8)}${ext}`;
}

export async function list(s: SessionApi, cmd: ListCommand): Promise<void> {
  const user = userOf(s.state)!;
  const statusItems = cmd.returns.status;
  if (statusItems) {
    const refusal = statusItemsRefusal(s, statusItems);
    if (refusal) return s.tagged(cmd.tag, 'BAD', refusal);
    // Like STATUS HIGHESTMODSEQ, a CONDSTORE enabling action (RFC 7162 3.1).
    if (statusItems.includes('HIGHESTMODSEQ')) s.enableCondstore();
  }
  // RFC 9051 6.3.9: an empty mailbox argument asks for the delimiter and the root of the
  // reference; names here have no root ("" is the root of every name).
  if (cmd.patterns.every((p) => p === '')) {
    s.untagged(`LIST (\\Noselect) ${DELIMITER_ARG} ""`);
    return s.tagged(cmd.tag, 'OK', 'LIST completed');
  }
  const listed = selectList(await s.services.mailboxTree(user.id), cmd, s.rev2);
  // LIST-STATUS (RFC 5819 2): one query for the STATUS of every listed mailbox.
  const statuses = new Map<MailboxId, MailboxStatus>();
  if (statusItems) {
    const ids = listed.flatMap((l) => (l.entry.mailbox ? [l.entry.mailbox.id] : []));
    for (const st of await s.services.mailboxStatuses(user.id, ids, { counts: needsCounts(statusItems) })) statuses.set(st.id, st);
  }
  for (const l of listed) {
    s.untagged(listLine(s, 'LIST', l));
    const st = l.entry.mailbox ? statuses.get(l.entry.mailbox.id) : undefined;
    if (st && statusItems) s.untagged(statusResponse(s, l.name, st, statusItems));
  }
  s.tagged(cmd.tag, 'OK', 'LIST completed');
}

export async function lsub(s: SessionApi, cmd: LsubCommand): Promise<void> {
  const user = userOf(s.state)!;
  if (cmd.pattern === '') {
    s.untagged(`LSUB (\\Noselect) ${DELIMITER_ARG} ""`);
    return s.tagged(cmd.tag, 'OK', 'LSUB completed');
  }
  for (const l of selectLsub(await s.services.mailboxTree(user.id), cmd.reference, cmd.pattern)) s.untagged(listLine(s, 'LSUB', l));
  s.tagged(cmd.tag, 'OK', 'LSUB completed');
}

/** One personal namespace, the whole tree, "/" as delimiter; no other users' or shared namespaces (RFC 2342 5). */
export function namespace(s: SessionApi, cmd: SimpleCommand): void {
  s.untagged(`NAMESPACE (("" ${DELIMITER_ARG})) NIL NIL`);
  s.tagged(cmd.tag, 'OK', 'NAMESPACE completed');
}
