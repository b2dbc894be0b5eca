/**
 * Cluster-level chores on a real PostgreSQL server (create / drop databases),
 * done over a short-lived admin connection. Used by the test harness and the
 * benchmarks; database names are checked, since they cannot be parameters.
 */
import postgres from 'postgres';
import { InvalidInputError } from '../lib/errors.ts';
import { driverTarget } from './pg-url.ts';

const NAME = /^[a-z_][a-z0-9_]{0,62}$/;

function ident(name: string): string {
  if (!NAME.test(name)) throw new InvalidInputError(`invalid database name: ${name}`);
  return name;
}

/** The URL of another database on the same server. */
export function databaseUrl(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${ident(database)}`;
  return u.toString();
}

async function withAdmin<T>(adminUrl: string, fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const target = driverTarget(adminUrl);
  const sql = postgres(target.url, { ...(target.path === undefined ? {} : { path: target.path }), max: 1, onnotice: () => undefined });
  try {
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export function databaseExists(adminUrl: string, name: string): Promise<boolean> {
  return withAdmin(adminUrl, async (sql) => (await sql`SELECT 1 FROM pg_database WHERE datname = ${name}`).length > 0);
}

export function createDatabase(adminUrl: string, name: string, opts: { template?: string } = {}): Promise<void> {
  return withAdmin(adminUrl, async (sql) => {
    const template = opts.template ? ` TEMPLATE ${ident(opts.template)}` : '';
    await sql.unsafe(`CREATE DATABASE ${ident(name)}${template}`);
  });
}

export function markTemplate(adminUrl: string, name: string): Promise<void> {
  return withAdmin(adminUrl, async (sql) => {
    await sql.unsafe(`ALTER DATABASE ${ident(name)} WITH IS_TEMPLATE true`);
  });
}

/** Drops the database, closing other sessions on it (PostgreSQL >= 13). */
export function dropDatabase(adminUrl: string, name: string): Promise<void> {
  return withAdmin(adminUrl, async (sql) => {
    await sql.unsafe(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`);
  });
}

/**
 * Runs fn while holding a session advisory lock on the admin database, so
 * concurrent processes (parallel test files) build a shared thing once.
 */
export function withAdminLock<T>(adminUrl: string, key: number, fn: () => Promise<T>): Promise<T> {
  return withAdmin(adminUrl, async (sql) => {
    await sql`SELECT pg_advisory_lock(${key})`;
    try {
      return await fn();
    } finally {
      await sql`SELECT pg_advisory_unlock(${key})`;
    }
  });
}
