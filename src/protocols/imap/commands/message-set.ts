/**
 * Shared by the commands on messages (FETCH, STORE, COPY, MOVE, UID
 * EXPUNGE): the message set of a command, "$" included (SEARCHRES, RFC 5182
 * 2.1: the saved result, selected.ts), and flag changes made by the session
 * itself (RFC 9051 6.4.5 implied \Seen, 6.4.6 STORE). SEARCH resolves its
 * sets itself (selected.ts searchSeqUids: no BAD for numbers above EXISTS).
 */
import type { Numbered } from '../parser/index.ts';
import type { SelectedMailbox } from '../selected.ts';
import type { StoreFlagsInput, StoreFlagsResult } from '../services.ts';
import type { SessionApi } from './api.ts';

/** The sequence numbers a command names ("$": the saved result), ascending; null: a sequence number out of range (BAD). */
export function resolveSet(box: SelectedMailbox, cmd: Numbered): number[] | null {
  return cmd.uid ? box.resolveUids(cmd.set) : box.resolveSeqs(cmd.set);
}

/** UID ranges of ascending UIDs. */
export function uidRanges(uids: readonly number[]): { first: number; last: number }[] {
  const ranges: { first: number; last: number }[] = [];
  for (const u of uids) {
    const last = ranges.at(-1);
    if (last && last.last + 1 === u) last.last = u;
    else ranges.push({ first: u, last: u });
  }
  return ranges;
}

/**
 * A flag change by this session. When it is the only change since the
 * session's modseq, the session's modseq moves past it, so the next NOOP
 * does not report the session's own change back as FETCH.
 */
export async function changeFlags(s: SessionApi, box: SelectedMailbox, input: Omit<StoreFlagsInput, 'accountId' | 'mailboxId'>): Promise<StoreFlagsResult> {
  const state = s.state;
  if (state.kind !== 'selected') throw new Error('flag change without a selected mailbox');
  const result = await s.services.storeFlags({ ...input, accountId: state.user.id, mailboxId: box.id });
  if (result.changed.length > 0 && result.highestModseq === box.modseq + 1n) box.modseq = result.highestModseq;
  return result;
}

/** FETCH's implied \Seen (RFC 9051 6.4.5): the UIDs whose flags changed. */
export async function seenStored(s: SessionApi, box: SelectedMailbox, uids: readonly number[]): Promise<Set<number>> {
  const sorted = [...uids].sort((a, b) => a - b);
  const result = await changeFlags(s, box, { uids: uidRanges(sorted), operation: 'add', flags: ['\\Seen'] });
  return new Set(result.changed.map((m) => m.uid));
}
