/**
 * 0003: the full-text index moves off the delivery path.
 *
 * Building a tsvector is the costliest part of storing a message (measured:
 * about 0.9 ms of PostgreSQL CPU for 4 KB of text with the 'simple'
 * configuration, more with language-aware ones, plus the GIN insert), and a
 * delivery does not need it to be durable. So the append statement only
 * queues the message's search text (search_pending, a plain insert), and an
 * indexer on every node turns queued rows into message_search rows in
 * batches (core/search-indexer.ts), claiming them with FOR UPDATE SKIP LOCKED
 * so nodes never index the same message twice and a node that dies mid-batch
 * leaves its rows for the others (its transaction rolls back).
 *
 * message_search is its own table rather than a column of messages, so that
 * indexing inserts rows instead of updating every message row a second time
 * (which would rewrite the row and every index on messages).
 */
export const sql = String.raw`
CREATE TABLE search_pending (
  message_id  bigint PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
  text        text NOT NULL
);
-- The text lives here for well under a second: compressing it (pglz by default)
-- cost more than the rest of the append statement together (measured). Out of
-- line when long, never compressed.
ALTER TABLE search_pending ALTER COLUMN text SET STORAGE EXTERNAL;
COMMENT ON TABLE search_pending IS 'Messages whose full-text index entry is not built yet, with the text to index (subject, people, decoded body, bounded); a queue the search indexer of every node drains with FOR UPDATE SKIP LOCKED.';
COMMENT ON COLUMN search_pending.text IS 'Text to index, as extracted at delivery; deleted once message_search holds the vector.';

CREATE TABLE message_search (
  message_id  bigint PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
  vector      tsvector NOT NULL
);
CREATE INDEX message_search_vector_idx ON message_search USING gin(vector);
COMMENT ON TABLE message_search IS 'Full-text index of messages (headers and text parts), built shortly after delivery by the search indexer; a message still in search_pending has no row yet.';
COMMENT ON COLUMN message_search.vector IS 'tsvector of the message text (configuration simple).';

INSERT INTO message_search(message_id, vector)
SELECT id, search_vector FROM messages WHERE search_vector IS NOT NULL;
ALTER TABLE messages DROP COLUMN search_vector;
`;
