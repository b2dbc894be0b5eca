/**
 * The outbound queue's SQL (schema: migrations/0006-outbound-queue.ts,
 * design: docs/queue.md). Workers on every node share it:
 *
 *  - claimDue() takes due recipients FOR UPDATE SKIP LOCKED, so two nodes
 *    never take the same row, and moves next_attempt_at forward by the lease:
 *    a node that dies leaves rows that fall due again when the lease ends;
 *  - it increments attempts, and finishAttempts() writes a result only where
 *    attempts still equals the claim's: a claim whose lease ran out and was
 *    taken over cannot overwrite the newer attempt's result.
 */
import type { AccountId, BlobId } from '../lib/ids.ts';
import type { Queryable } from './db.ts';

export type QueueMessageId = number & { readonly __queueMessage: true };
export type QueueRecipientId = number & { readonly __queueRecipient: true };

export type NotifyOption = 'NEVER' | 'SUCCESS' | 'FAILURE' | 'DELAY';
export type RecipientStatus = 'queued' | 'held' | 'delivered' | 'failed' | 'expired';

export interface NewQueueRecipient {
  address: string;
  notify?: readonly NotifyOption[] | undefined;
  orcpt?: string | undefined;
}

export interface NewQueueMessage {
  blobId: BlobId;
  headerPrefix: Buffer;
  /** Octets of headerPrefix + blob. */
  size: number;
  /** '' for the null reverse-path. */
  mailFrom: string;
  accountId?: AccountId | undefined;
  kind?: 'mail' | 'dsn';
  envid?: string | undefined;
  ret?: 'FULL' | 'HDRS' | undefined;
  smtputf8?: boolean;
  eightBit?: boolean;
  sessionId?: string;
  expiresAt: Date;
  recipients: readonly NewQueueRecipient[];
}

/** The domain of an address, lower case (the part after the last @). */
export function addressDomain(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}

/** The recipients' part of both enqueue statements; `$first`..`$first+3` are the recipient arrays. */
const enqueueRecipients = (first: number): string => `rcpts AS (
       INSERT INTO queue_recipients(message_id, address, domain, notify, orcpt)
       SELECT msg.id, r.address, r.domain, CASE WHEN r.notify = '' THEN NULL ELSE string_to_array(r.notify, ',') END, nullif(r.orcpt, '')
         FROM msg, unnest($${first}::text[], $${first + 1}::text[], $${first + 2}::text[], $${first + 3}::text[]) AS r(address, domain, notify, orcpt)
       RETURNING 1
     )
     SELECT id, (SELECT count(*) FROM rcpts) AS n FROM msg`;

const MESSAGE_COLUMNS = 'blob_id, header_prefix, size, mail_from, account_id, kind, envid, ret, smtputf8, eight_bit, session_id, expires_at';

/** The message's fields after blob_id (11), then the recipient arrays (4). */
function enqueueParams(m: Omit<NewQueueMessage, 'blobId'>): unknown[] {
  return [
    m.headerPrefix, m.size, m.mailFrom, m.accountId ?? null, m.kind ?? 'mail', m.envid ?? null, m.ret ?? null,
    m.smtputf8 ?? false, m.eightBit ?? false, m.sessionId ?? '', m.expiresAt,
    m.recipients.map((r) => r.address),
    m.recipients.map((r) => addressDomain(r.address)),
    m.recipients.map((r) => (r.notify ?? []).join(',')),
    m.recipients.map((r) => r.orcpt ?? ''),
  ];
}

/** Inserts the message and its recipients (in the caller's transaction: the submission's). */
export async function enqueueMessage(tx: Queryable, m: NewQueueMessage): Promise<QueueMessageId> {
  const rows = await tx.query<{ id: string }>(
    `WITH msg AS (
       INSERT INTO queue_messages(${MESSAGE_COLUMNS})
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id
     ), ${enqueueRecipients(13)}`,
    [m.blobId, ...enqueueParams(m)],
  );
  return Number(rows[0]!.id) as QueueMessageId;
}

/**
 * The blob (stored once per SHA-256, like messages.ts insertMessage) and the
 * queued message with its recipients, in ONE statement: its own transaction,
 * for a submission with remote recipients only (no BEGIN/COMMIT round trips).
 * The upsert locks an existing blob row, so the blob collector skips it.
 */
export async function enqueueWithBlob(q: Queryable, sha256: Buffer, data: Buffer, m: Omit<NewQueueMessage, 'blobId'>): Promise<QueueMessageId> {
  const rows = await q.query<{ id: string }>(
    `WITH blob AS (
       INSERT INTO blobs(sha256, size, data) VALUES ($16, $17, $18)
       ON CONFLICT (sha256) DO UPDATE SET size = EXCLUDED.size RETURNING id
     ), msg AS (
       INSERT INTO queue_messages(${MESSAGE_COLUMNS})
       SELECT blob.id, $1::bytea, $2::bigint, $3::text, $4::bigint, $5::text, $6::text, $7::text, $8::boolean, $9::boolean, $10::text, $11::timestamptz
         FROM blob RETURNING id
     ), ${enqueueRecipients(12)}`,
    [...enqueueParams(m), sha256, data.length, data],
  );
  return Number(rows[0]!.id) as QueueMessageId;
}

/** A recipient a worker claimed, with what it needs of its message. */
export interface ClaimedRecipient {
  id: QueueRecipientId;
  /** The claim's attempt number: finishAttempts() needs it back. */
  attempt: number;
  address: string;
  domain: string;
  notify: NotifyOption[] | null;
  orcpt: string | null;
  delayNotified: boolean;
  message: {
    id: QueueMessageId;
    blobId: BlobId;
    size: number;
    mailFrom: string;
    kind: 'mail' | 'dsn';
    envid: string | null;
    ret: 'FULL' | 'HDRS' | null;
    smtputf8: boolean;
    eightBit: boolean;
    sessionId: string;
    receivedAt: Date;
    expiresAt: Date;
    /** The bytes to send (header_prefix || blob) when the message is small (claimDue's inlineBytes); else read them with readQueuedPrefix / readBlobSlice. */
    content: Buffer | null;
  };
}

type ClaimRow = {
  id: string;
  attempts: number;
  address: string;
  domain: string;
  notify: string[] | null;
  orcpt: string | null;
  delay_notified: boolean;
  message_id: string;
  blob_id: string;
  size: string;
  mail_from: string;
  kind: 'mail' | 'dsn';
  envid: string | null;
  ret: 'FULL' | 'HDRS' | null;
  smtputf8: boolean;
  eight_bit: boolean;
  session_id: string;
  received_at: Date | string;
  expires_at: Date | string;
  content: Buffer | null;
};

/**
 * Claims for `node`, for `leaseSeconds`, up to `limit` due recipients of ONE
 * domain: the domain due first among those not in `excludeDomains` (the
 * domains this node already has its connection limit to). A row another
 * worker holds locked is skipped. Empty when nothing is due.
 */
export async function claimDue(
  q: Queryable,
  node: string,
  leaseSeconds: number,
  limit: number,
  excludeDomains: readonly string[] = [],
  /** Messages up to this size come with their bytes (one query instead of two more per message). */
  inlineBytes = 0,
): Promise<ClaimedRecipient[]> {
  const rows = await q.query<ClaimRow>(
    `WITH dom AS (
       SELECT domain FROM queue_recipients
        WHERE status = 'queued' AND next_attempt_at <= now() AND domain <> ALL($4::text[])
        ORDER BY next_attempt_at LIMIT 1
     ), due AS (
       SELECT id FROM queue_recipients
        WHERE status = 'queued' AND next_attempt_at <= now() AND domain = (SELECT domain FROM dom)
        ORDER BY next_attempt_at, message_id, id LIMIT $3
        FOR UPDATE SKIP LOCKED
     ), claimed AS (
       UPDATE queue_recipients r
          SET attempts = r.attempts + 1, lease_node = $1,
              lease_until = now() + make_interval(secs => $2), next_attempt_at = now() + make_interval(secs => $2)
         FROM due WHERE r.id = due.id
       RETURNING r.id, r.attempts, r.address, r.domain, r.notify, r.orcpt, r.delay_notified, r.message_id
     )
     SELECT c.*, m.blob_id, m.size, m.mail_from, m.kind, m.envid, m.ret, m.smtputf8, m.eight_bit, m.session_id, m.received_at, m.expires_at,
            CASE WHEN m.size <= $5 THEN m.header_prefix || (SELECT b.data FROM blobs b WHERE b.id = m.blob_id) END AS content
       FROM claimed c JOIN queue_messages m ON m.id = c.message_id
      ORDER BY c.message_id, c.id`,
    [node, leaseSeconds, limit, [...excludeDomains], inlineBytes],
  );
  return rows.map((r) => ({
    id: Number(r.id) as QueueRecipientId,
    attempt: Number(r.attempts),
    address: r.address,
    domain: r.domain,
    notify: (r.notify as NotifyOption[] | null) ?? null,
    orcpt: r.orcpt,
    delayNotified: r.delay_notified,
    message: {
      id: Number(r.message_id) as QueueMessageId,
      blobId: Number(r.blob_id) as BlobId,
      size: Number(r.size),
      mailFrom: r.mail_from,
      kind: r.kind,
      envid: r.envid,
      ret: r.ret,
      smtputf8: r.smtputf8,
      eightBit: r.eight_bit,
      sessionId: r.session_id,
      receivedAt: new Date(r.received_at),
      expiresAt: new Date(r.expires_at),
      content: r.content ?? null,
    },
  }));
}

/** The outcome of one attempt for one recipient. */
export interface AttemptResult {
  id: QueueRecipientId;
  attempt: number;
  /** queued: try again at `nextAttemptAt`. */
  status: 'queued' | 'delivered' | 'failed' | 'expired';
  nextAttemptAt?: Date;
  code?: number | undefined;
  enhanced?: string | undefined;
  text: string;
  host?: string | undefined;
  /** A "delayed" DSN went out for it. */
  delayNotified?: boolean;
}

/**
 * Records results, one statement for all of them; a result whose claim is
 * no longer the current one (the lease ran out and another node claimed the
 * row, or an administrator changed it) is not written. Returns the ids written.
 */
export async function finishAttempts(q: Queryable, results: readonly AttemptResult[]): Promise<Set<QueueRecipientId>> {
  if (results.length === 0) return new Set();
  const rows = await q.query<{ id: string }>(
    `UPDATE queue_recipients r
        SET status = x.status,
            next_attempt_at = CASE WHEN x.status = 'queued' THEN x.next_at ELSE r.next_attempt_at END,
            finished_at = CASE WHEN x.status = 'queued' THEN NULL ELSE now() END,
            lease_until = NULL,
            last_attempt_at = now(), last_code = x.code, last_status = nullif(x.enhanced, ''), last_text = x.text,
            last_host = nullif(x.host, ''), delay_notified = r.delay_notified OR x.warned
       -- Every column goes as text[] and is cast here: the driver infers an array's type from its
       -- values, and gets it wrong for booleans and for arrays that start with null.
       FROM (SELECT u.id::bigint AS id, u.attempt::int AS attempt, u.status, nullif(u.next_at, '')::timestamptz AS next_at,
                    nullif(u.code, '')::int AS code, u.enhanced, u.text, u.host, u.warned::boolean AS warned
               FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])
                    AS u(id, attempt, status, next_at, code, enhanced, text, host, warned)) AS x
      WHERE r.id = x.id AND r.attempts = x.attempt AND r.status = 'queued'
      RETURNING r.id`,
    [
      results.map((r) => String(r.id)),
      results.map((r) => String(r.attempt)),
      results.map((r) => r.status),
      results.map((r) => r.nextAttemptAt?.toISOString() ?? ''),
      results.map((r) => (r.code === undefined ? '' : String(r.code))),
      results.map((r) => r.enhanced ?? ''),
      results.map((r) => r.text.slice(0, 1000)),
      results.map((r) => r.host ?? ''),
      results.map((r) => (r.delayNotified ? 'true' : 'false')),
    ],
  );
  return new Set(rows.map((r) => Number(r.id) as QueueRecipientId));
}

/** When the next queued recipient falls due; undefined when none is queued. */
export async function nextDueAt(q: Queryable): Promise<Date | undefined> {
  const rows = await q.query<{ at: Date | string | null }>(`SELECT min(next_attempt_at) AS at FROM queue_recipients WHERE status = 'queued'`);
  const at = rows[0]?.at;
  return at == null ? undefined : new Date(at);
}

/** The header prefix of a queued message (DKIM-Signature, Received). */
export async function readQueuedPrefix(q: Queryable, id: QueueMessageId): Promise<Buffer | undefined> {
  const rows = await q.query<{ header_prefix: Buffer }>('SELECT header_prefix FROM queue_messages WHERE id = $1', [id]);
  return rows[0]?.header_prefix;
}

/** Octets [start, start + length) of a blob (past the end: fewer). */
export async function readBlobSlice(q: Queryable, blobId: BlobId, start: number, length: number): Promise<Buffer> {
  const rows = await q.query<{ data: Buffer | null }>('SELECT substring(data FROM $2::int FOR $3::int) AS data FROM blobs WHERE id = $1', [
    blobId,
    start + 1,
    length,
  ]);
  return rows[0]?.data ?? Buffer.alloc(0);
}

// ---- administration (tegu queue ...)

export interface QueueEntry {
  messageId: QueueMessageId;
  recipientId: QueueRecipientId;
  mailFrom: string;
  address: string;
  status: RecipientStatus;
  attempts: number;
  size: number;
  receivedAt: Date;
  nextAttemptAt: Date;
  expiresAt: Date;
  lastCode: number | null;
  lastStatus: string | null;
  lastText: string | null;
  lastHost: string | null;
  lastAttemptAt: Date | null;
  leaseNode: string | null;
  sessionId: string;
  kind: 'mail' | 'dsn';
}

type EntryRow = {
  message_id: string;
  id: string;
  mail_from: string;
  address: string;
  status: RecipientStatus;
  attempts: number;
  size: string;
  received_at: Date | string;
  next_attempt_at: Date | string;
  expires_at: Date | string;
  last_code: number | null;
  last_status: string | null;
  last_text: string | null;
  last_host: string | null;
  last_attempt_at: Date | string | null;
  lease_node: string | null;
  session_id: string;
  kind: 'mail' | 'dsn';
};

const ENTRY_COLUMNS = `m.id AS message_id, r.id, m.mail_from, r.address, r.status, r.attempts, m.size, m.received_at, r.next_attempt_at,
  m.expires_at, r.last_code, r.last_status, r.last_text, r.last_host, r.last_attempt_at, r.lease_node, m.session_id, m.kind`;

function entry(r: EntryRow): QueueEntry {
  return {
    messageId: Number(r.message_id) as QueueMessageId,
    recipientId: Number(r.id) as QueueRecipientId,
    mailFrom: r.mail_from,
    address: r.address,
    status: r.status,
    attempts: Number(r.attempts),
    size: Number(r.size),
    receivedAt: new Date(r.received_at),
    nextAttemptAt: new Date(r.next_attempt_at),
    expiresAt: new Date(r.expires_at),
    lastCode: r.last_code,
    lastStatus: r.last_status,
    lastText: r.last_text,
    lastHost: r.last_host,
    lastAttemptAt: r.last_attempt_at == null ? null : new Date(r.last_attempt_at),
    leaseNode: r.lease_node,
    sessionId: r.session_id,
    kind: r.kind,
  };
}

/** Recipients in the queue (queued and held), or with `history` the finished ones too, oldest first. */
export async function listQueue(q: Queryable, opts: { history?: boolean; limit?: number } = {}): Promise<QueueEntry[]> {
  const rows = await q.query<EntryRow>(
    `SELECT ${ENTRY_COLUMNS} FROM queue_recipients r JOIN queue_messages m ON m.id = r.message_id
      WHERE $1 OR r.status IN ('queued', 'held')
      ORDER BY m.received_at, m.id, r.id LIMIT $2`,
    [opts.history ?? false, opts.limit ?? 1000],
  );
  return rows.map(entry);
}

/** All recipients of one message, finished or not. */
export async function messageEntries(q: Queryable, id: QueueMessageId): Promise<QueueEntry[]> {
  const rows = await q.query<EntryRow>(
    `SELECT ${ENTRY_COLUMNS} FROM queue_recipients r JOIN queue_messages m ON m.id = r.message_id WHERE m.id = $1 ORDER BY r.id`,
    [id],
  );
  return rows.map(entry);
}

/** Makes the queued recipients of a message (or of all messages) due now; returns how many. */
export async function retryNow(q: Queryable, id: QueueMessageId | 'all'): Promise<number> {
  const rows = await q.query(
    `UPDATE queue_recipients SET next_attempt_at = now() WHERE status = 'queued' AND ($1::bigint IS NULL OR message_id = $1) RETURNING id`,
    [id === 'all' ? null : id],
  );
  return rows.length;
}

/** hold: queued -> held (no delivery until released); release: held -> queued, due now. Returns how many changed. */
export async function setHeld(q: Queryable, id: QueueMessageId, held: boolean): Promise<number> {
  const rows = held
    ? await q.query(`UPDATE queue_recipients SET status = 'held', lease_until = NULL WHERE message_id = $1 AND status = 'queued' RETURNING id`, [id])
    : await q.query(`UPDATE queue_recipients SET status = 'queued', next_attempt_at = now() WHERE message_id = $1 AND status = 'held' RETURNING id`, [id]);
  return rows.length;
}

/**
 * Deletes a message with all its recipients (no DSN: an administrator's
 * decision); its blob goes to the blob collector. False when there is none.
 */
export async function deleteQueued(q: Queryable, id: QueueMessageId): Promise<boolean> {
  const rows = await q.query(
    `WITH gone AS (DELETE FROM queue_messages WHERE id = $1 RETURNING blob_id),
          gc AS (INSERT INTO blob_gc_queue(blob_id) SELECT blob_id FROM gone ON CONFLICT (blob_id) DO NOTHING)
     SELECT 1 FROM gone`,
    [id],
  );
  return rows.length > 0;
}

/**
 * The history: deletes recipients finished more than `days` ago, and the
 * messages left without recipients (their blobs queued for collection).
 * Returns the number of messages deleted.
 */
export async function pruneQueueHistory(q: Queryable, days: number, limit = 5000): Promise<number> {
  const rows = await q.query<{ n: string }>(
    `WITH old AS (
       DELETE FROM queue_recipients WHERE id IN (
         SELECT id FROM queue_recipients WHERE finished_at < now() - make_interval(days => $1) ORDER BY finished_at LIMIT $2)
       RETURNING id, message_id
     ), empty AS (
       -- One snapshot for the whole statement: the rows deleted above are still
       -- visible here, so "no recipient left" means none besides those.
       DELETE FROM queue_messages m WHERE m.id IN (SELECT message_id FROM old)
          AND NOT EXISTS (SELECT 1 FROM queue_recipients r WHERE r.message_id = m.id AND r.id NOT IN (SELECT id FROM old))
       RETURNING blob_id
     ), gc AS (INSERT INTO blob_gc_queue(blob_id) SELECT DISTINCT blob_id FROM empty ON CONFLICT (blob_id) DO NOTHING)
     SELECT count(*) AS n FROM empty`,
    [days, limit],
  );
  return Number(rows[0]?.n ?? 0);
}

/**
 * Extends the lease of recipients a node is still delivering (their claim
 * must be current: same attempt, still queued). Returns how many it kept.
 */
export async function renewLeases(q: Queryable, claims: readonly { id: QueueRecipientId; attempt: number }[], leaseSeconds: number): Promise<number> {
  if (claims.length === 0) return 0;
  const rows = await q.query(
    `UPDATE queue_recipients r
        SET lease_until = now() + make_interval(secs => $3), next_attempt_at = now() + make_interval(secs => $3)
       FROM unnest($1::bigint[], $2::int[]) AS x(id, attempt)
      WHERE r.id = x.id AND r.attempts = x.attempt AND r.status = 'queued'
      RETURNING r.id`,
    [claims.map((c) => c.id), claims.map((c) => c.attempt), leaseSeconds],
  );
  return rows.length;
}
