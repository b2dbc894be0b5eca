/**
 * Real PostgreSQL (>= 14) through the `postgres` driver. Many nodes may share
 * one database: all coordination happens in SQL (row locks, SKIP LOCKED,
 * advisory locks) and LISTEN/NOTIFY.
 */
import postgres from 'postgres';
import type { Database, Queryable, QueryOptions, Row, Tx } from './db.ts';
import { driverTarget } from './pg-url.ts';

export interface PostgresOptions {
  url: string;
  /** Pool size; each node keeps at most this many connections. */
  max?: number;
  /** application_name shown in pg_stat_activity. */
  applicationName?: string;
}

type Sql = postgres.Sql | postgres.TransactionSql;

function queryable(sql: Sql): Queryable {
  return {
    async query<R extends Row = Row>(text: string, params: readonly unknown[] = [], opts?: QueryOptions): Promise<R[]> {
      // Named prepared statements, cached per connection: one round trip per
      // query after the first (unprepared, the driver sends Parse+Describe and
      // waits for the parameter types before Bind+Execute: two round trips,
      // and PostgreSQL parses and plans every time). Our SQL texts are static,
      // so the cache stays small; the few that vary say `prepare: false`.
      const rows = await sql.unsafe(text, params as postgres.ParameterOrJSON<never>[], { prepare: opts?.prepare ?? params.length > 0 });
      return rows as unknown as R[];
    },
    async exec(text: string): Promise<void> {
      await sql.unsafe(text).simple();
    },
  };
}

export function openPostgres(opts: PostgresOptions): Database {
  const target = driverTarget(opts.url);
  const sql = postgres(target.url, {
    ...(target.path === undefined ? {} : { path: target.path }),
    max: opts.max ?? 10,
    onnotice: () => undefined,
    // Generic plans for prepared statements: our statements are fixed texts
    // scoped by indexed keys (mailbox, account, UID), so the plan does not
    // depend on the values. In the default mode PostgreSQL re-plans a complex
    // statement at every execution whenever its estimate favours a custom
    // plan, which measured 0.6 ms of planning per STORE (more than running it).
    connection: { application_name: opts.applicationName ?? 'tegu', plan_cache_mode: 'force_generic_plan' },
    // Keep int8/numeric as strings (the Database contract); the store converts.
  });
  const base = queryable(sql);
  return {
    kind: 'postgres',
    query: base.query,
    exec: base.exec,
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
        const run = (text: string, params: readonly unknown[] = []) =>
          conn.unsafe(text, params as postgres.ParameterOrJSON<never>[], { prepare: params.length > 0 }) as unknown as Promise<Row[]>;
        const settled = await Promise.allSettled([run('BEGIN'), ...statements.map((s) => run(s.sql, s.params)), run('COMMIT')]);
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
      await sql.unsafe('SELECT pg_notify($1, $2)', [channel, payload]);
    },
    async close() {
      await sql.end({ timeout: 5 });
    },
  };
}
