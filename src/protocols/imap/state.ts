/**
 * The state of one IMAP connection (RFC 9051 3, figure in 3.5):
 *
 *   not authenticated --LOGIN/AUTHENTICATE--> authenticated --SELECT/EXAMINE--> selected
 *          any state --LOGOUT, BYE, close--> logout
 *
 * selected --CLOSE/UNSELECT--> authenticated; selected --SELECT/EXAMINE-->
 * selected (another mailbox; a failed SELECT leaves none selected, RFC 9051
 * 6.3.2). The selected mailbox and its sequence-number map: selected.ts.
 */
import type { DirectoryAccount } from '../../directory/types.ts';
import type { SelectedMailbox } from './selected.ts';

export type ListenerMode = 'imap' | 'imaps';

export type { SelectedMailbox };

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
