/** Blobs (content-addressed message bytes), messages and the change journal. */
import type { AccountId, BlobId, MailboxId, MessageId } from '../lib/ids.ts';
import type { Queryable } from './db.ts';

/**
 * Stores the bytes once per content: a blob already there (same SHA-256) is
 * reused without sending the bytes again. The ON CONFLICT ... DO UPDATE makes
 * a concurrent insert of the same content wait and return the one row.
 */
export async function putBlob(tx: Queryable, sha256: Buffer, data: Buffer): Promise<BlobId> {
  // FOR KEY SHARE: the row stays ours until commit, so the blob collector (blob-gc.ts) skips it.
  const found = await tx.query<{ id: string }>('SELECT id FROM blobs WHERE sha256 = $1 FOR KEY SHARE', [sha256]);
  if (found[0]) return Number(found[0].id) as BlobId;
  const rows = await tx.query<{ id: string }>(
    `INSERT INTO blobs(sha256, size, data) VALUES ($1, $2, $3)
     ON CONFLICT (sha256) DO UPDATE SET size = EXCLUDED.size RETURNING id`,
    [sha256, data.length, data],
  );
  return Number(rows[0]!.id) as BlobId;
}

export async function readBlob(q: Queryable, id: BlobId): Promise<Buffer | undefined> {
  const rows = await q.query<{ data: Buffer }>('SELECT data FROM blobs WHERE id = $1', [id]);
  return rows[0]?.data;
}

export interface SystemFlags {
  seen: boolean;
  answered: boolean;
  flagged: boolean;
  deleted: boolean;
  draft: boolean;
}

/** The message bytes: new content (stored once per SHA-256), or a blob stored earlier in this transaction. */
export type MessageContent = { sha256: Buffer; raw: Buffer } | { blobId: BlobId; size: number };

/** Where the message goes: a mailbox id, or an account's mailbox by name (saves a lookup per recipient). */
export type MessageTarget = MailboxId | { accountId: AccountId; name: string };

export interface NewMessage {
  mailbox: MessageTarget;
  content: MessageContent;
  /** Per-recipient header lines before the blob (Delivered-To); empty for most appends. */
  headerPrefix: Buffer;
  internalDate: Date;
  flags: SystemFlags;
  keywords: readonly string[];
  subject: string;
  fromAddress: string;
  messageId: string | null;
  sentAt: Date | null;
  /** IMAP ENVELOPE, raw form (mail/mime-json.ts; shape in migration 0004). */
  envelope: unknown;
  /** MIME tree with offsets into the blob (mail/mime-json.ts; shape in migration 0004). */
  bodystructure: unknown;
  /** Text for the full-text index (headers and text parts), already bounded in size. */
  searchText: string;
  /** The text's tsvector literal (mail/search-terms.ts searchVector); absent: the indexer builds it. */
  searchVector?: string | undefined;
}

/** The largest message an insert sends as a short statement (store/db.ts QueryOptions.lane). */
const SHORT_INSERT_OCTETS = 256 * 1024;

export interface InsertedMessage {
  id: MessageId;
  mailboxId: MailboxId;
  uid: number;
  modseq: bigint;
  blobId: number;
}

/**
 * Appends one message to a mailbox in ONE statement (one round trip, atomic
 * on its own or inside the caller's transaction):
 *  - alloc: takes the next UID and a new MODSEQ, and adds the message to the
 *    mailbox's message_count and total_size (quota usage); the UPDATE locks the mailbox
 *    row until the transaction ends, so appenders on any node get distinct,
 *    increasing UIDs and commit in UID order (a rollback leaves a gap, which
 *    IMAP allows);
 *  - blob: stores the bytes once per content; ON CONFLICT ... DO UPDATE makes
 *    a concurrent insert of the same content wait and return the one row (or
 *    takes a blob already stored by this transaction: one blob, many recipients);
 *  - msg + chg: the message row and its change-journal row;
 *  - srch: its text queued for the full-text index with the tsvector the node
 *    built (mail/search-terms.ts, migration 0007), moved to message_search
 *    off this path by core/search-indexer.ts (migrations/0003).
 * Every step hangs off alloc, so an unknown mailbox changes nothing (no rows).
 */
export async function insertMessage(q: Queryable, m: NewMessage): Promise<InsertedMessage | undefined> {
  const c = m.content;
  const byName = typeof m.mailbox === 'object' ? m.mailbox : undefined;
  // $2..$4: the content. New bytes are upserted by hash; a known blob id is just
  // selected ($4 is then NULL, but PostgreSQL wants every parameter typed: hence
  // the `$4::bytea IS NULL`).
  const blob =
    'sha256' in c
      ? `INSERT INTO blobs(sha256, size, data) SELECT $2, $3, $4 FROM alloc
         ON CONFLICT (sha256) DO UPDATE SET size = EXCLUDED.size
         RETURNING id`
      : `SELECT blobs.id FROM blobs, alloc WHERE blobs.id = $2 AND $4::bytea IS NULL`;
  const content = 'sha256' in c ? [c.sha256, c.raw.length, c.raw] : [c.blobId, c.size, null];
  const rows = await q.query<{ id: string; mailbox_id: string; uid: string; modseq: string; blob_id: string }>(
    `WITH alloc AS (
       UPDATE mailboxes SET uid_next = uid_next + 1, highest_modseq = highest_modseq + 1,
                            message_count = message_count + 1, total_size = total_size + length($5::bytea) + $3::int
        WHERE ${byName ? 'account_id = $1 AND name = $20' : 'id = $1 AND $20::text IS NULL'}
        RETURNING id, uid_next - 1 AS uid, highest_modseq AS modseq
     ), blob AS (
       ${blob}
     ), msg AS (
       INSERT INTO messages(mailbox_id, uid, modseq, blob_id, header_prefix, size, internal_date,
                            seen, answered, flagged, deleted, draft, keywords,
                            subject, from_address, message_id, sent_at, envelope, bodystructure)
       SELECT alloc.id, alloc.uid, alloc.modseq, blob.id, $5::bytea, length($5::bytea) + $3::int, $6, $7, $8, $9, $10, $11, $12::text[],
              $13, $14, $15, $16, $17::text::jsonb, $19::text::jsonb
         FROM alloc, blob
       RETURNING id, mailbox_id, uid, modseq, blob_id
     ), chg AS (
       INSERT INTO mailbox_changes(mailbox_id, modseq, uid, kind)
       SELECT mailbox_id, modseq, uid, 'append' FROM msg
     ), srch AS (
       INSERT INTO search_pending(message_id, text, vector) SELECT id, $18, $21::text::tsvector FROM msg
     )
     SELECT id, mailbox_id, uid, modseq, blob_id FROM msg`,
    [
      byName ? byName.accountId : m.mailbox, ...content, m.headerPrefix, m.internalDate,
      m.flags.seen, m.flags.answered, m.flags.flagged, m.flags.deleted, m.flags.draft, [...m.keywords],
      m.subject, m.fromAddress, m.messageId, m.sentAt, JSON.stringify(m.envelope), m.searchText,
      m.bodystructure == null ? null : JSON.stringify(m.bodystructure), byName ? byName.name : null, m.searchVector ?? null,
    ],
    // A large message's octets would hold up what is pipelined behind it.
    'sha256' in c && c.raw.length > SHORT_INSERT_OCTETS ? { lane: 'long' } : {},
  );
  const r = rows[0];
  return r
    ? { id: Number(r.id) as MessageId, mailboxId: Number(r.mailbox_id) as MailboxId, uid: Number(r.uid), modseq: BigInt(r.modseq), blobId: Number(r.blob_id) }
    : undefined;
}

/** The whole message as IMAP FETCH BODY[] returns it: header_prefix || blob. */
export async function readMessageBytes(q: Queryable, id: MessageId): Promise<Buffer | undefined> {
  const rows = await q.query<{ data: Buffer }>(
    'SELECT m.header_prefix || b.data AS data FROM messages m JOIN blobs b ON b.id = m.blob_id WHERE m.id = $1',
    [id],
  );
  return rows[0]?.data;
}

export interface MessageSummary {
  id: MessageId;
  uid: number;
  modseq: bigint;
  blobId: BlobId;
  size: number;
  internalDate: Date;
  subject: string;
  fromAddress: string;
  flags: SystemFlags;
  keywords: string[];
}

export async function listMessages(q: Queryable, mailboxId: MailboxId): Promise<MessageSummary[]> {
  const rows = await q.query(
    `SELECT id, uid, modseq, blob_id, size, internal_date, subject, from_address,
            seen, answered, flagged, deleted, draft, keywords
       FROM messages WHERE mailbox_id = $1 ORDER BY uid`,
    [mailboxId],
  );
  return rows.map((r) => ({
    id: Number(r.id) as MessageId,
    uid: Number(r.uid),
    modseq: BigInt(r.modseq as string),
    blobId: Number(r.blob_id) as BlobId,
    size: r.size as number,
    internalDate: r.internal_date as Date,
    subject: r.subject as string,
    fromAddress: r.from_address as string,
    flags: {
      seen: r.seen as boolean,
      answered: r.answered as boolean,
      flagged: r.flagged as boolean,
      deleted: r.deleted as boolean,
      draft: r.draft as boolean,
    },
    keywords: r.keywords as string[],
  }));
}

/**
 * The change journal of a mailbox after a modseq (tests read it). The journal
 * is pruned (journal-prune.ts: 'append'/'flags' rows after a day, tombstones
 * later), so for resynchronisation use mailbox-sync.ts: flagsChunk (changed
 * messages by messages.modseq) and vanishedSince (tombstones, with the floor).
 */
export async function changesSince(
  q: Queryable,
  mailboxId: MailboxId,
  modseq: bigint,
): Promise<{ modseq: bigint; uid: number; kind: 'append' | 'flags' | 'expunge' }[]> {
  const rows = await q.query<{ modseq: string; uid: string; kind: 'append' | 'flags' | 'expunge' }>(
    'SELECT modseq, uid, kind FROM mailbox_changes WHERE mailbox_id = $1 AND modseq > $2 ORDER BY modseq',
    [mailboxId, modseq.toString()],
  );
  return rows.map((r) => ({ modseq: BigInt(r.modseq), uid: Number(r.uid), kind: r.kind }));
}

export async function countBlobs(q: Queryable): Promise<number> {
  const rows = await q.query<{ n: string }>('SELECT count(*) AS n FROM blobs');
  return Number(rows[0]?.n ?? 0);
}
