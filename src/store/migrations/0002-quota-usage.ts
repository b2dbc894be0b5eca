/**
 * 0002: storage usage per mailbox, for quota (RFC 9208 STORAGE and MESSAGE
 * resources) and IMAP STATUS=SIZE (RFC 8438). Kept as running totals on the
 * mailbox row, so checking a quota sums a few mailbox rows instead of every
 * message, and an append maintains them in the UPDATE that already locks
 * the row (store/messages.ts insertMessage: no extra lock, no extra round trip).
 *
 * Invariant: for every mailbox, message_count = count(messages) and
 * total_size = sum(messages.size). Every statement that removes message rows
 * (expunge, MOVE's source side) must subtract what it removed in the same
 * transaction, on the UPDATE of the mailbox row that bumps highest_modseq.
 * Deleting a mailbox or an account needs nothing: the rows go with it.
 */
export const sql = String.raw`
ALTER TABLE mailboxes
  ADD COLUMN message_count integer NOT NULL DEFAULT 0 CHECK (message_count >= 0),
  ADD COLUMN total_size bigint NOT NULL DEFAULT 0 CHECK (total_size >= 0);

UPDATE mailboxes mb
   SET message_count = s.n, total_size = s.bytes
  FROM (SELECT mailbox_id, count(*)::integer AS n, sum(size)::bigint AS bytes FROM messages GROUP BY mailbox_id) s
 WHERE s.mailbox_id = mb.id;

COMMENT ON COLUMN mailboxes.message_count IS 'Number of messages in the mailbox (RFC 9208 MESSAGE resource); kept equal to count(messages) by every append and expunge.';
COMMENT ON COLUMN mailboxes.total_size IS 'Octets of all messages in the mailbox, sum(messages.size): quota usage (RFC 9208 STORAGE) and IMAP STATUS SIZE (RFC 8438); kept current by every append and expunge.';
COMMENT ON COLUMN accounts.quota_bytes IS 'Storage limit in bytes, checked against the sum of mailboxes.total_size; 0 = unlimited; NULL = the mailbox.defaultQuotaBytes setting.';
`;
