/**
 * STORE (RFC 9051 6.4.6) on a set of UIDs of one mailbox, with CONDSTORE's
 * UNCHANGEDSINCE (RFC 7162 3.1.3), in ONE statement, sent in one batch
 * (Database.batch: one round trip) after the statement that locks the
 * mailbox row (mailbox-locks.ts). The statement reads the locked
 * highest_modseq + 1 itself: every message whose flags change gets that modseq (RFC
 * 7162 3.1: different STOREs get different mod-sequences, one STORE may give
 * all its messages the same one), the mailbox's highest_modseq becomes it,
 * and each change is journaled (kind 'flags'). A message whose flags would
 * not change keeps its modseq; when nothing changes the mailbox is untouched.
 *
 * Keywords compare case-insensitively (RFC 9051 9: atoms are case-insensitive)
 * and keep the spelling they were first stored with.
 */
import type { AccountId, MailboxId } from '../lib/ids.ts';
import { rangeBounds, type UidRange } from '../lib/uid-ranges.ts';
import type { Database } from './db.ts';
import { lockedMailboxes, lockMailboxesStatement, type LockedMailbox } from './mailbox-locks.ts';
import type { SystemFlags } from './messages.ts';

export type FlagOperation = 'add' | 'remove' | 'replace';

export interface FlagChange {
  /** For add/remove: the flags to add or remove; for replace: the new set. */
  system: SystemFlags;
  /** Deduplicated case-insensitively by the caller. */
  keywords: readonly string[];
}

export interface FlagRow {
  uid: number;
  modseq: bigint;
  flags: SystemFlags;
  keywords: string[];
}

export interface StoreFlagsResult {
  /** Flags changed: the new flags and the new modseq. */
  changed: FlagRow[];
  /** Matched but already as asked: current flags and modseq. */
  unchanged: FlagRow[];
  /** Failed UNCHANGEDSINCE (their modseq is higher): not changed; current flags (RFC 7162 3.1.3 MODIFIED). */
  failed: FlagRow[];
}

const SYSTEM = ['seen', 'answered', 'flagged', 'deleted', 'draft'] as const;

function systemExpr(op: FlagOperation, col: string, param: string): string {
  if (op === 'add') return `(m.${col} OR ${param}::boolean)`;
  if (op === 'remove') return `(m.${col} AND NOT ${param}::boolean)`;
  return `${param}::boolean`;
}

// $11: the keywords as given (compared in lower case).
const KEYWORDS: Record<FlagOperation, { value: string; changed: string }> = {
  add: {
    value: `m.keywords || ARRAY(SELECT k FROM unnest($11::text[]) WITH ORDINALITY AS u(k, i)
                                WHERE lower(k) <> ALL (SELECT lower(x) FROM unnest(m.keywords) AS x) ORDER BY i)`,
    changed: 'cardinality(n_keywords) <> cardinality(keywords)',
  },
  remove: {
    value: `ARRAY(SELECT x FROM unnest(m.keywords) WITH ORDINALITY AS u(x, i) 
                 WHERE lower(x) <> ALL (SELECT lower(k) FROM unnest($11::text[]) AS k) ORDER BY i)`,
    changed: 'cardinality(n_keywords) <> cardinality(keywords)',
  },
  replace: {
    value: '$11::text[]',
    changed: `cardinality(n_keywords) <> cardinality(keywords)
              OR EXISTS (SELECT 1 FROM unnest($11::text[]) AS k WHERE lower(k) <> ALL (SELECT lower(x) FROM unnest(keywords) AS x))`,
  },
};

// $4: the account; the new modseq is read from the mailbox row the batch's first statement locked.
const MODSEQ = '(SELECT highest_modseq + 1 FROM mailboxes WHERE id = $1 AND account_id = $4)';

function storeSql(op: FlagOperation): string {
  const sys = SYSTEM.map((c, i) => `${systemExpr(op, c, `$${6 + i}`)} AS n_${c}`).join(', ');
  const sysChanged = SYSTEM.map((c) => `n_${c} <> ${c}`).join(' OR ');
  return `
    WITH next AS (SELECT ${MODSEQ} AS modseq), target AS (
      SELECT m.id, m.uid, m.modseq, m.seen, m.answered, m.flagged, m.deleted, m.draft, m.keywords,
             ${sys}, ${KEYWORDS[op].value} AS n_keywords,
             ($5::bigint IS NOT NULL AND m.modseq > $5::bigint) AS failed
        FROM messages m JOIN unnest($2::bigint[], $3::bigint[]) AS r(lo, hi) ON m.uid BETWEEN r.lo AND r.hi
       WHERE m.mailbox_id = $1 AND (SELECT modseq FROM next) IS NOT NULL
    ), judged AS (
      SELECT *, (${sysChanged} OR ${KEYWORDS[op].changed}) AS changed FROM target
    ), upd AS (
      UPDATE messages m
         SET seen = t.n_seen, answered = t.n_answered, flagged = t.n_flagged, deleted = t.n_deleted,
             draft = t.n_draft, keywords = t.n_keywords, modseq = (SELECT modseq FROM next)
        FROM judged t
       WHERE m.id = t.id AND t.changed AND NOT t.failed
      RETURNING m.uid, m.modseq, m.seen, m.answered, m.flagged, m.deleted, m.draft, m.keywords
    ), bump AS (
      UPDATE mailboxes SET highest_modseq = (SELECT modseq FROM next) WHERE id = $1 AND EXISTS (SELECT 1 FROM upd)
    ), journal AS (
      INSERT INTO mailbox_changes(mailbox_id, modseq, uid, kind) SELECT $1, (SELECT modseq FROM next), uid, 'flags' FROM upd
    )
    SELECT 'changed' AS state, uid, modseq, seen, answered, flagged, deleted, draft, keywords FROM upd
    UNION ALL
    SELECT CASE WHEN failed THEN 'failed' ELSE 'unchanged' END, uid, modseq, seen, answered, flagged, deleted, draft, keywords
      FROM judged WHERE failed OR NOT changed
    ORDER BY uid`;
}

const SQL: Record<FlagOperation, string> = { add: storeSql('add'), remove: storeSql('remove'), replace: storeSql('replace') };

/**
 * Locks the account's mailbox and changes the flags, in one transaction sent
 * as one batch. Undefined: not the account's mailbox (nothing changed).
 * `mailbox`: the locked row as it was before the change.
 */
export async function storeFlags(
  db: Database,
  accountId: AccountId,
  mailboxId: MailboxId,
  uids: readonly UidRange[],
  op: FlagOperation,
  change: FlagChange,
  unchangedSince: bigint | null,
): Promise<(StoreFlagsResult & { mailbox: LockedMailbox }) | undefined> {
  const [lo, hi] = rangeBounds(uids);
  const s = change.system;
  const [locked, changed] = await db.batch([
    lockMailboxesStatement(accountId, [mailboxId]),
    {
      sql: SQL[op],
      params: [
        mailboxId,
        lo,
        hi,
        accountId,
        unchangedSince === null ? null : unchangedSince.toString(),
        s.seen,
        s.answered,
        s.flagged,
        s.deleted,
        s.draft,
        [...change.keywords],
      ],
    },
  ]);
  const mailbox = lockedMailboxes(locked ?? [])[0];
  if (!mailbox) return undefined;
  const rows = (changed ?? []) as {
    state: 'changed' | 'unchanged' | 'failed';
    uid: string;
    modseq: string;
    seen: boolean;
    answered: boolean;
    flagged: boolean;
    deleted: boolean;
    draft: boolean;
    keywords: string[];
  }[];
  const out: StoreFlagsResult & { mailbox: LockedMailbox } = { changed: [], unchanged: [], failed: [], mailbox };
  for (const r of rows) {
    out[r.state].push({
      uid: Number(r.uid),
      modseq: BigInt(r.modseq),
      flags: { seen: r.seen, answered: r.answered, flagged: r.flagged, deleted: r.deleted, draft: r.draft },
      keywords: r.keywords,
    });
  }
  return out;
}
