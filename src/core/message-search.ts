/**
 * SEARCH for the IMAP session (RFC 9051 6.4.4): the criteria as the store
 * evaluates them (store/message-search.ts), plus the object ids only the core
 * knows how to read (RFC 8474 5: EMAILID, THREADID).
 *
 *  - EMAILID `M<blob id in base 36>` names the message's content: every
 *    copy of the same blob matches. Any other value matches nothing.
 *  - THREADID: no threading yet, so it matches nothing.
 */
import type { AccountId, MailboxId } from '../lib/ids.ts';
import * as store from '../store/message-search.ts';
import type { CoreContext } from './context.ts';

export type { SearchCriterion, SearchDate, SearchFlag, SearchMatches, SearchOptions, SearchTextField } from '../store/message-search.ts';

type Leaf = Exclude<store.SearchCriterion, { kind: 'not' | 'and' | 'or' | 'blob' }>;

/** What the protocol asks for: the store's criteria, with object ids instead of blob ids. */
export type SearchQuery =
  | Leaf
  | { readonly kind: 'emailId' | 'threadId'; readonly id: string }
  | { readonly kind: 'not'; readonly operand: SearchQuery }
  | { readonly kind: 'and' | 'or'; readonly operands: readonly SearchQuery[] };

const EMAIL_ID = /^M[0-9a-z]{1,12}$/;

/** The blob id of an EMAILID (`M` + base 36), or null when it is not one of ours. */
export function blobIdOfEmailId(id: string): number | null {
  if (!EMAIL_ID.test(id)) return null;
  const n = parseInt(id.slice(1), 36);
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

function toStore(k: SearchQuery): store.SearchCriterion {
  switch (k.kind) {
    case 'emailId': {
      const blobId = blobIdOfEmailId(k.id);
      return blobId === null ? { kind: 'false' } : { kind: 'blob', blobId };
    }
    case 'threadId':
      return { kind: 'false' };
    case 'not':
      return { kind: 'not', operand: toStore(k.operand) };
    case 'and':
    case 'or':
      return { kind: k.kind, operands: k.operands.map(toStore) };
    default:
      return k;
  }
}

/** Matching UIDs (ascending, up to `opts.maxUid`) of the account's mailbox; another account's mailbox matches nothing. */
export function searchMessages(
  ctx: CoreContext,
  accountId: AccountId,
  mailboxId: MailboxId,
  query: SearchQuery,
  opts: store.SearchOptions,
): Promise<store.SearchMatches> {
  return store.searchMessages(ctx.db, accountId, mailboxId, toStore(query), opts);
}
