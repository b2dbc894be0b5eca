/**
 * The full-text index (migrations/0003): messages queue their text in
 * search_pending when stored; indexPendingSearch turns a batch of queued rows
 * into message_search rows: the vector the node built (migration 0007), or
 * to_tsvector of the text for rows queued without one.
 */
import type { Queryable } from './db.ts';

/**
 * Indexes up to `limit` queued messages in ONE statement (its own
 * transaction): claims them with FOR UPDATE SKIP LOCKED, so indexers on other
 * nodes take other rows and never wait; deletes them from the queue and
 * inserts their vectors. The claim also takes the message rows (KEY SHARE,
 * what the foreign key check of the insert needs) and skips a message an
 * EXPUNGE is deleting: otherwise the insert would wait for the deletion while
 * the deletion's cascade waits for the claimed queue row (a deadlock).
 * Returns how many were indexed (0: the queue is empty, or every queued row
 * is being indexed elsewhere).
 *
 * The message rows are looked up one by one from the queue (a LATERAL
 * subquery, which PostgreSQL does not turn into a join because it locks),
 * and the queue rows are deleted by id = ANY(...): as a join and an IN, the
 * generic plan merge-joined the queue with the whole messages table in id
 * order, reading every message older than the queued ones at each batch
 * (test/store-plans.test.ts).
 */
export async function indexPendingSearch(q: Queryable, limit: number): Promise<number> {
  const rows = await q.query<{ n: string }>(INDEX_PENDING_SQL, [limit], { lane: 'long' });
  return Number(rows[0]?.n ?? 0);
}

/** indexPendingSearch's statement, $1 the batch size (exported for test/store-plans.test.ts). */
export const INDEX_PENDING_SQL = `WITH claimed AS (
       DELETE FROM search_pending
        WHERE message_id = ANY (ARRAY(
                SELECT sp.message_id FROM search_pending sp
                 CROSS JOIN LATERAL (SELECT 1 FROM messages m WHERE m.id = sp.message_id FOR KEY SHARE SKIP LOCKED) AS m
                 ORDER BY sp.message_id LIMIT $1
                 FOR UPDATE OF sp SKIP LOCKED))
       RETURNING message_id, text, vector
     ), indexed AS (
       INSERT INTO message_search(message_id, vector)
       SELECT message_id, coalesce(vector, to_tsvector('simple', text)) FROM claimed
       ON CONFLICT (message_id) DO UPDATE SET vector = EXCLUDED.vector
       RETURNING 1
     )
     SELECT count(*) AS n FROM indexed`;

/** Messages whose index entry is not built yet (for status output and tests). */
export async function countPendingSearch(q: Queryable): Promise<number> {
  const rows = await q.query<{ n: string }>('SELECT count(*) AS n FROM search_pending', [], { lane: 'long' });
  return Number(rows[0]?.n ?? 0);
}
