/**
 * Mailbox management (RFC 9051 6.3.4-6.3.8; RFC 3501 6.3.3-6.3.7): CREATE
 * (with CREATE-SPECIAL-USE, RFC 6154 3), DELETE, RENAME, SUBSCRIBE and
 * UNSUBSCRIBE, over the logged-in account's tree (core/mailbox-tree.ts holds
 * the semantics; docs/imap-store.md). Names arrive decoded by the parser
 * (modified UTF-7 or UTF-8); names are per account, so another account's
 * mailboxes are never touched.
 *
 * Refusals come from the core as domain errors and are answered by the
 * session's one table (errors.ts), with RFC 5530 / RFC 6154 codes:
 *   exists already (also CREATE INBOX in any case)  NO [ALREADYEXISTS]
 *   no such mailbox (also a name with only inferiors) NO [NONEXISTENT]
 *   special use not supported (\All, \Flagged, ...)  NO [USEATTR]
 *   DELETE INBOX, RENAME below itself, bad names     NO [CANNOT]
 *
 * The selected mailbox: DELETE or RENAME of it by this session is allowed
 * (RFC 9051 6.3.5 and 6.3.6 do not forbid it).
 *  - DELETE of the selected mailbox by this session: the mailbox is closed
 *    first, as Dovecot does (it closes the selected mailbox before deleting
 *    it), and the session is back in the authenticated state, told by
 *    `* OK [CLOSED]` (RFC 9051 7.1) before the tagged OK. Refusing would
 *    make clients UNSELECT first for no gain; staying selected on a mailbox
 *    that no longer exists would leave nothing to answer with.
 *  - DELETE by another session: that session gets `* BYE` at its next
 *    command on the mailbox (RFC 2180 3.3; updates.ts closeIfSelectedGone).
 *  - RENAME (by this session or another) keeps the mailbox's id, so a
 *    selection (which works by id) goes on under the new name (RFC 2180
 *    3.3 allows either); the name kept with the selection is then stale,
 *    and nothing uses it. RENAME INBOX moves INBOX's messages away: a
 *    session with INBOX selected sees them expunged at its next NOOP.
 */
import type { CreateCommand, DeleteCommand, RenameCommand } from '../parser/index.ts';
import { CODE } from '../responses.ts';
import { userOf } from '../state.ts';
import type { SessionApi } from './api.ts';

/** RFC 6154 3 CREATE (USE (...)): the schema keeps one special use per mailbox. */
function specialUseOf(cmd: CreateCommand): { use: string | null } | { refusal: string } {
  const uses = cmd.specialUse ?? [];
  if (uses.length > 1) return { refusal: 'Only one special-use attribute per mailbox' };
  return { use: uses[0] ?? null };
}

/** CREATE (RFC 9051 6.3.4): superiors are created too; a trailing "/" is ignored. */
export async function create(s: SessionApi, cmd: CreateCommand): Promise<void> {
  const user = userOf(s.state)!;
  const use = specialUseOf(cmd);
  if ('refusal' in use) return s.tagged(cmd.tag, 'NO', use.refusal, CODE.USEATTR);
  await s.services.createMailbox(user, cmd.mailbox, use.use);
  s.tagged(cmd.tag, 'OK', 'CREATE completed');
}

/** DELETE (RFC 9051 6.3.5): inferiors stay; the subscription stays (6.3.7). */
export async function deleteMailbox(s: SessionApi, cmd: DeleteCommand): Promise<void> {
  const user = userOf(s.state)!;
  const gone = await s.services.deleteMailbox(user, cmd.mailbox);
  const state = s.state;
  if (state.kind === 'selected' && state.mailbox.id === gone.id) {
    s.deselect();
    s.untaggedOk('The selected mailbox was deleted and is now closed', 'CLOSED');
  }
  s.tagged(cmd.tag, 'OK', 'DELETE completed');
}

/** RENAME (RFC 9051 6.3.6): inferiors move; RENAME INBOX moves INBOX's messages to the new mailbox. */
export async function rename(s: SessionApi, cmd: RenameCommand): Promise<void> {
  const user = userOf(s.state)!;
  await s.services.renameMailbox(user, cmd.from, cmd.to);
  s.tagged(cmd.tag, 'OK', 'RENAME completed');
}

/** SUBSCRIBE (RFC 9051 6.3.7): any valid name, existing or not. */
export async function subscribe(s: SessionApi, cmd: DeleteCommand): Promise<void> {
  const user = userOf(s.state)!;
  await s.services.subscribe(user, cmd.mailbox);
  s.tagged(cmd.tag, 'OK', 'SUBSCRIBE completed');
}

/** UNSUBSCRIBE (RFC 9051 6.3.8): OK also when the name was not subscribed. */
export async function unsubscribe(s: SessionApi, cmd: DeleteCommand): Promise<void> {
  const user = userOf(s.state)!;
  await s.services.unsubscribe(user, cmd.mailbox);
  s.tagged(cmd.tag, 'OK', 'UNSUBSCRIBE completed');
}
