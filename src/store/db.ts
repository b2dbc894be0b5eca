/**
 * The database handle every store function takes. Two engines implement it:
 * real PostgreSQL through the `postgres` driver (store/postgres.ts) and the
 * embedded PGlite engine in a worker thread (store/embedded.ts). Both speak
 * the same SQL with `$1` parameters and return rows with the same value types:
 *
 *   int8 / numeric -> string (convert with Number()/BigInt() in the store function)
 *   int2 / int4    -> number
 *   bytea          -> Buffer
 *   json / jsonb   -> parsed value
 *   timestamptz    -> Date
 *   arrays         -> JavaScript arrays
 *
 * jsonb parameters: pass JSON.stringify(value) and cast `$n::text::jsonb`; the
 * two drivers serialize a value typed jsonb differently (one would encode a
 * string twice).
 *
 * Only files in src/store may hold SQL.
 */

export type Row = Record<string, unknown>;

export interface QueryOptions {
  /**
   * PostgreSQL: run as a named prepared statement, cached per connection
   * (default: when there are parameters). Pass false for SQL whose text varies
   * (SEARCH compiles a WHERE clause per tree shape), so the cache stays small.
   * The embedded engine ignores it.
   */
  prepare?: boolean;
  /**
   * 'long': a statement whose cost grows with the data (SEARCH, a large
   * body, every message of a mailbox, a housekeeping sweep). PostgreSQL
   * pipelines single statements onto few connections (store/pg-scheduler.ts),
   * and statements queued behind a long one on its connection would wait for
   * it; a long statement gets a connection of its own. Unmarked statements
   * are short: a few rows by key. Ignored inside a transaction and by the
   * embedded engine.
   */
  lane?: 'long';
  /**
   * Every column of the result is bytea. PostgreSQL: the rows are taken as
   * the octets of their hex text and decoded from hex directly, where the
   * driver would first decode that text as UTF-8 into a string (twice the
   * size of the value): 0.7 instead of 1.6 ms of CPU per 512 KB. For large
   * bodies. The embedded engine ignores it.
   */
  byteaColumns?: true;
}

/** The lane of a statement over `uids` UIDs: long past SHORT_MAX_ROWS (see QueryOptions.lane). */
export function laneForUids(uids: number): QueryOptions {
  return uids > SHORT_MAX_ROWS ? { lane: 'long' } : {};
}

/** The most rows a short statement touches (a STORE, EXPUNGE or FETCH batch of that many UIDs). */
export const SHORT_MAX_ROWS = 200;

/** Something that runs a parameterized statement: the database or an open transaction. */
export interface Queryable {
  /** One statement, `$n` parameters, rows back. */
  query<R extends Row = Row>(sql: string, params?: readonly unknown[], opts?: QueryOptions): Promise<R[]>;
  /** Several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export type Tx = Queryable;

/** One statement of Database.batch. */
export interface Statement {
  readonly sql: string;
  readonly params?: readonly unknown[];
}

/** Database.batch for engines without pipelining: the statements in one transaction, one after another. */
export function batchInTransaction(db: Pick<Database, 'transaction'>, statements: readonly Statement[]): Promise<Row[][]> {
  return db.transaction(async (tx) => {
    const out: Row[][] = [];
    for (const s of statements) out.push(await tx.query(s.sql, s.params ?? []));
    return out;
  });
}

export type EngineKind = 'postgres' | 'embedded';

export interface Database extends Queryable {
  readonly kind: EngineKind;
  /**
   * Runs `fn` in one transaction: COMMIT when it resolves, ROLLBACK when it throws.
   * Never call the Database itself inside `fn`; use the `tx` it is given.
   */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * Runs `statements` in order in one transaction, sent together: on real
   * PostgreSQL BEGIN, the statements and COMMIT go out pipelined, one round
   * trip instead of n + 2 (a short transaction's cost is mostly round trips).
   * So a statement cannot take parameters from an earlier one's rows; it
   * reads what the earlier ones locked or wrote through SQL (each statement
   * gets a fresh snapshot, READ COMMITTED). All or nothing: the first error
   * rolls the transaction back and is thrown. Resolves after COMMIT with the
   * rows of each statement.
   */
  batch(statements: readonly Statement[]): Promise<Row[][]>;
  /**
   * Subscribes to a NOTIFY channel. Real PostgreSQL: a dedicated LISTEN connection;
   * embedded: PGlite's in-process notifications, forwarded from the worker.
   * Returns a function that unsubscribes.
   */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  notify(channel: string, payload: string): Promise<void>;
  close(): Promise<void>;
}
