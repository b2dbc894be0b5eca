/**
 * 0001: the foundation schema. Forward-only: never edit a migration that has
 * shipped; add a new one. Every table and every non-obvious column carries a
 * COMMENT, so `\d+` in psql documents the schema (see docs/schema.md).
 */
export const sql = String.raw`
CREATE TABLE domains (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name        text NOT NULL UNIQUE CHECK (name = lower(name) AND name <> ''),
  created_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE domains IS 'Mail domains this installation is the final destination for.';
COMMENT ON COLUMN domains.name IS 'Domain name in lower case, IDNs in A-label (punycode) form.';

CREATE TABLE accounts (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  domain_id      bigint NOT NULL REFERENCES domains(id) ON DELETE RESTRICT,
  address        text NOT NULL UNIQUE CHECK (address = lower(address) AND position('@' in address) > 1),
  display_name   text NOT NULL DEFAULT '',
  password_hash  text,
  source         text NOT NULL DEFAULT 'local' CHECK (source IN ('local', 'ldap')),
  quota_bytes    bigint CHECK (quota_bytes IS NULL OR quota_bytes >= 0),
  disabled       boolean NOT NULL DEFAULT false,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX accounts_domain_idx ON accounts(domain_id);
COMMENT ON TABLE accounts IS 'Mailbox owners (users). One row per login address.';
COMMENT ON COLUMN accounts.address IS 'Primary address and login name, lower case: local-part@domain.';
COMMENT ON COLUMN accounts.password_hash IS 'PHC-style hash ($scrypt$...). NULL for directory (LDAP) accounts: their passwords are never stored.';
COMMENT ON COLUMN accounts.source IS 'local: password kept here; ldap: authenticated by bind against the directory.';
COMMENT ON COLUMN accounts.quota_bytes IS 'Storage limit in bytes; NULL = the mailbox.defaultQuotaBytes setting.';

CREATE TABLE aliases (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  domain_id   bigint NOT NULL REFERENCES domains(id) ON DELETE RESTRICT,
  address     text NOT NULL UNIQUE CHECK (address = lower(address) AND position('@' in address) > 0),
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX aliases_domain_idx ON aliases(domain_id);
COMMENT ON TABLE aliases IS 'Addresses that forward to one or more targets. An address of the form @domain is that domain''s catch-all.';
COMMENT ON COLUMN aliases.address IS 'Alias address in lower case; "@example.com" is the catch-all for unknown local parts of example.com.';

CREATE TABLE alias_targets (
  alias_id  bigint NOT NULL REFERENCES aliases(id) ON DELETE CASCADE,
  target    text NOT NULL CHECK (target = lower(target) AND position('@' in target) > 1),
  PRIMARY KEY (alias_id, target)
);
COMMENT ON TABLE alias_targets IS 'Where mail to an alias goes: local or remote addresses.';

CREATE TABLE groups (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  domain_id     bigint NOT NULL REFERENCES domains(id) ON DELETE RESTRICT,
  address       text NOT NULL UNIQUE CHECK (address = lower(address) AND position('@' in address) > 1),
  display_name  text NOT NULL DEFAULT '',
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX groups_domain_idx ON groups(domain_id);
COMMENT ON TABLE groups IS 'Groups / distribution lists: mail to the group address goes to every member.';

CREATE TABLE group_members (
  group_id  bigint NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
  member    text NOT NULL CHECK (member = lower(member) AND position('@' in member) > 1),
  PRIMARY KEY (group_id, member)
);
COMMENT ON TABLE group_members IS 'Members of a group by address (accounts, other groups, or external addresses).';

-- UIDVALIDITY values come from one sequence started at the epoch time of the
-- install, so a mailbox deleted and re-created under the same name never gets
-- its old UIDVALIDITY back (RFC 9051 section 2.3.1.1).
CREATE SEQUENCE uidvalidity_seq MINVALUE 1 MAXVALUE 4294967295;
SELECT setval('uidvalidity_seq', greatest(1, extract(epoch FROM now())::bigint % 4294967295));

CREATE TABLE mailboxes (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account_id      bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name            text NOT NULL CHECK (name <> ''),
  uidvalidity     bigint NOT NULL DEFAULT nextval('uidvalidity_seq') CHECK (uidvalidity BETWEEN 1 AND 4294967295),
  uid_next        bigint NOT NULL DEFAULT 1 CHECK (uid_next BETWEEN 1 AND 4294967296),
  highest_modseq  bigint NOT NULL DEFAULT 1 CHECK (highest_modseq >= 1),
  special_use     text CHECK (special_use IN ('\All', '\Archive', '\Drafts', '\Flagged', '\Junk', '\Sent', '\Trash')),
  subscribed      boolean NOT NULL DEFAULT true,
  created_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (account_id, name)
);
COMMENT ON TABLE mailboxes IS 'IMAP mailboxes (folders) of an account.';
COMMENT ON COLUMN mailboxes.name IS 'Full hierarchical name with "/" as the separator; INBOX is always spelled INBOX.';
COMMENT ON COLUMN mailboxes.uidvalidity IS 'IMAP UIDVALIDITY, fixed at creation (RFC 9051 2.3.1.1).';
COMMENT ON COLUMN mailboxes.uid_next IS 'The UID the next message appended will get; allocated by UPDATE ... RETURNING in the appending transaction.';
COMMENT ON COLUMN mailboxes.highest_modseq IS 'Last modification sequence used in this mailbox (RFC 7162 CONDSTORE); bumped with every change.';
COMMENT ON COLUMN mailboxes.special_use IS 'RFC 6154 special-use attribute, or NULL.';

CREATE TABLE blobs (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  sha256      bytea NOT NULL UNIQUE CHECK (length(sha256) = 32),
  size        integer NOT NULL CHECK (size >= 0),
  data        bytea NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE blobs IS 'Raw messages, byte-exact as received, stored once per content (deduplicated by SHA-256 across mailboxes and recipients).';
COMMENT ON COLUMN blobs.sha256 IS 'SHA-256 of data: the content address.';
COMMENT ON COLUMN blobs.data IS 'The message bytes (RFC 5322 with CRLF line ends). Compressed by PostgreSQL (lz4 where the server has it).';

CREATE TABLE messages (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  mailbox_id     bigint NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
  uid            bigint NOT NULL CHECK (uid BETWEEN 1 AND 4294967295),
  modseq         bigint NOT NULL CHECK (modseq >= 1),
  blob_id        bigint NOT NULL REFERENCES blobs(id) ON DELETE RESTRICT,
  header_prefix  bytea NOT NULL DEFAULT '\x',
  size           integer NOT NULL CHECK (size >= 0),
  internal_date  timestamptz NOT NULL DEFAULT now(),
  seen           boolean NOT NULL DEFAULT false,
  answered       boolean NOT NULL DEFAULT false,
  flagged        boolean NOT NULL DEFAULT false,
  deleted        boolean NOT NULL DEFAULT false,
  draft          boolean NOT NULL DEFAULT false,
  keywords       text[] NOT NULL DEFAULT '{}',
  subject        text NOT NULL DEFAULT '',
  from_address   text NOT NULL DEFAULT '',
  message_id     text,
  sent_at        timestamptz,
  envelope       jsonb,
  bodystructure  jsonb,
  search_vector  tsvector,
  UNIQUE (mailbox_id, uid)
);
CREATE INDEX messages_mailbox_modseq_idx ON messages(mailbox_id, modseq);
CREATE INDEX messages_blob_idx ON messages(blob_id);
CREATE INDEX messages_search_idx ON messages USING gin(search_vector);
COMMENT ON TABLE messages IS 'One row per message in a mailbox. The bytes live in blobs; the same blob may be in many mailboxes.';
COMMENT ON COLUMN messages.uid IS 'IMAP UID, unique and ascending within the mailbox (RFC 9051 2.3.1.1).';
COMMENT ON COLUMN messages.modseq IS 'Modification sequence of the last change to this message (RFC 7162).';
COMMENT ON COLUMN messages.header_prefix IS 'Per-recipient header lines (Delivered-To) that precede the shared blob: the message is header_prefix || blobs.data, so one blob serves every recipient.';
COMMENT ON COLUMN messages.size IS 'RFC822.SIZE: octets of the message, header_prefix included.';
COMMENT ON COLUMN messages.internal_date IS 'IMAP INTERNALDATE: when the message arrived (or the date given to APPEND).';
COMMENT ON COLUMN messages.keywords IS 'IMAP keywords (user flags such as $Forwarded, $Junk), case preserved.';
COMMENT ON COLUMN messages.subject IS 'Decoded Subject header (RFC 2047 words decoded), for listing and SQL.';
COMMENT ON COLUMN messages.from_address IS 'Address of the first From mailbox, lower case.';
COMMENT ON COLUMN messages.message_id IS 'Message-ID header without angle brackets.';
COMMENT ON COLUMN messages.sent_at IS 'Date header, parsed; NULL when missing or unparseable.';
COMMENT ON COLUMN messages.envelope IS 'Parsed header fields for IMAP ENVELOPE (RFC 9051 7.5.2), computed at delivery.';
COMMENT ON COLUMN messages.bodystructure IS 'MIME structure for IMAP BODYSTRUCTURE, computed at delivery; NULL until the IMAP layer fills it.';
COMMENT ON COLUMN messages.search_vector IS 'Full-text index of headers and text parts.';

CREATE TABLE mailbox_changes (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  mailbox_id  bigint NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
  modseq      bigint NOT NULL,
  uid         bigint NOT NULL,
  kind        text NOT NULL CHECK (kind IN ('append', 'flags', 'expunge')),
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mailbox_changes_mailbox_modseq_idx ON mailbox_changes(mailbox_id, modseq);
COMMENT ON TABLE mailbox_changes IS 'Change journal: every append, flag change and expunge with its modseq. Expunge rows are the tombstones QRESYNC (RFC 7162) and sync clients read. NOTIFY is only a hint; this table is the truth.';

-- UNLOGGED: spool rows are never the only copy of anything acknowledged (the
-- message is acknowledged only after its blob row committed), so they need no
-- WAL; after a server crash PostgreSQL empties the table, which is what we want.
CREATE UNLOGGED TABLE spool_chunks (
  spool_id    uuid NOT NULL,
  seq         integer NOT NULL CHECK (seq >= 0),
  data        bytea NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (spool_id, seq)
);
COMMENT ON TABLE spool_chunks IS 'Messages being received (SMTP DATA/BDAT, later IMAP APPEND), written in chunks as they arrive so that no node holds a whole message in memory; assembled into a blob when the message is accepted, then deleted. Rows older than a day belong to dead sessions and are removed.';
COMMENT ON COLUMN spool_chunks.spool_id IS 'One incoming message.';
COMMENT ON COLUMN spool_chunks.seq IS 'Order of the chunk within the message, from 0.';

CREATE TABLE settings (
  key         text PRIMARY KEY,
  value       jsonb NOT NULL,
  version     bigint NOT NULL DEFAULT 1,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  updated_by  text NOT NULL DEFAULT ''
);
COMMENT ON TABLE settings IS 'Cluster-wide settings that differ from the defaults. Keys and types are declared in src/config/settings-schema.ts and validated before they are written.';
COMMENT ON COLUMN settings.version IS 'Bumped at each change; nodes reload when they see a higher version.';

CREATE TABLE nodes (
  name          text PRIMARY KEY,
  hostname      text NOT NULL,
  pid           integer NOT NULL,
  version       text NOT NULL,
  started_at    timestamptz NOT NULL,
  heartbeat_at  timestamptz NOT NULL DEFAULT now(),
  listeners     jsonb NOT NULL DEFAULT '[]'
);
COMMENT ON TABLE nodes IS 'Cluster members: each running tegu process registers here and refreshes heartbeat_at.';
COMMENT ON COLUMN nodes.listeners IS 'The addresses this node listens on, as [{"proto":"http","address":"127.0.0.1:8025"}].';

CREATE TABLE audit_log (
  id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at       timestamptz NOT NULL DEFAULT now(),
  actor    text NOT NULL,
  action   text NOT NULL,
  target   text NOT NULL DEFAULT '',
  ip       inet,
  node     text NOT NULL DEFAULT '',
  details  jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at_idx ON audit_log(at);
COMMENT ON TABLE audit_log IS 'Audit events (logins, admin changes, deliveries, rejections), also sent to syslog for SIEM.';
COMMENT ON COLUMN audit_log.actor IS 'Who did it: an account address, "cli:<os user>", or "system".';
COMMENT ON COLUMN audit_log.action IS 'Dotted event name, e.g. account.create, auth.fail.';
`;

/**
 * lz4 compression of message bytes where the server supports it (PostgreSQL >= 14
 * built with lz4). Not fatal elsewhere (PGlite may lack it): pglz is used then.
 */
export const afterSql = String.raw`
DO $$
BEGIN
  ALTER TABLE blobs ALTER COLUMN data SET COMPRESSION lz4;
EXCEPTION WHEN OTHERS THEN
  RAISE NOTICE 'lz4 not available; blobs use the default compression';
END $$;
`;
