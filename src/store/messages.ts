/** Blobs (content-addressed message bytes), messages and the change journal. */
import type { BlobId, MailboxId, MessageId } from '../lib/ids.ts';
import type { Queryable } from './db.ts';

/**
 * Stores the bytes once per content: a blob already there (same SHA-256) is
 * reused without sending the bytes again. The ON CONFLICT ... DO UPDATE makes
 * a concurrent insert of the same content wait and return the one row.
 */
export async function putBlob(tx: Queryable, sha256: Buffer, data: Buffer): Promise<BlobId> {
  const found = await tx.query<{ id: string }>('SELECT id FROM blobs WHERE sha256 = $1', [sha256]);
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

export interface NewMessage {
  mailboxId: MailboxId;
  uid: number;
  modseq: bigint;
  blobId: BlobId;
  size: number;
  internalDate: Date;
  flags: SystemFlags;
  keywords: readonly string[];
  subject: string;
  fromAddress: string;
  messageId: string | null;
  sentAt: Date | null;
  envelope: unknown;
  /** Text for the full-text index (headers and text parts), already bounded in size. */
  searchText: string;
}

export async function insertMessage(tx: Queryable, m: NewMessage): Promise<MessageId> {
  const rows = await tx.query<{ id: string }>(
    `INSERT INTO messages(mailbox_id, uid, modseq, blob_id, size, internal_date,
                          seen, answered, flagged, deleted, draft, keywords,
                          subject, from_address, message_id, sent_at, envelope, search_vector)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::text[], $13, $14, $15, $16, $17::text::jsonb,
             to_tsvector('simple', $18))
     RETURNING id`,
    [
      m.mailboxId, m.uid, m.modseq.toString(), m.blobId, m.size, m.internalDate,
      m.flags.seen, m.flags.answered, m.flags.flagged, m.flags.deleted, m.flags.draft, [...m.keywords],
      m.subject, m.fromAddress, m.messageId, m.sentAt, JSON.stringify(m.envelope), m.searchText,
    ],
  );
  await tx.query(`INSERT INTO mailbox_changes(mailbox_id, modseq, uid, kind) VALUES ($1, $2, $3, 'append')`, [
    m.mailboxId, m.modseq.toString(), m.uid,
  ]);
  return Number(rows[0]!.id) as MessageId;
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

/** The change journal of a mailbox after a modseq (for sync; tests read it too). */
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
