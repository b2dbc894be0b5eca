/**
 * What IMAP FETCH reads (RFC 9051 6.4.5): message rows of one mailbox by UID
 * (one query per batch, no content), and octet ranges of a message's bytes
 * (header_prefix || blob) read with substring() on the blob, so a partial
 * FETCH of a large message never loads it whole and a whole body is read in
 * bounded chunks.
 */
import type { AccountId, MailboxId, MessageId } from '../lib/ids.ts';
import { laneForUids, type Queryable } from './db.ts';
import type { SystemFlags } from './messages.ts';

export interface FetchRow {
  /** The mailbox's highest modseq, in the same snapshot as the row. */
  highestModseq: bigint;
  id: MessageId;
  uid: number;
  modseq: bigint;
  /** RFC822.SIZE: header_prefix + blob. */
  size: number;
  internalDate: Date;
  flags: SystemFlags;
  keywords: string[];
  /** messages.envelope / messages.bodystructure as stored (JSON), null when not computed. */
  envelope: unknown;
  bodystructure: unknown;
  /** The header prefix (Received, Delivered-To...), prepended to the blob. */
  headerPrefix: Buffer;
  /** messages.blob_id: the same for a message and its copies (RFC 8474 EMAILID). */
  blobId: number;
  /** Leading octets of the blob read with the row (FetchContent), or null. */
  content: Buffer | null;
  /** Octets of the blob's header section (the stored structure's body start), null when not computed. */
  headerEnd: number | null;
}

/**
 * Blob octets a FETCH batch reads with its rows, saving a query per message:
 * 'none'; 'header': the top-level header section (from the stored structure);
 * 'headerOnly': the same without the envelope and structure columns (a
 * message list's header FETCH needs neither, and parsing their JSON is most
 * of the cost of a row); 'small': the whole blob when it is at most
 * SMALL_BLOB octets.
 */
export type FetchContent = 'none' | 'header' | 'headerOnly' | 'small';

/** Largest blob read whole with its row: a batch of 100 holds at most 6.4 MB. */
export const SMALL_BLOB = 64 * 1024;

const FETCH_COLUMNS = `b.highest_modseq, m.id, m.uid, m.modseq, m.size, m.internal_date, m.seen, m.answered, m.flagged, m.deleted, m.draft,
            m.keywords, m.envelope, m.bodystructure, m.header_prefix, m.blob_id, (m.bodystructure->'o'->>1)::int AS header_end`;
// The blob octets come from a subquery per row, not a join: the planner then
// reads each blob by its primary key instead of hashing the whole blobs table
// (measured: a seq scan of every blob per FETCH batch with the join).
const HEADER_CONTENT = `CASE WHEN m.bodystructure IS NOT NULL THEN
    (SELECT substring(d.data FROM 1 FOR (m.bodystructure->'o'->>1)::int) FROM blobs d WHERE d.id = m.blob_id) END AS content`;
const SMALL_CONTENT = `(SELECT CASE WHEN d.size <= ${SMALL_BLOB} THEN d.data END FROM blobs d WHERE d.id = m.blob_id) AS content`;
const FETCH_FROM = 'FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id';
const FETCH_WHERE = 'WHERE b.id = $1 AND b.account_id = $2 AND m.mailbox_id = $1 AND m.uid = ANY($3::int[]) ORDER BY m.uid';

/** One static statement per kind (each is prepared once per connection). */
const FETCH_SQL: Record<FetchContent, string> = {
  none: `SELECT ${FETCH_COLUMNS}, NULL::bytea AS content ${FETCH_FROM} ${FETCH_WHERE}`,
  header: `SELECT ${FETCH_COLUMNS}, ${HEADER_CONTENT} ${FETCH_FROM} ${FETCH_WHERE}`,
  headerOnly: `SELECT ${FETCH_COLUMNS.replace('m.envelope, m.bodystructure,', 'NULL::jsonb AS envelope, NULL::jsonb AS bodystructure,')}, ${HEADER_CONTENT} ${FETCH_FROM} ${FETCH_WHERE}`,
  small: `SELECT ${FETCH_COLUMNS}, ${SMALL_CONTENT} ${FETCH_FROM} ${FETCH_WHERE}`,
};

/** The rows of `uids` (ascending) in the account's mailbox; missing UIDs are left out. */
export async function fetchRows(
  q: Queryable,
  accountId: AccountId,
  mailboxId: MailboxId,
  uids: readonly number[],
  content: FetchContent = 'none',
): Promise<FetchRow[]> {
  if (uids.length === 0) return [];
  // A batch of small rows is short; one that carries whole bodies (up to 64 KB each) is not.
  const rows = await q.query(FETCH_SQL[content], [mailboxId, accountId, [...uids]], content === 'small' ? { lane: 'long' } : laneForUids(uids.length));
  return rows.map((r) => ({
    highestModseq: BigInt(r.highest_modseq as string),
    id: Number(r.id) as MessageId,
    uid: Number(r.uid),
    modseq: BigInt(r.modseq as string),
    size: Number(r.size),
    internalDate: r.internal_date as Date,
    flags: {
      seen: r.seen as boolean,
      answered: r.answered as boolean,
      flagged: r.flagged as boolean,
      deleted: r.deleted as boolean,
      draft: r.draft as boolean,
    },
    keywords: r.keywords as string[],
    envelope: typeof r.envelope === 'string' ? JSON.parse(r.envelope) : r.envelope,
    bodystructure: typeof r.bodystructure === 'string' ? JSON.parse(r.bodystructure) : r.bodystructure,
    headerPrefix: r.header_prefix as Buffer,
    blobId: Number(r.blob_id),
    content: (r.content as Buffer | null) ?? null,
    headerEnd: r.header_end == null ? null : Number(r.header_end),
  }));
}

/** The mutable part of a message row: what FETCH FLAGS / MODSEQ need (the rest is cached per node, core/message-cache.ts). */
export interface StateRow {
  uid: number;
  modseq: bigint;
  flags: SystemFlags;
  keywords: string[];
}

// Flags as bits and keywords NULL when empty: narrow rows parse faster (as store/mailbox-sync.ts flagsChunk).
const STATE_SQL = `SELECT m.uid, m.modseq, b.highest_modseq,
       (m.seen::int | (m.answered::int << 1) | (m.flagged::int << 2) | (m.deleted::int << 3) | (m.draft::int << 4)) AS f,
       CASE WHEN cardinality(m.keywords) = 0 THEN NULL ELSE m.keywords END AS k
  ${FETCH_FROM} ${FETCH_WHERE}`;

/**
 * Flags and modseq of `uids` (ascending) in the account's mailbox; missing
 * UIDs are left out. `highestModseq`: the mailbox's, in the same snapshot
 * (null when no row came back).
 */
export async function fetchStates(
  q: Queryable,
  accountId: AccountId,
  mailboxId: MailboxId,
  uids: readonly number[],
): Promise<{ rows: StateRow[]; highestModseq: bigint | null }> {
  if (uids.length === 0) return { rows: [], highestModseq: null };
  const rows = await q.query<{ uid: string; modseq: string; highest_modseq: string; f: number; k: string[] | null }>(STATE_SQL, [mailboxId, accountId, [...uids]], laneForUids(uids.length));
  const highest = rows[0] ? BigInt(rows[0].highest_modseq) : null;
  return { highestModseq: highest, rows: rows.map((r) => {
    const f = Number(r.f);
    return {
      uid: Number(r.uid),
      modseq: BigInt(r.modseq),
      flags: { seen: (f & 1) !== 0, answered: (f & 2) !== 0, flagged: (f & 4) !== 0, deleted: (f & 8) !== 0, draft: (f & 16) !== 0 },
      keywords: r.k ?? [],
    };
  }) };
}

/**
 * Octets [start, end) of the blob of message `id` (offsets into the blob,
 * not the message). substring() is 1-based; past the end gives fewer octets.
 */
export async function readBlobRange(q: Queryable, id: MessageId, start: number, end: number): Promise<Buffer> {
  if (end <= start) return Buffer.alloc(0);
  const rows = await q.query<{ data: Buffer }>(
    'SELECT substring(b.data FROM $2::int FOR $3::int) AS data FROM messages m JOIN blobs b ON b.id = m.blob_id WHERE m.id = $1',
    [id, start + 1, end - start],
    { lane: 'long', byteaColumns: true },
  );
  return rows[0]?.data ?? Buffer.alloc(0);
}
