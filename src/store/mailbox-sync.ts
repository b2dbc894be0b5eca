/**
 * Reading a mailbox's state for SELECT/EXAMINE (RFC 9051 6.3.2), STATUS
 * (6.3.11), FETCH FLAGS over whole mailboxes, and CONDSTORE/QRESYNC
 * resynchronisation (RFC 7162 3.1.4, 3.2.5). Every function takes the account
 * id and reads nothing of a mailbox that is not the account's.
 */
import type { AccountId, MailboxId, UidValidity } from '../lib/ids.ts';
import { parseUidRanges, type UidRange } from '../lib/uid-ranges.ts';
import { SHORT_MAX_ROWS, type Queryable } from './db.ts';
import type { SystemFlags } from './messages.ts';
import { uidRangesAgg } from './uid-sql.ts';

/** What the caller's cache holds of a mailbox (mailboxSnapshot `known`). */
export interface KnownMessages {
  mailboxId: MailboxId;
  modseq: bigint;
  count: number;
}

export interface MailboxSnapshot {
  /**
   * The caller's KnownMessages matched (same mailbox, modseq and count): uids,
   * unseen and firstUnseenUid were not read (empty, 0, null); the caller's set is exact.
   */
  known: boolean;
  id: MailboxId;
  name: string;
  uidValidity: UidValidity;
  uidNext: number;
  highestModseq: bigint;
  /** Messages with uid >= recentUid are \Recent to whoever claims them (IMAP4rev1). */
  recentUid: number;
  /** Every UID, ascending, as ranges (the sequence-number map, RFC 9051 2.3.1.2). */
  uids: UidRange[];
  messageCount: number;
  totalSize: number;
  unseen: number;
  /** The lowest UID without \Seen, or null (rev1 SELECT: OK [UNSEEN n], as a sequence number). */
  firstUnseenUid: number | null;
}

/**
 * The per-message parts of the snapshot, skipped when the caller already
 * holds them: $3 a mailbox id, $4 its modseq and $5 its message count as the
 * node's flag cache knows them (NULLs when it does not). When the mailbox is
 * that one, still at that modseq (every change moves it) and with that many
 * messages, the node's set of messages is exactly the mailbox's, and the
 * statement reads no message at all (`known`); else it reads them as before.
 */
const KNOWN = 'mb.id = $3::bigint AND mb.highest_modseq = $4::bigint AND mb.message_count = $5::int';
const SNAPSHOT_SQL = `
  SELECT mb.id, mb.name, mb.uidvalidity, mb.uid_next, mb.highest_modseq, mb.recent_uid,
         mb.message_count, mb.total_size, coalesce(${KNOWN}, false) AS known,
         CASE WHEN ${KNOWN} THEN NULL ELSE ${uidRangesAgg('(SELECT uid FROM messages WHERE mailbox_id = mb.id) AS all_uids')} END AS uids,
         CASE WHEN ${KNOWN} THEN 0 ELSE (SELECT count(*) FROM messages WHERE mailbox_id = mb.id AND NOT seen) END AS unseen,
         CASE WHEN ${KNOWN} THEN NULL ELSE (SELECT min(uid) FROM messages WHERE mailbox_id = mb.id AND NOT seen) END AS first_unseen
    FROM mailboxes mb
   WHERE mb.id = $1 AND mb.account_id = $2`;

/**
 * SNAPSHOT_SQL that also claims \Recent (IMAP4rev1 read-write SELECT, RFC
 * 3501 2.3.2) in the same statement: recent_uid moves up to one past the
 * highest UID the statement's snapshot sees, so the claimed range [from, to)
 * never covers a message missing from the returned UID list (a delivery that
 * commits meanwhile stays unclaimed, for the next claim). The row lock of the
 * UPDATE makes two claimers on any nodes take disjoint ranges. With nothing
 * new to claim (the usual re-SELECT) the row is neither locked nor written, so
 * the statement stays read-only (no WAL, no commit flush) and claims [].
 */
const SNAPSHOT_CLAIM_SQL = `
  WITH top AS (
    SELECT coalesce(max(uid), 0) + 1 AS uid FROM messages WHERE mailbox_id = $1
  ), claim AS (
    UPDATE mailboxes mb SET recent_uid = top.uid
      FROM (SELECT id, recent_uid FROM mailboxes
             WHERE id = $1 AND account_id = $2 AND recent_uid < (SELECT uid FROM top) FOR UPDATE) AS old, top
     WHERE mb.id = old.id
     RETURNING old.recent_uid AS from_uid, mb.recent_uid AS to_uid
  )
  ${SNAPSHOT_SQL.replace('mb.message_count,', 'mb.message_count, coalesce((SELECT from_uid FROM claim), 0) AS claim_from, coalesce((SELECT to_uid FROM claim), 0) AS claim_to,')}`;

/**
 * The same statements with the mailbox named instead of numbered ($1 the
 * name, $2 the account): SELECT finds and reads the mailbox in one round trip.
 */
const byName = (sql: string): string => sql.replace(/\$1(?!\d)/g, '(SELECT id FROM mailboxes WHERE account_id = $2 AND name = $1)');
const SNAPSHOT_BY_NAME_SQL = byName(SNAPSHOT_SQL);
const SNAPSHOT_CLAIM_BY_NAME_SQL = byName(SNAPSHOT_CLAIM_SQL);

/** The largest mailbox whose cached snapshot check is a short statement (core's flag cache fills mailboxes up to 2,000 at SELECT). */
const SHORT_SNAPSHOT_MESSAGES = 2000;

/**
 * The whole state SELECT reports, in ONE statement (one snapshot, so the UID
 * list, the counts and highest_modseq agree): a few hundred octets for a
 * mailbox of 100,000 messages with few gaps in its UIDs. `claimRecent`: the
 * \Recent range this caller claimed comes back as `recent`. The mailbox is
 * given by id or by (normalized) name; undefined: not one of the account's.
 */
export async function mailboxSnapshot(
  q: Queryable,
  accountId: AccountId,
  mailbox: MailboxId | { name: string },
  opts: { claimRecent?: boolean; known?: KnownMessages | undefined } = {},
): Promise<(MailboxSnapshot & { recent: { from: number; to: number } | null }) | undefined> {
  const known = opts.known;
  const rows = await q.query<{
    known: boolean;
    claim_from?: string | null;
    claim_to?: string | null;
    id: string;
    name: string;
    uidvalidity: string;
    uid_next: string;
    highest_modseq: string;
    recent_uid: string;
    message_count: number;
    total_size: string;
    uids: string | null;
    unseen: string;
    first_unseen: string | null;
  }>(
    typeof mailbox === 'number'
      ? opts.claimRecent
        ? SNAPSHOT_CLAIM_SQL
        : SNAPSHOT_SQL
      : opts.claimRecent
        ? SNAPSHOT_CLAIM_BY_NAME_SQL
        : SNAPSHOT_BY_NAME_SQL,
    [
      typeof mailbox === 'number' ? mailbox : mailbox.name,
      accountId,
      known?.mailboxId ?? null,
      known ? known.modseq.toString() : null,
      known?.count ?? null,
    ],
    // With the node's flags of every message the statement reads the mailbox row alone (or, when they turn
    // out stale, the messages of a mailbox small enough to have been cached whole); else every message.
    known && known.count <= SHORT_SNAPSHOT_MESSAGES ? {} : { lane: 'long' },
  );
  const r = rows[0];
  if (!r) return undefined;
  return {
    known: r.known,
    recent: r.claim_from != null && r.claim_to != null ? { from: Number(r.claim_from), to: Number(r.claim_to) } : null,
    id: Number(r.id) as MailboxId,
    name: r.name,
    uidValidity: Number(r.uidvalidity) as UidValidity,
    uidNext: Number(r.uid_next),
    highestModseq: BigInt(r.highest_modseq),
    recentUid: Number(r.recent_uid),
    uids: parseUidRanges(r.uids),
    messageCount: r.message_count,
    totalSize: Number(r.total_size),
    unseen: Number(r.unseen),
    firstUnseenUid: r.first_unseen === null ? null : Number(r.first_unseen),
  };
}

/**
 * Claims the \Recent messages (IMAP4rev1, RFC 3501 2.3.2): moves recent_uid
 * up to uid_next and returns the range [from, to) that is recent to the
 * caller alone. The UPDATE locks the mailbox row, so two sessions on any
 * nodes never claim the same message. Undefined: no such mailbox of the account.
 */
export async function claimRecent(q: Queryable, accountId: AccountId, mailboxId: MailboxId): Promise<{ from: number; to: number } | undefined> {
  const rows = await q.query<{ from_uid: string; to_uid: string }>(
    `UPDATE mailboxes mb SET recent_uid = mb.uid_next
       FROM (SELECT id, recent_uid FROM mailboxes WHERE id = $1 AND account_id = $2 FOR UPDATE) AS old
      WHERE mb.id = old.id
      RETURNING old.recent_uid AS from_uid, mb.uid_next AS to_uid`,
    [mailboxId, accountId],
  );
  const r = rows[0];
  return r ? { from: Number(r.from_uid), to: Number(r.to_uid) } : undefined;
}

export interface MailboxStatusRow {
  id: MailboxId;
  name: string;
  uidValidity: UidValidity;
  uidNext: number;
  highestModseq: bigint;
  messages: number;
  size: number;
  unseen: number;
  deleted: number;
  /** Messages not claimed as \Recent yet (rev1 STATUS RECENT). */
  recent: number;
}

/**
 * STATUS (RFC 9051 6.3.11; SIZE: RFC 8438; HIGHESTMODSEQ: RFC 7162 3.1.8) of
 * several mailboxes in one query (LIST-STATUS, RFC 5819). The counts use the
 * partial indexes of migration 0005; `withCounts` false skips them.
 */
export async function mailboxStatuses(
  q: Queryable,
  accountId: AccountId,
  ids: readonly MailboxId[],
  withCounts: boolean,
): Promise<MailboxStatusRow[]> {
  const rows = await q.query<{
    id: string;
    name: string;
    uidvalidity: string;
    uid_next: string;
    highest_modseq: string;
    message_count: number;
    total_size: string;
    unseen: string;
    deleted: string;
    recent: string;
  }>(
    `SELECT mb.id, mb.name, mb.uidvalidity, mb.uid_next, mb.highest_modseq, mb.message_count, mb.total_size,
            CASE WHEN $3::boolean THEN (SELECT count(*) FROM messages WHERE mailbox_id = mb.id AND NOT seen) ELSE 0 END AS unseen,
            CASE WHEN $3::boolean THEN (SELECT count(*) FROM messages WHERE mailbox_id = mb.id AND deleted) ELSE 0 END AS deleted,
            CASE WHEN $3::boolean THEN (SELECT count(*) FROM messages WHERE mailbox_id = mb.id AND uid >= mb.recent_uid) ELSE 0 END AS recent
       FROM mailboxes mb
      WHERE mb.account_id = $1 AND mb.id = ANY($2::bigint[])
      ORDER BY mb.id`,
    [accountId, [...ids], withCounts],
  );
  return rows.map((r) => ({
    id: Number(r.id) as MailboxId,
    name: r.name,
    uidValidity: Number(r.uidvalidity) as UidValidity,
    uidNext: Number(r.uid_next),
    highestModseq: BigInt(r.highest_modseq),
    messages: r.message_count,
    size: Number(r.total_size),
    unseen: Number(r.unseen),
    deleted: Number(r.deleted),
    recent: Number(r.recent),
  }));
}

export interface FlagsRow {
  uid: number;
  modseq: bigint;
  flags: SystemFlags;
  keywords: string[];
}

/**
 * FETCH FLAGS (and MODSEQ) of the messages with fromUid <= uid <= toUid and
 * modseq > changedSince (0: all), ascending by UID, at most `limit` rows: one
 * chunk of a keyset iteration (the next chunk starts after the last UID).
 * Undefined when the mailbox is not the account's.
 */
export async function flagsChunk(
  q: Queryable,
  accountId: AccountId,
  mailboxId: MailboxId,
  fromUid: number,
  toUid: number,
  changedSince: bigint,
  limit: number,
): Promise<FlagsRow[] | undefined> {
  const rows = await q.query<{ uid: string | null; modseq: string | null; f: number | null; k: string[] | null }>(
    // The LEFT JOIN from the mailbox row tells "no such mailbox" (no row) from "no messages" (one row of
    // NULLs). Four narrow columns (flags as bits, keywords NULL when empty) parse markedly faster than
    // nine when a chunk has tens of thousands of rows.
    `SELECT m.uid, m.modseq, m.f, m.k
       FROM mailboxes mb
       LEFT JOIN LATERAL (
         SELECT uid, modseq, (seen::int | (answered::int << 1) | (flagged::int << 2) | (deleted::int << 3) | (draft::int << 4)) AS f,
                CASE WHEN cardinality(keywords) = 0 THEN NULL ELSE keywords END AS k
           FROM messages
          WHERE mailbox_id = mb.id AND uid BETWEEN $3 AND $4 AND modseq > $5::bigint
          ORDER BY uid LIMIT $6
       ) m ON true
      WHERE mb.id = $1 AND mb.account_id = $2
      ORDER BY m.uid`,
    [mailboxId, accountId, fromUid, toUid, changedSince.toString(), limit],
    limit > SHORT_MAX_ROWS ? { lane: 'long' } : {},
  );
  if (rows.length === 0) return undefined;
  const out: FlagsRow[] = [];
  for (const r of rows) {
    if (r.uid === null) continue;
    const f = r.f ?? 0;
    out.push({
      uid: Number(r.uid),
      modseq: BigInt(r.modseq!),
      flags: { seen: (f & 1) !== 0, answered: (f & 2) !== 0, flagged: (f & 4) !== 0, deleted: (f & 8) !== 0, draft: (f & 16) !== 0 },
      keywords: r.k ?? [],
    });
  }
  return out;
}

export interface VanishedSince {
  highestModseq: bigint;
  uidNext: number;
  tombstoneFloor: bigint;
  /**
   * Expunged UIDs with since < modseq <= upTo, ascending. When `complete` is
   * false (since < tombstone_floor: the tombstones were pruned), every UID
   * below uid_next that is not in the mailbox now: a superset of what vanished.
   */
  vanished: UidRange[];
  complete: boolean;
}

/**
 * What vanished since a modseq (QRESYNC, RFC 7162 3.2.5 and 3.2.10 VANISHED
 * (EARLIER)), in one statement. `upTo` bounds the tombstones read (the
 * HIGHESTMODSEQ the session reports); null: no bound.
 */
export async function vanishedSince(
  q: Queryable,
  accountId: AccountId,
  mailboxId: MailboxId,
  since: bigint,
  upTo: bigint | null,
): Promise<VanishedSince | undefined> {
  const rows = await q.query<{ highest_modseq: string; uid_next: string; tombstone_floor: string; complete: boolean; vanished: string | null }>(
    `SELECT mb.highest_modseq, mb.uid_next, mb.tombstone_floor, $3::bigint >= mb.tombstone_floor AS complete,
            CASE WHEN $3::bigint >= mb.tombstone_floor THEN
              ${uidRangesAgg(`(SELECT DISTINCT uid FROM mailbox_changes
                                 WHERE mailbox_id = mb.id AND kind = 'expunge' AND modseq > $3::bigint
                                   AND ($4::bigint IS NULL OR modseq <= $4::bigint)) AS tombstones`)}
            ELSE
              (SELECT string_agg(CASE WHEN lo = hi THEN lo::text ELSE lo::text || ':' || hi::text END, ',' ORDER BY lo)
                 FROM (SELECT lag(uid, 1, 0::bigint) OVER (ORDER BY uid) + 1 AS lo, uid - 1 AS hi
                         FROM (SELECT uid FROM messages WHERE mailbox_id = mb.id UNION ALL SELECT mb.uid_next) AS present) AS gaps
                WHERE lo <= hi)
            END AS vanished
       FROM mailboxes mb
      WHERE mb.id = $1 AND mb.account_id = $2`,
    [mailboxId, accountId, since.toString(), upTo === null ? null : upTo.toString()],
    // Usually a few journal rows; below the tombstone floor, every message of the mailbox.
    { lane: 'long' },
  );
  const r = rows[0];
  if (!r) return undefined;
  return {
    highestModseq: BigInt(r.highest_modseq),
    uidNext: Number(r.uid_next),
    tombstoneFloor: BigInt(r.tombstone_floor),
    vanished: parseUidRanges(r.vanished),
    complete: r.complete,
  };
}
