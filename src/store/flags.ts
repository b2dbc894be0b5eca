/**
 * STORE (RFC 9051 6.4.6) on a set of UIDs of one mailbox, with CONDSTORE's
 * UNCHANGEDSINCE (RFC 7162 3.1.3), as ONE autocommit statement: one round
 * trip, no BEGIN / lock / COMMIT messages (each of which costs a wake-up of
 * the backend and of the node).
 *
 * The mailbox row is the lock (store/mailbox-locks.ts): the statement bumps
 * highest_modseq first (the UPDATE waits for any transaction holding the row
 * and then sees its latest version), and every message whose flags change
 * gets that new modseq (RFC 7162 3.1: different STOREs get different
 * mod-sequences, one STORE may give all its messages the same one). Each
 * change is journaled (kind 'flags').
 *
 * Why one statement is safe under READ COMMITTED: the statement's snapshot
 * may predate a STORE that committed while this one waited for the row, but
 * the new flags are computed from the message row being updated (m.*), and
 * PostgreSQL re-evaluates the SET list and the WHERE clause on the latest
 * version of a row changed meanwhile (EvalPlanQual), so no concurrent change
 * is lost. Only the decision whether anything changes at all is taken on the
 * snapshot: when it says nothing does, the STORE is a no-op ordered before
 * the concurrent one (its outcome reaches the client as that one's FETCH);
 * when it says something does and the concurrent STORE already did it, the
 * mod-sequence rises with no message changed, which RFC 7162 allows.
 * A message whose flags would not change keeps its modseq; when nothing
 * changes the mailbox is untouched.
 *
 * Keywords compare case-insensitively (RFC 9051 9: atoms are case-insensitive)
 * and keep the spelling they were first stored with.
 */
import type { AccountId, MailboxId } from '../lib/ids.ts';
import { countUids, rangeBounds, type UidRange } from '../lib/uid-ranges.ts';
import { laneForUids, type Queryable } from './db.ts';
import type { SystemFlags } from './messages.ts';
import { messagesInRanges } from './uid-sql.ts';

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

/** The new value of a system flag column of `m`; $6.. are the flags given. */
function systemExpr(op: FlagOperation, col: string, param: string): string {
  if (op === 'add') return `(m.${col} OR ${param}::boolean)`;
  if (op === 'remove') return `(m.${col} AND NOT ${param}::boolean)`;
  return `${param}::boolean`;
}

// $11: the keywords as given (deduplicated, compared in lower case). Each
// expression reads the row `m`, so it is recomputed on a row's latest version.
const KEYWORDS: Record<FlagOperation, { value: string; changes: string }> = {
  add: {
    value: `m.keywords || ARRAY(SELECT k FROM unnest($11::text[]) WITH ORDINALITY AS u(k, i)
                                WHERE lower(k) <> ALL (SELECT lower(x) FROM unnest(m.keywords) AS x) ORDER BY i)`,
    changes: 'EXISTS (SELECT 1 FROM unnest($11::text[]) AS k WHERE lower(k) <> ALL (SELECT lower(x) FROM unnest(m.keywords) AS x))',
  },
  remove: {
    value: `ARRAY(SELECT x FROM unnest(m.keywords) WITH ORDINALITY AS u(x, i)
                 WHERE lower(x) <> ALL (SELECT lower(k) FROM unnest($11::text[]) AS k) ORDER BY i)`,
    changes: 'EXISTS (SELECT 1 FROM unnest(m.keywords) AS x WHERE lower(x) = ANY (SELECT lower(k) FROM unnest($11::text[]) AS k))',
  },
  replace: {
    value: '$11::text[]',
    changes: `(cardinality($11::text[]) <> cardinality(m.keywords)
               OR EXISTS (SELECT 1 FROM unnest($11::text[]) AS k WHERE lower(k) <> ALL (SELECT lower(x) FROM unnest(m.keywords) AS x)))`,
  },
};

// $5: UNCHANGEDSINCE, NULL when not given.
const FAILED = '($5::bigint IS NOT NULL AND m.modseq > $5::bigint)';
const FLAG_COLS = 'seen, answered, flagged, deleted, draft, keywords';

function storeSql(op: FlagOperation): string {
  const changes = `(${SYSTEM.map((c, i) => `${systemExpr(op, c, `$${6 + i}`)} <> m.${c}`).join(' OR ')} OR ${KEYWORDS[op].changes})`;
  const set = SYSTEM.map((c, i) => `${c} = ${systemExpr(op, c, `$${6 + i}`)}`).join(', ');
  return `
    WITH box AS (
      SELECT highest_modseq FROM mailboxes WHERE id = $1 AND account_id = $4
    ), scope AS (
      SELECT m.uid, m.modseq, m.${FLAG_COLS.split(', ').join(', m.')}, ${FAILED} AS failed, ${changes} AS changes
        FROM ${messagesInRanges('m', '$1', '$2', '$3')}
       WHERE EXISTS (SELECT 1 FROM box)
    ), bump AS (
      UPDATE mailboxes SET highest_modseq = highest_modseq + 1
       WHERE id = $1 AND account_id = $4 AND EXISTS (SELECT 1 FROM scope WHERE changes AND NOT failed)
      RETURNING highest_modseq
    ), upd AS (
      UPDATE messages m SET ${set}, keywords = ${KEYWORDS[op].value}, modseq = (SELECT highest_modseq FROM bump)
       WHERE m.mailbox_id = $1 AND m.uid = ANY (ARRAY(SELECT uid FROM scope WHERE changes AND NOT failed))
         AND (SELECT highest_modseq FROM bump) IS NOT NULL
         AND ${changes} AND NOT ${FAILED}
      RETURNING m.uid, m.modseq, m.${FLAG_COLS.split(', ').join(', m.')}
    ), journal AS (
      INSERT INTO mailbox_changes(mailbox_id, modseq, uid, kind) SELECT $1, modseq, uid, 'flags' FROM upd
    )
    SELECT 'mailbox' AS state, NULL::bigint AS uid, coalesce((SELECT highest_modseq FROM bump), highest_modseq) AS modseq,
           NULL::boolean AS seen, NULL::boolean AS answered, NULL::boolean AS flagged, NULL::boolean AS deleted,
           NULL::boolean AS draft, NULL::text[] AS keywords
      FROM box
    UNION ALL
    SELECT 'changed', uid, modseq, ${FLAG_COLS} FROM upd
    UNION ALL
    SELECT CASE WHEN failed THEN 'failed' ELSE 'unchanged' END, uid, modseq, ${FLAG_COLS}
      FROM scope WHERE (failed OR NOT changes) AND uid NOT IN (SELECT uid FROM upd)
    ORDER BY uid NULLS FIRST`;
}

/** The STORE statements by operation (exported for the plan test, test/store-plans.test.ts). */
export const STORE_SQL: Record<FlagOperation, string> = { add: storeSql('add'), remove: storeSql('remove'), replace: storeSql('replace') };

/**
 * Changes the flags in one statement. Undefined: not the account's mailbox
 * (nothing changed). `highestModseq`: the mailbox's after the STORE.
 */
export async function storeFlags(
  db: Queryable,
  accountId: AccountId,
  mailboxId: MailboxId,
  uids: readonly UidRange[],
  op: FlagOperation,
  change: FlagChange,
  unchangedSince: bigint | null,
): Promise<(StoreFlagsResult & { highestModseq: bigint }) | undefined> {
  const [lo, hi] = rangeBounds(uids);
  const s = change.system;
  const params = [mailboxId, lo, hi, accountId, unchangedSince === null ? null : unchangedSince.toString(),
    s.seen, s.answered, s.flagged, s.deleted, s.draft, [...change.keywords]];
  const rows = await db.query<{
    state: 'mailbox' | 'changed' | 'unchanged' | 'failed';
    uid: string | null;
    modseq: string;
    seen: boolean;
    answered: boolean;
    flagged: boolean;
    deleted: boolean;
    draft: boolean;
    keywords: string[];
  }>(STORE_SQL[op], params, laneForUids(countUids(uids)));
  const box = rows[0];
  if (box?.state !== 'mailbox') return undefined;
  const out: StoreFlagsResult & { highestModseq: bigint } = { changed: [], unchanged: [], failed: [], highestModseq: BigInt(box.modseq) };
  for (const r of rows) {
    if (r.state === 'mailbox') continue;
    out[r.state].push({
      uid: Number(r.uid),
      modseq: BigInt(r.modseq),
      flags: { seen: r.seen, answered: r.answered, flagged: r.flagged, deleted: r.deleted, draft: r.draft },
      keywords: r.keywords,
    });
  }
  return out;
}
