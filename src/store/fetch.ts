/**
 * What IMAP FETCH reads (RFC 9051 6.4.5): message rows of one mailbox by UID
 * (one query per batch, no content), and octet ranges of a message's bytes
 * (header_prefix || blob) read with substring() on the blob, so a partial
 * FETCH of a large message never loads it whole and a whole body is read in
 * bounded chunks.
 */
import type { AccountId, MailboxId, MessageId } from '../lib/ids.ts';
import type { Queryable } from './db.ts';
import type { SystemFlags } from './messages.ts';

export interface FetchRow {
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
}

/** The rows of `uids` (ascending) in the account's mailbox; missing UIDs are left out. */
export async function fetchRows(q: Queryable, accountId: AccountId, mailboxId: MailboxId, uids: readonly number[]): Promise<FetchRow[]> {
  if (uids.length === 0) return [];
  const rows = await q.query(
    `SELECT m.id, m.uid, m.modseq, m.size, m.internal_date, m.seen, m.answered, m.flagged, m.deleted, m.draft,
            m.keywords, m.envelope, m.bodystructure, m.header_prefix
       FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id
      WHERE b.id = $1 AND b.account_id = $2 AND m.mailbox_id = $1 AND m.uid = ANY($3::int[])
      ORDER BY m.uid`,
    [mailboxId, accountId, [...uids]],
  );
  return rows.map((r) => ({
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
  }));
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
  );
  return rows[0]?.data ?? Buffer.alloc(0);
}
