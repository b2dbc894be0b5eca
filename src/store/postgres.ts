/**
 * Real PostgreSQL (>= 14) through the `postgres` driver. Many nodes may share
 * one database: all coordination happens in SQL (row locks, SKIP LOCKED,
 * advisory locks) and LISTEN/NOTIFY.
 */
import postgres from 'postgres';
import type { Database, Queryable, QueryOptions, Row, Tx } from './db.ts';
import { StatementScheduler } from './pg-scheduler.ts';
import { driverTarget } from './pg-url.ts';

export interface PostgresOptions {
  url: string;
  /** Connections for transactions and Database.batch (each holds its connection throughout). */
  max?: number;
  /**
   * Connections for single statements, scheduled by store/pg-scheduler.ts
   * (pipelined, taking turns on the first two). 0 or absent: single
   * statements use the transaction pool as well, in the driver's order (idle
   * first).
   */
  statementConnections?: number;
  /** application_name shown in pg_stat_activity. */
  applicationName?: string;
}

type Sql = postgres.Sql | postgres.TransactionSql;

/** Statements pipelined on one connection before the next one is woken (see pg-scheduler.ts). */
const PIPELINE_DEPTH = 4;
/** A connection whose oldest statement has run this long (ms) is passed over while another can take the statement. */
const STALL_MS = 10;
/** Connections short statements take turns on before a third is woken (see pg-scheduler.ts). */
const SPREAD = 2;

function run<R extends Row>(sql: Sql, text: string, params: readonly unknown[], opts?: QueryOptions): Promise<R[]> {
  // Named prepared statements, cached per connection: one round trip per
  // query after the first (unprepared, the driver sends Parse+Describe and
  // waits for the parameter types before Bind+Execute: two round trips,
  // and PostgreSQL parses and plans every time). Our SQL texts are static,
  // so the cache stays small; the few that vary say `prepare: false`.
  const query = sql.unsafe(text, params as postgres.ParameterOrJSON<never>[], { prepare: opts?.prepare ?? params.length > 0 });
  if (opts?.byteaColumns) return query.raw().then((rows) => byteaRows(rows, rows.columns) as R[]);
  return query as unknown as Promise<R[]>;
}

/** Rows of bytea columns from the raw octets of their text form (`\x` and hex digits; bytea_output is set to hex). */
function byteaRows(rows: readonly (Buffer | null)[][], columns: readonly { name: string; type: number }[]): Row[] {
  for (const c of columns) if (c.type !== BYTEA_OID) throw new TypeError(`byteaColumns: column ${c.name} is not bytea`);
  return rows.map((r) => {
    const row: Row = {};
    columns.forEach((c, i) => {
      const v = r[i];
      // latin1: one octet per character, no UTF-8 decoding of what is known to be ASCII.
      row[c.name] = v == null ? null : Buffer.from(v.toString('latin1', 2), 'hex');
    });
    return row;
  });
}

const BYTEA_OID = 17;

function queryable(sql: Sql): Queryable {
  return {
    query: <R extends Row = Row>(text: string, params: readonly unknown[] = [], opts?: QueryOptions): Promise<R[]> => run<R>(sql, text, params, opts),
    async exec(text: string): Promise<void> {
      await sql.unsafe(text).simple();
    },
  };
}

/** Single statements over `connections` one-connection drivers, each statement on the connection the scheduler picks. */
function scheduledStatements(open: () => postgres.Sql, connections: number): Pick<Queryable, 'query'> & { end(): Promise<void> } {
  const conns = Array.from({ length: connections }, open);
  const scheduler = new StatementScheduler(connections, { depth: PIPELINE_DEPTH, stallMs: STALL_MS, spread: SPREAD });
  return {
    async query<R extends Row = Row>(text: string, params: readonly unknown[] = [], opts?: QueryOptions): Promise<R[]> {
      const kind = opts?.lane ?? 'short';
      const i = scheduler.pick(kind);
      scheduler.start(i, kind);
      try {
        return await run<R>(conns[i]!, text, params, opts);
      } finally {
        scheduler.done(i);
      }
    },
    async end() {
      await Promise.all(conns.map((c) => c.end({ timeout: 5 })));
    },
  };
}

/**
 * Two sets of connections. Transactions (and batches) take a connection of
 * the pool for their whole duration, in the driver's order. Single
 * statements, most of what a node sends, go over `statementConnections`
 * one-connection drivers as store/pg-scheduler.ts picks: pipelined onto as
 * few backends as keep up, so a backend is not woken for each statement.
 */
export function openPostgres(opts: PostgresOptions): Database {
  const target = driverTarget(opts.url);
  const sql = postgres(target.url, driverOptions(target, opts.max ?? 10, opts.applicationName));
  const n = opts.statementConnections ?? 0;
  const pool = queryable(sql);
  const statements = n > 0 ? scheduledStatements(() => postgres(target.url, driverOptions(target, 1, opts.applicationName)), n) : undefined;
  const query = statements?.query ?? pool.query;
  return {
    kind: 'postgres',
    query,
    // Several statements in one (migrations, scripts): from the pool, never pipelined behind others.
    exec: pool.exec,
    async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
      return (await sql.begin(async (tsql) => fn(queryable(tsql)))) as T;
    },
    async batch(statements) {
      // One reserved connection; the queries are issued without waiting, so
      // the driver writes them back to back (it pipelines up to 100). After a
      // failed statement PostgreSQL refuses the rest (25P02) and COMMIT rolls
      // back; the first error is the one reported.
      const conn = await sql.reserve();
      try {
        const exec = (text: string, params: readonly unknown[] = []) =>
          conn.unsafe(text, params as postgres.ParameterOrJSON<never>[], { prepare: params.length > 0 }) as unknown as Promise<Row[]>;
        const settled = await Promise.allSettled([exec('BEGIN'), ...statements.map((s) => exec(s.sql, s.params)), exec('COMMIT')]);
        const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
        return settled.slice(1, -1).map((r) => (r as PromiseFulfilledResult<Row[]>).value);
      } finally {
        conn.release();
      }
    },
    async listen(channel, onNotify) {
      const sub = await sql.listen(channel, onNotify);
      return async () => {
        await sub.unlisten();
      };
    },
    async notify(channel, payload) {
      await query('SELECT pg_notify($1, $2)', [channel, payload]);
    },
    async close() {
      await Promise.all([sql.end({ timeout: 5 }), statements?.end()]);
    },
  };
}

function driverOptions(
  target: ReturnType<typeof driverTarget>,
  max: number,
  applicationName: string | undefined,
): postgres.Options<Record<string, postgres.PostgresType>> {
  return {
    ...(target.path === undefined ? {} : { path: target.path }),
    max,
    onnotice: () => undefined,
    // Generic plans for prepared statements: our statements are fixed texts
    // scoped by indexed keys (mailbox, account, UID), so the plan does not
    // depend on the values. In the default mode PostgreSQL re-plans a complex
    // statement at every execution whenever its estimate favours a custom
    // plan, which measured 0.6 ms of planning per STORE (more than running it).
    connection: { application_name: applicationName ?? 'tegu', plan_cache_mode: 'force_generic_plan', bytea_output: 'hex' },
    // Keep int8/numeric as strings (the Database contract); the store converts.
  };
}
