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

/** Something that runs a parameterized statement: the database or an open transaction. */
export interface Queryable {
  /** One statement, `$n` parameters, rows back. */
  query<R extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<R[]>;
  /** Several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export type Tx = Queryable;

export type EngineKind = 'postgres' | 'embedded';

export interface Database extends Queryable {
  readonly kind: EngineKind;
  /**
   * Runs `fn` in one transaction: COMMIT when it resolves, ROLLBACK when it throws.
   * Never call the Database itself inside `fn`; use the `tx` it is given.
   */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * Subscribes to a NOTIFY channel. Real PostgreSQL: a dedicated LISTEN connection;
   * embedded: PGlite's in-process notifications, forwarded from the worker.
   * Returns a function that unsubscribes.
   */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  notify(channel: string, payload: string): Promise<void>;
  close(): Promise<void>;
}
