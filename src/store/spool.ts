/**
 * The spool: an incoming message's bytes in chunks (spool_chunks), so a
 * receiving session holds at most one chunk in memory. assembleBlob() turns a
 * spooled message into a blob inside the delivery transaction.
 */
import type { BlobId } from '../lib/ids.ts';
import type { Queryable } from './db.ts';

export async function insertSpoolChunk(q: Queryable, spoolId: string, seq: number, data: Buffer): Promise<void> {
  await q.query('INSERT INTO spool_chunks(spool_id, seq, data) VALUES ($1, $2, $3)', [spoolId, seq, data]);
}

/** One chunk of a spooled message; undefined past the last one. */
export async function readSpoolChunk(q: Queryable, spoolId: string, seq: number): Promise<Buffer | undefined> {
  const rows = await q.query<{ data: Buffer }>('SELECT data FROM spool_chunks WHERE spool_id = $1 AND seq = $2', [spoolId, seq]);
  return rows[0]?.data;
}

/** Replaces the bytes of one existing chunk (they may be fewer, even none); false when there is no such chunk. */
export async function replaceSpoolChunk(q: Queryable, spoolId: string, seq: number, data: Buffer): Promise<boolean> {
  const rows = await q.query('UPDATE spool_chunks SET data = $3 WHERE spool_id = $1 AND seq = $2 RETURNING seq', [spoolId, seq, data]);
  return rows.length === 1;
}

export async function deleteSpool(q: Queryable, spoolId: string): Promise<void> {
  await q.query('DELETE FROM spool_chunks WHERE spool_id = $1', [spoolId]);
}

/** Removes chunks of sessions that died (older than `hours`); returns how many rows. */
export async function purgeStaleSpool(q: Queryable, hours: number): Promise<number> {
  const rows = await q.query(`DELETE FROM spool_chunks WHERE created_at < now() - make_interval(hours => $1) RETURNING seq`, [hours]);
  return rows.length;
}

/**
 * The blob for a spooled message: the existing row when the content is
 * already stored (same SHA-256), else the chunks concatenated in the server.
 * The spool rows are deleted in the same transaction.
 */
export async function assembleBlob(tx: Queryable, spoolId: string, sha256: Buffer, size: number): Promise<BlobId> {
  // FOR KEY SHARE: the row stays ours until commit, so the blob collector (blob-gc.ts) skips it.
  const found = await tx.query<{ id: string }>('SELECT id FROM blobs WHERE sha256 = $1 FOR KEY SHARE', [sha256]);
  let id = found[0]?.id;
  if (id === undefined) {
    // HAVING: the chunks must add up to the size the receiver counted, or nothing is stored.
    const rows = await tx.query<{ id: string }>(
      `INSERT INTO blobs(sha256, size, data)
       SELECT $2, $3::int, coalesce(string_agg(data, ''::bytea ORDER BY seq), ''::bytea)
         FROM spool_chunks WHERE spool_id = $1
       HAVING coalesce(sum(length(data)), 0) = $3::int
       ON CONFLICT (sha256) DO UPDATE SET size = EXCLUDED.size
       RETURNING id`,
      [spoolId, sha256, size],
    );
    if (!rows[0]) throw new Error(`spool ${spoolId} is incomplete (expected ${size} octets)`);
    id = rows[0].id;
  }
  await deleteSpool(tx, spoolId);
  return Number(id) as BlobId;
}
