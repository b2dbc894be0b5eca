/**
 * Garbage collection of blobs no message references any more.
 *
 * Expunges and mailbox deletions never delete blobs inline: the same bytes may
 * be in another mailbox, and a concurrent delivery of the same content may be
 * about to reuse the row (messages.ts insertMessage: INSERT ... ON CONFLICT
 * (sha256) DO UPDATE; putBlob and spool.ts assembleBlob: SELECT ... FOR KEY
 * SHARE). They queue the blob id in blob_gc_queue instead, and
 * collectBlobs() later deletes the queued blobs that are still unreferenced.
 *
 * Why that is safe against a concurrent reuse, on any node:
 *  1. the collector claims queue rows older than minAge with FOR UPDATE SKIP
 *     LOCKED (collectors on several nodes take different rows);
 *  2. it locks the claimed blobs FOR UPDATE SKIP LOCKED: a blob a delivery is
 *     reusing right now is locked by it (the ON CONFLICT DO UPDATE, or the
 *     FOR KEY SHARE of putBlob/assembleBlob) and is skipped: it stays queued;
 *  3. a new statement (so a new snapshot, taken after the locks are held)
 *     deletes the locked blobs that no message references. A delivery that
 *     committed a reference before step 2 is seen by it; one that comes after
 *     must lock the blob row to reference it (the foreign key check takes
 *     FOR KEY SHARE) and waits for the collector's commit: the upsert then
 *     finds no conflict and inserts a fresh row, the SELECT ... FOR KEY SHARE
 *     finds nothing and the caller inserts one;
 *  4. queue rows of blobs that were deleted or are referenced again are removed;
 *     skipped ones stay for the next run.
 * The minimum age is not needed for correctness; it keeps a blob around for a
 * while in case the same content comes back (an undo, a re-delivery).
 *
 * Outbound messages (queue_messages.blob_id) reference blobs too, and count
 * like messages everywhere here.
 *
 * The foreign key messages.blob_id -> blobs ON DELETE RESTRICT remains the
 * last line of defence: a mistake here fails the collector, never a message.
 *
 * queueUnreferencedBlobs() finds blobs that were never queued (messages that
 * went with a deleted account, older versions): an occasional sweep.
 */
import type { Queryable, Tx } from './db.ts';

export interface CollectResult {
  /** Queue rows looked at. */
  claimed: number;
  /** Blobs deleted. */
  deleted: number;
  /** Blobs skipped because a transaction held them (still queued). */
  busy: number;
}

/** One batch, in the caller's transaction (core/mail-gc.ts runs it in its own). */
export async function collectBlobs(tx: Tx, minAgeSeconds: number, limit: number): Promise<CollectResult> {
  const claimed = await tx.query<{ blob_id: string }>(
    `SELECT blob_id FROM blob_gc_queue WHERE queued_at < now() - make_interval(secs => $1)
      ORDER BY queued_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
    [minAgeSeconds, limit],
  );
  if (claimed.length === 0) return { claimed: 0, deleted: 0, busy: 0 };
  const ids = claimed.map((r) => r.blob_id);
  // Lock what still exists and looks unreferenced; skip blobs in use right now.
  const locked = await tx.query<{ id: string }>(
    `SELECT id FROM blobs b WHERE id = ANY($1::bigint[])
        AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.blob_id = b.id)
        AND NOT EXISTS (SELECT 1 FROM queue_messages q WHERE q.blob_id = b.id)
      FOR UPDATE SKIP LOCKED`,
    [ids],
  );
  const lockedIds = locked.map((r) => r.id);
  // A new snapshot: sees every reference committed before the locks were taken.
  const deleted = lockedIds.length
    ? await tx.query<{ id: string }>(
        `DELETE FROM blobs b WHERE id = ANY($1::bigint[]) AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.blob_id = b.id)
        AND NOT EXISTS (SELECT 1 FROM queue_messages q WHERE q.blob_id = b.id)
         RETURNING id`,
        [lockedIds],
      )
    : [];
  // Busy: claimed, unreferenced in the first look, but not locked (a transaction holds it). Keep those queued.
  const busy = await tx.query<{ id: string }>(
    `SELECT id FROM blobs b WHERE id = ANY($1::bigint[]) AND id <> ALL($2::bigint[])
        AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.blob_id = b.id)
        AND NOT EXISTS (SELECT 1 FROM queue_messages q WHERE q.blob_id = b.id)`,
    [ids, lockedIds],
  );
  const keep = busy.map((r) => r.id);
  await tx.query('DELETE FROM blob_gc_queue WHERE blob_id = ANY($1::bigint[]) AND blob_id <> ALL($2::bigint[])', [ids, keep]);
  return { claimed: ids.length, deleted: deleted.length, busy: keep.length };
}

/**
 * Queues up to `limit` unreferenced blobs with id > afterId (a sweep in id
 * order); returns the last id looked at (the next call's afterId), or null
 * when the sweep reached the end.
 */
export async function queueUnreferencedBlobs(q: Queryable, afterId: number, limit: number): Promise<{ lastId: number | null; queued: number }> {
  const rows = await q.query<{ last_id: string | null; queued: string }>(
    `WITH slice AS (
       SELECT id FROM blobs WHERE id > $1 ORDER BY id LIMIT $2
     ), queued AS (
       INSERT INTO blob_gc_queue(blob_id)
       SELECT id FROM slice s WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.blob_id = s.id)
         AND NOT EXISTS (SELECT 1 FROM queue_messages q WHERE q.blob_id = s.id)
       ON CONFLICT (blob_id) DO NOTHING
       RETURNING blob_id
     )
     SELECT (SELECT max(id) FROM slice) AS last_id, (SELECT count(*) FROM queued) AS queued`,
    [afterId, limit],
    { lane: 'long' },
  );
  const r = rows[0];
  return { lastId: r?.last_id == null ? null : Number(r.last_id), queued: Number(r?.queued ?? 0) };
}

export async function blobExists(q: Queryable, id: number): Promise<boolean> {
  return (await q.query('SELECT 1 FROM blobs WHERE id = $1', [id])).length > 0;
}
