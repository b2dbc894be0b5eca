/**
 * IMAP SEARCH in SQL (RFC 9051 6.4.4): a tree of criteria compiled into one
 * WHERE clause over the messages of one mailbox of one account. Every value
 * from the client travels as a `$n` parameter; only the shape of the tree
 * changes the SQL text, so only small trees run as named prepared statements
 * (a statement per shape of any size would fill the connection's cache).
 *
 * What each criterion reads (docs/imap.md, "SEARCH", has the user-facing
 * version and the limits):
 *
 *  - text matches are case-insensitive substring matches (ILIKE, the
 *    database's case folding, which folds non-ASCII letters too); LIKE
 *    wildcards in the client's string are escaped;
 *  - subject: messages.subject (RFC 2047 words decoded at delivery);
 *  - from/to/cc/bcc: one address of the stored envelope at a time, as
 *    `name <mailbox@host>` with the name as written; without an envelope
 *    (rows older than migration 0004) the header field instead;
 *  - header: the header section's bytes (header_prefix || the blob up to the
 *    body), each line of the field unfolded; bytes are compared raw (UTF-8 in
 *    headers, RFC 6532, match, case-insensitive for ASCII only; RFC 2047
 *    encoded words are not decoded), and an empty string matches every
 *    message that has the field;
 *  - body: indexed messages (message_search) match when the tsvector holds
 *    the words of the string as a phrase, each word as a prefix
 *    ('hello':* <-> 'wor':*), the words split as the node split the text
 *    (mail/search-terms.ts) or, for vectors built before migration 0007, as
 *    PostgreSQL's parser did; messages still queued (search_pending) match by
 *    substring of the queued text. Both texts are "subject, people, decoded
 *    body", so BODY also finds words of the subject and addresses;
 *  - text: body, or a substring of the header section;
 *  - dates: internal_date in UTC (BEFORE/ON/SINCE); sent_at in the zone of
 *    the Date header as written (SENTBEFORE/SENTON/SENTSINCE, RFC 9051:
 *    "disregarding time and timezone"), no match without a Date.
 *
 * NULL never leaks into NOT: a criterion that cannot be decided (no Date
 * header) is false, and its NOT true.
 */
import type { AccountId, MailboxId } from '../lib/ids.ts';
import { expandUidRanges, parseUidRanges, rangeBounds, type UidRange } from '../lib/uid-ranges.ts';
import { searchQuery } from '../mail/search-terms.ts';
import type { Queryable } from './db.ts';
import { uidRangesAgg } from './uid-sql.ts';

/**
 * At most this many nodes in one tree (every criterion, NOT, AND and OR counts
 * one): a backstop; the protocol limits the client's keys first (one IMAP key
 * is at most 4 nodes here: NEW is RECENT AND NOT SEEN).
 */
export const MAX_SEARCH_NODES = 4000;

/** Trees of at most this many nodes run as prepared statements (searchMessages). */
const PREPARED_NODES = 3;

export type SearchFlag = 'seen' | 'answered' | 'flagged' | 'deleted' | 'draft';
export type SearchTextField = 'subject' | 'from' | 'to' | 'cc' | 'bcc' | 'body' | 'text';

/** A calendar date (no time, no zone). */
export interface SearchDate {
  readonly year: number;
  /** 1-12 */
  readonly month: number;
  readonly day: number;
}

export type SearchCriterion =
  | { readonly kind: 'true' }
  | { readonly kind: 'false' }
  /** The system flag is set. */
  | { readonly kind: 'flag'; readonly flag: SearchFlag }
  /** The keyword is set (keywords compare case-insensitively). */
  | { readonly kind: 'keyword'; readonly keyword: string }
  | { readonly kind: 'uids'; readonly ranges: readonly UidRange[] }
  | { readonly kind: 'text'; readonly field: SearchTextField; readonly value: string }
  | { readonly kind: 'header'; readonly field: string; readonly value: string }
  | { readonly kind: 'date'; readonly of: 'internal' | 'sent'; readonly op: 'before' | 'on' | 'since'; readonly date: SearchDate }
  | { readonly kind: 'size'; readonly op: 'larger' | 'smaller'; readonly octets: number }
  /** RFC 5032 WITHIN: internal date at least / less than `seconds` before now. */
  | { readonly kind: 'age'; readonly op: 'older' | 'younger'; readonly seconds: number }
  /** RFC 7162 3.1.5: modseq >= min. */
  | { readonly kind: 'modseq'; readonly min: bigint }
  /** The message's blob (EMAILID, RFC 8474). */
  | { readonly kind: 'blob'; readonly blobId: number }
  | { readonly kind: 'not'; readonly operand: SearchCriterion }
  | { readonly kind: 'and' | 'or'; readonly operands: readonly SearchCriterion[] };

export interface SearchOptions {
  /** Only UIDs up to this one (the session's highest known UID: RFC 9051 7.4.1). */
  readonly maxUid: number;
  /** Also return each match's modseq (the MODSEQ key was used, RFC 7162 3.1.5). */
  readonly withModseq: boolean;
}

export interface SearchMatches {
  /** Matching UIDs, ascending. */
  readonly uids: Uint32Array;
  /** With `withModseq`: the modseq of each match, parallel to `uids`; else null. */
  readonly modseqs: bigint[] | null;
}

/** The number of nodes of a tree (the MAX_SEARCH_NODES measure). */
export function countCriteria(c: SearchCriterion): number {
  if (c.kind === 'not') return 1 + countCriteria(c.operand);
  if (c.kind === 'and' || c.kind === 'or') return c.operands.reduce((n, o) => n + countCriteria(o), 1);
  return 1;
}

/** `%value%` for LIKE/ILIKE with the default escape character. */
function likeContains(value: string): string {
  return `%${value.replace(/[\\%_]/g, '\\$&')}%`;
}

/** The client's string as PostgreSQL's encode(bytes, 'escape') writes those UTF-8 bytes. */
function escapeEncoded(value: string): string {
  let out = '';
  for (const b of Buffer.from(value, 'utf8')) {
    if (b === 0x5c) out += '\\\\';
    else if (b === 0 || b >= 0x80) out += `\\${b.toString(8).padStart(3, '0')}`;
    else out += String.fromCharCode(b);
  }
  return out;
}

/** A regex (PostgreSQL ARE) for the lines of one header field; group 1 is its value with continuation lines. */
function fieldLinesRegex(field: string): string {
  return `(?:^|\n)${field.replace(/[^A-Za-z0-9]/g, '\\$&')}[ \t]*:([^\n]*(?:\n[ \t][^\n]*)*)`;
}

function isoDate(d: SearchDate): string {
  // PostgreSQL has no year 0; IMAP's 4DIGIT allows it: the earliest real date instead.
  const year = Math.max(1, d.year);
  return `${String(year).padStart(4, '0')}-${String(d.month).padStart(2, '0')}-${String(d.day).padStart(2, '0')}`;
}

/** The header section as text: bytes over 0x7f as \ooo (encode 'escape'); old rows without structure end it at the blank line. */
const HEADER_TEXT = `encode(m.header_prefix || substring(bl.data FROM 1 FOR COALESCE(
    (m.bodystructure->'o'->>1)::int, NULLIF(position('\\x0d0a0d0a'::bytea IN bl.data), 0) + 3, length(bl.data))), 'escape')`;

/** The date of the Date header in its own zone: sent_at (UTC) moved by the zone written at the end of the header value. */
const SENT_DATE = `((m.sent_at AT TIME ZONE 'UTC') + COALESCE((
    SELECT (CASE WHEN left(z.v, 1) = '-' THEN -1 ELSE 1 END) * (substr(z.v, 2, 2)::int * 60 + substr(z.v, 4, 2)::int) * interval '1 minute'
      FROM (SELECT substring(m.envelope->>'date' FROM '([+-][0-9]{4})[ \t]*(?:\\([^)]*\\))?[ \t]*$') AS v) AS z), interval '0'))::date`;

/** The address lists of the stored envelope, by criterion (static JSON keys). */
const ENVELOPE_KEY: Readonly<Record<'from' | 'to' | 'cc' | 'bcc', string>> = { from: 'from', to: 'to', cc: 'cc', bcc: 'bcc' };

class Compiler {
  readonly params: unknown[];
  constructor(base: unknown[]) {
    this.params = base;
  }

  private p(value: unknown): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }

  compile(c: SearchCriterion): string {
    switch (c.kind) {
      case 'true':
        return 'TRUE';
      case 'false':
        return 'FALSE';
      case 'flag':
        return `m.${c.flag}`;
      case 'keyword':
        return `EXISTS (SELECT 1 FROM unnest(m.keywords) AS k(v) WHERE lower(k.v) = lower(${this.p(c.keyword)}::text))`;
      case 'uids': {
        if (c.ranges.length === 0) return 'FALSE';
        const [lo, hi] = rangeBounds(c.ranges);
        return `EXISTS (SELECT 1 FROM unnest(${this.p(lo)}::bigint[], ${this.p(hi)}::bigint[]) AS r(lo, hi) WHERE m.uid BETWEEN r.lo AND r.hi)`;
      }
      case 'text':
        return this.text(c.field, c.value);
      case 'header':
        return this.header(c.field, c.value);
      case 'date': {
        const column = c.of === 'internal' ? `(m.internal_date AT TIME ZONE 'UTC')::date` : SENT_DATE;
        const op = c.op === 'before' ? '<' : c.op === 'on' ? '=' : '>=';
        return `${column} ${op} ${this.p(isoDate(c.date))}::date`;
      }
      case 'size':
        return `m.size ${c.op === 'larger' ? '>' : '<'} ${this.p(c.octets)}::bigint`;
      case 'age':
        return `m.internal_date ${c.op === 'older' ? '<=' : '>'} now() - ${this.p(c.seconds)}::bigint * interval '1 second'`;
      case 'modseq':
        return `m.modseq >= ${this.p(c.min.toString())}::bigint`;
      case 'blob':
        return `m.blob_id = ${this.p(c.blobId)}::bigint`;
      case 'not':
        return neverNull(c.operand) ? `NOT ${this.compile(c.operand)}` : `NOT COALESCE(${this.compile(c.operand)}, FALSE)`;
      case 'and':
      case 'or':
        if (c.operands.length === 0) return c.kind === 'and' ? 'TRUE' : 'FALSE';
        return `(${c.operands.map((o) => this.compile(o)).join(c.kind === 'and' ? ' AND ' : ' OR ')})`;
    }
  }

  private text(field: SearchTextField, value: string): string {
    switch (field) {
      case 'subject':
        return `m.subject ILIKE ${this.p(likeContains(value))}`;
      case 'from':
      case 'to':
      case 'cc':
      case 'bcc': {
        const key = ENVELOPE_KEY[field];
        const pattern = this.p(likeContains(value));
        return `(CASE WHEN m.envelope IS NULL THEN ${this.header(field, value)} ELSE EXISTS (
            SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(m.envelope->'${key}') = 'array' THEN m.envelope->'${key}' ELSE '[]'::jsonb END) AS a(e)
             WHERE concat_ws(' ', a.e->>0, '<' || concat_ws('@', a.e->>2, a.e->>3) || '>') ILIKE ${pattern}) END)`;
      }
      case 'body':
        return this.body(value);
      case 'text':
        return `(${this.body(value)} OR EXISTS (SELECT 1 FROM blobs bl WHERE bl.id = m.blob_id AND ${HEADER_TEXT} ILIKE ${this.p(likeContains(escapeEncoded(value)))}))`;
    }
  }

  /** The full-text part: the index for indexed messages, the queued text for the others. */
  private body(value: string): string {
    if (value === '') return 'TRUE';
    const pending = `EXISTS (SELECT 1 FROM search_pending sp WHERE sp.message_id = m.id AND sp.text ILIKE ${this.p(likeContains(value))})`;
    // Without a letter or digit the parser finds no word: only the queued text can be matched.
    if (!/[\p{L}\p{N}]/u.test(value)) return pending;
    // Vectors built by the node (mail/search-terms.ts, migration 0007) match the node's split of the string;
    // vectors built by to_tsvector before match the split phraseto_tsquery makes, each lexeme then a prefix (:*).
    const node = searchQuery(value);
    const parser = `(SELECT regexp_replace(phraseto_tsquery('simple', ${this.p(value)}::text)::text, '''( |$)', ''':*\\1', 'g')::tsquery)`;
    const match = node === null ? `ms.vector @@ ${parser}` : `(ms.vector @@ ${this.p(node)}::text::tsquery OR ms.vector @@ ${parser})`;
    return `(EXISTS (SELECT 1 FROM message_search ms WHERE ms.message_id = m.id AND ${match}) OR ${pending})`;
  }

  private header(field: string, value: string): string {
    return `EXISTS (SELECT 1 FROM blobs bl, regexp_matches(${HEADER_TEXT}, ${this.p(fieldLinesRegex(field))}::text, 'gi') AS f(v)
        WHERE bl.id = m.blob_id AND translate(f.v[1], E'\\r\\n', '') ILIKE ${this.p(likeContains(escapeEncoded(value)))})`;
  }
}

/**
 * Whether the SQL of `c` is never NULL (NOT NULL columns, EXISTS, parameters
 * the parser always fills): then it needs no COALESCE, and a plain `NOT
 * m.seen` lets PostgreSQL use the partial index of unseen messages (UNSEEN,
 * NEW) where `COALESCE(NOT COALESCE(m.seen, FALSE), FALSE)` read the whole
 * mailbox.
 */
function neverNull(c: SearchCriterion): boolean {
  switch (c.kind) {
    case 'date':
      return c.of === 'internal'; // sent_at is NULL without a Date header
    case 'text':
      return c.field !== 'subject'; // subject is NULL without a Subject header; the others are EXISTS
    case 'not':
      return neverNull(c.operand);
    case 'and':
    case 'or':
      return c.operands.every(neverNull);
    default:
      return true;
  }
}

/**
 * The UIDs of the account's mailbox that match `criteria`, ascending, up to
 * `opts.maxUid`. A mailbox of another account (or none) matches nothing.
 * RangeError past MAX_SEARCH_NODES.
 */
export async function searchMessages(
  q: Queryable,
  accountId: AccountId,
  mailboxId: MailboxId,
  criteria: SearchCriterion,
  opts: SearchOptions,
): Promise<SearchMatches> {
  if (countCriteria(criteria) > MAX_SEARCH_NODES) throw new RangeError(`more than ${MAX_SEARCH_NODES} search criteria`);
  if (opts.maxUid < 1) return { uids: new Uint32Array(0), modseqs: opts.withModseq ? [] : null };
  // The statement's text depends on the tree's shape. Small trees (the usual UNSEEN, SUBJECT x, SINCE d,
  // DELETED UID n:m) run as named prepared statements: their shapes are few, so the per-connection cache
  // stays bounded, and they save a round trip and a plan. Larger trees run unprepared (store/db.ts).
  const prepare = countCriteria(criteria) <= PREPARED_NODES;
  const { sql, params } = searchStatement(accountId, mailboxId, criteria, opts);
  const rows = await q.query(sql, params, { prepare, lane: 'long' });
  if (opts.withModseq) {
    return { uids: Uint32Array.from(rows, (r) => Number(r.uid)), modseqs: rows.map((r) => BigInt(r.modseq as string)) };
  }
  return { uids: expandUidRanges(parseUidRanges(rows[0]?.uids as string | null)), modseqs: null };
}

/**
 * The statement searchMessages runs: the matches as rows (uid, modseq) with
 * `withModseq`, else one row with the UIDs as ranges (exported for
 * test/store-plans.test.ts).
 */
export function searchStatement(
  accountId: AccountId,
  mailboxId: MailboxId,
  criteria: SearchCriterion,
  opts: SearchOptions,
): { sql: string; params: unknown[] } {
  const c = new Compiler([mailboxId, accountId, opts.maxUid]);
  const where = c.compile(criteria);
  const hits = `SELECT m.uid, m.modseq FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id
      WHERE b.id = $1 AND b.account_id = $2 AND m.mailbox_id = $1 AND m.uid <= $3::bigint AND ${neverNull(criteria) ? where : `COALESCE(${where}, FALSE)`}`;
  const sql = opts.withModseq ? `${hits} ORDER BY m.uid` : `WITH hits AS (${hits}) SELECT ${uidRangesAgg('hits')} AS uids`;
  return { sql, params: c.params };
}
