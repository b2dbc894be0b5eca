/**
 * STORE / UID STORE (RFC 9051 6.4.6) with CONDSTORE UNCHANGEDSINCE (RFC 7162
 * 3.1.3): add, remove or replace flags and keywords of a set of UIDs of one
 * mailbox, atomically, in one transaction (mailbox row lock, then one
 * statement: store/flags.ts). Messages whose flags change get one new modseq,
 * higher than any before in the mailbox; those already as asked keep theirs.
 */
import { InvalidInputError, NotFoundError } from '../lib/errors.ts';
import type { AccountId, MailboxId, ModSeq, Uid } from '../lib/ids.ts';
import { normalizeUidRanges, type UidRange } from '../lib/uid-ranges.ts';
import * as store from '../store/flags.ts';
import type { SystemFlags } from '../store/messages.ts';
import type { SystemFlag } from './append.ts';
import type { CoreContext } from './context.ts';
import { announce } from './locked-mailboxes.ts';

export type FlagOperation = store.FlagOperation;

/** A message's flags as FETCH FLAGS lists them (system flags first, then keywords), and its modseq. */
export interface FlagState {
  uid: Uid;
  modseq: ModSeq;
  flags: string[];
}

const SYSTEM: readonly [SystemFlag, keyof SystemFlags][] = [
  ['\\Seen', 'seen'],
  ['\\Answered', 'answered'],
  ['\\Flagged', 'flagged'],
  ['\\Deleted', 'deleted'],
  ['\\Draft', 'draft'],
];

/** RFC 9051 flag-keyword: an atom without specials or backslash (the same rule as APPEND). */
const KEYWORD = /^[^\s(){%*"\\\]\x00-\x1f\x7f]{1,128}$/;

/** The flag names (system flags first, then keywords) of stored flags. */
export function flagNames(flags: SystemFlags, keywords: readonly string[]): string[] {
  const out: string[] = [];
  for (const [name, key] of SYSTEM) if (flags[key]) out.push(name);
  return out.concat(keywords);
}

/**
 * Splits a flag list into system flags and keywords: system flags match
 * case-insensitively, keywords are checked and deduplicated case-insensitively
 * (first spelling kept). \Recent cannot be stored (RFC 3501 2.3.2), nor any
 * other backslash flag: InvalidInputError.
 */
export function parseFlags(flags: readonly string[]): store.FlagChange {
  const system: SystemFlags = { seen: false, answered: false, flagged: false, deleted: false, draft: false };
  const keywords: string[] = [];
  const seen = new Set<string>();
  for (const f of flags) {
    if (f.startsWith('\\')) {
      const match = SYSTEM.find(([name]) => name.toLowerCase() === f.toLowerCase());
      if (!match) throw new InvalidInputError(`flag ${f} cannot be stored`);
      system[match[1]] = true;
      continue;
    }
    if (!KEYWORD.test(f)) throw new InvalidInputError(`invalid keyword: ${JSON.stringify(f)}`);
    if (seen.has(f.toLowerCase())) continue;
    seen.add(f.toLowerCase());
    keywords.push(f);
  }
  return { system, keywords };
}

export interface StoreFlagsInput {
  accountId: AccountId;
  mailboxId: MailboxId;
  /** UIDs ("*" already resolved by the caller); UIDs that do not exist are ignored. */
  uids: readonly { first: number; last: number }[];
  operation: FlagOperation;
  flags: readonly string[];
  /** CONDSTORE UNCHANGEDSINCE (RFC 7162 3.1.3); null/absent: unconditional. */
  unchangedSince?: bigint | null;
}

export interface StoreFlagsResult {
  /** Changed messages with their new flags and modseq (all the same modseq). */
  changed: FlagState[];
  /** Matched but already as asked (their FETCH FLAGS for a non-silent STORE). */
  unchanged: FlagState[];
  /** Failed UNCHANGEDSINCE: RFC 7162 3.1.3 [MODIFIED uids]; their current flags. */
  modified: FlagState[];
  /** The mailbox's highest modseq after the STORE. */
  highestModseq: ModSeq;
}

function state(r: store.FlagRow): FlagState {
  return { uid: r.uid as Uid, modseq: r.modseq as ModSeq, flags: flagNames(r.flags, r.keywords) };
}

export async function storeFlags(ctx: CoreContext, input: StoreFlagsInput): Promise<StoreFlagsResult> {
  const change = parseFlags(input.flags);
  const uids: UidRange[] = normalizeUidRanges(input.uids);
  const unchangedSince = input.unchangedSince ?? null;
  const rows = await store.storeFlags(ctx.db, input.accountId, input.mailboxId, uids, input.operation, change, unchangedSince);
  if (!rows) throw new NotFoundError(`mailbox ${input.mailboxId} does not exist`);
  const result = { rows, highest: rows.highestModseq };
  if (result.rows.changed.length > 0) announce(ctx, [{ mailboxId: input.mailboxId, modseq: result.highest }]);
  return {
    changed: result.rows.changed.map(state),
    unchanged: result.rows.unchanged.map(state),
    modified: result.rows.failed.map(state),
    highestModseq: result.highest as ModSeq,
  };
}
