/**
 * 0007: the node builds a queued message's tsvector (mail/search-terms.ts).
 *
 * to_tsvector of 4 KB of text cost about 0.75 ms of PostgreSQL CPU, the
 * largest single cost of storing a message; parsing a tsvector literal the
 * node split costs a small fraction of it. The append statement now queues
 * the vector with the text; the indexer moves it to message_search (and still
 * runs to_tsvector for rows queued without one, by an older binary).
 *
 * Searches try the node's query (its words as a phrase of prefixes) and, for
 * vectors built by PostgreSQL's parser before this migration, the query that
 * parser makes of the string, so nothing indexed before needs rebuilding.
 */
export const sql = String.raw`
ALTER TABLE search_pending ADD COLUMN vector tsvector;
COMMENT ON COLUMN search_pending.vector IS 'tsvector of text built by the node (words of letters, digits and marks, lower-cased, with positions); NULL: the indexer builds it with to_tsvector(''simple'', text).';
COMMENT ON COLUMN message_search.vector IS 'tsvector of the message text: built by the node (migration 0007), or by to_tsvector(''simple'', ...) for messages indexed before.';
`;
