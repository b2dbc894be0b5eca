/**
 * The state of one IMAP connection (RFC 9051 3, figure in 3.5):
 *
 *   not authenticated --LOGIN/AUTHENTICATE--> authenticated --SELECT/EXAMINE--> selected
 *          any state --LOGOUT, BYE, close--> logout
 *
 * selected --CLOSE/UNSELECT--> authenticated. SELECT and EXAMINE come in the
 * next increment (docs/imap.md); the selected state is already part of the
 * union so commands declare where they are valid once.
 */
import type { DirectoryAccount } from '../../directory/types.ts';
import type { MailboxId } from '../../lib/ids.ts';

export type ListenerMode = 'imap' | 'imaps';

export interface SelectedMailbox {
  readonly id: MailboxId;
  readonly name: string;
  /** EXAMINE (RFC 9051 6.3.3), or SELECT of a mailbox the user may not change. */
  readonly readOnly: boolean;
}

export type SessionState =
  | { readonly kind: 'notAuthenticated' }
  | { readonly kind: 'authenticated'; readonly user: DirectoryAccount }
  | { readonly kind: 'selected'; readonly user: DirectoryAccount; readonly mailbox: SelectedMailbox }
  | { readonly kind: 'logout' };

export type StateKind = SessionState['kind'];

/** The logged-in account, in the authenticated and selected states. */
export function userOf(state: SessionState): DirectoryAccount | undefined {
  return state.kind === 'authenticated' || state.kind === 'selected' ? state.user : undefined;
}
