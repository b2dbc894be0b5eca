/**
 * 0005: what the IMAP mailbox and message operations need (docs/imap-store.md).
 *
 *  - subscriptions: LSUB / LIST (SUBSCRIBED) names (RFC 9051 6.3.7-6.3.8). A
 *    subscription may name a mailbox that does not exist (any more), so it is
 *    its own table keyed by name, not a column of mailboxes: the old
 *    mailboxes.subscribed column moves here and is dropped.
 *  - mailboxes.recent_uid: the first UID no session has seen as \Recent yet
 *    (IMAP4rev1 only; RFC 3501 2.3.2). A session that selects the mailbox
 *    read-write claims [recent_uid, uid_next) by moving recent_uid up in one
 *    UPDATE, so exactly one session in the cluster sees each message as recent.
 *  - mailboxes.tombstone_floor: expunge rows of mailbox_changes (the QRESYNC
 *    tombstones, RFC 7162 3.2.5) are pruned after a while; every expunge with a
 *    modseq above the floor still has its row, so a client whose modseq is at
 *    least the floor gets an exact VANISHED (EARLIER) list.
 *  - blob_gc_queue: blobs that lost a reference (expunge, mailbox deletion),
 *    checked later by the blob garbage collector (store/blob-gc.ts) instead of
 *    scanning every blob.
 *  - partial indexes for the unseen and \Deleted messages of a mailbox (SELECT's
 *    UNSEEN, STATUS UNSEEN/DELETED, EXPUNGE), and a BRIN index on
 *    mailbox_changes.created_at for pruning the journal by age.
 */
export const sql = String.raw`
CREATE TABLE subscriptions (
  account_id  bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name        text NOT NULL CHECK (name <> ''),
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, name)
);
COMMENT ON TABLE subscriptions IS 'Mailbox names an account subscribed to (IMAP SUBSCRIBE, RFC 9051 6.3.7). The name need not exist: deleting a mailbox keeps its subscription; renaming one moves it.';
COMMENT ON COLUMN subscriptions.name IS 'Full mailbox name as in mailboxes.name (UTF-8, "/" separated, INBOX spelled INBOX).';

INSERT INTO subscriptions(account_id, name) SELECT account_id, name FROM mailboxes WHERE subscribed;
ALTER TABLE mailboxes DROP COLUMN subscribed;

ALTER TABLE mailboxes
  ADD COLUMN recent_uid bigint NOT NULL DEFAULT 1 CHECK (recent_uid BETWEEN 1 AND 4294967296),
  ADD COLUMN tombstone_floor bigint NOT NULL DEFAULT 0 CHECK (tombstone_floor >= 0);
COMMENT ON COLUMN mailboxes.recent_uid IS 'IMAP4rev1 \Recent: messages with uid >= recent_uid have not been seen by any session yet; a read-write SELECT claims them by setting recent_uid = uid_next.';
COMMENT ON COLUMN mailboxes.tombstone_floor IS 'Expunge tombstones (mailbox_changes kind expunge) are complete for every modseq above this value; older ones were pruned. 0: none pruned.';

CREATE TABLE blob_gc_queue (
  blob_id    bigint PRIMARY KEY,
  queued_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX blob_gc_queue_queued_idx ON blob_gc_queue(queued_at);
COMMENT ON TABLE blob_gc_queue IS 'Blobs that lost a reference (expunge, mailbox deletion) and may now be unreferenced; the blob garbage collector checks and deletes them. No foreign key: the blob may be gone already.';

CREATE INDEX messages_unseen_idx ON messages(mailbox_id, uid) WHERE NOT seen;
CREATE INDEX messages_deleted_idx ON messages(mailbox_id, uid) WHERE deleted;
CREATE INDEX mailbox_changes_created_idx ON mailbox_changes USING brin(created_at);
`;
