/**
 * Scratch PostgreSQL databases for the benchmarks: created on an admin URL
 * under a random name, dropped afterwards (WITH (FORCE): a benchmark that
 * failed may leave connections behind), and the server's version and
 * durability settings for the notes.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { Queryable } from '../../src/store/db.ts';
import { openPostgres } from '../../src/store/postgres.ts';

/** --database as given, else TEGU_DATABASE_URL, else the local cluster's postgres database. */
export function databaseUrlOf(value: string | undefined): string {
  return value ?? process.env.TEGU_DATABASE_URL ?? defaultAdminUrl();
}

/** Debian's PostgreSQL socket directory. */
const SOCKET_DIR = '/var/run/postgresql';

/**
 * The local PostgreSQL: through its Unix-domain socket when there is one (what
 * README recommends for a database on the same machine: each query costs less
 * CPU than over TCP loopback), else TCP on 127.0.0.1.
 */
export function defaultAdminUrl(): string {
  return existsSync(`${SOCKET_DIR}/.s.PGSQL.5432`) ? `postgres://postgres@localhost/postgres?host=${SOCKET_DIR}` : 'postgres://postgres@127.0.0.1:5432/postgres';
}

/** `url` with its database replaced. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** `url` without its password, for printing. */
export function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

/** `SELECT version()`: "PostgreSQL 16.4 (Debian ...) on x86_64-pc-linux-gnu, compiled by ...". */
export async function pgVersion(db: Queryable): Promise<string> {
  return (await db.query<{ v: string }>('SELECT version() AS v'))[0]?.v ?? '?';
}

/** What decides commit speed: "fsync=on, shared_buffers=128MB, synchronous_commit=on". */
export async function pgSettings(db: Queryable): Promise<string> {
  const s = await db.query<{ name: string; setting: string }>(
    `SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'shared_buffers') ORDER BY name`,
  );
  return s.map((r) => `${r.name}=${r.name === 'shared_buffers' ? `${(Number(r.setting) * 8) / 1024}MB` : r.setting}`).join(', ');
}

/** The version's first part and the settings, as one note: "PostgreSQL 16.4 (...) on x86_64-pc-linux-gnu; fsync=on, ...". */
export async function pgNote(db: Queryable): Promise<string> {
  const version = await pgVersion(db);
  return `${version.split(',')[0]}; ${await pgSettings(db)}`;
}

export interface ScratchDatabase {
  /** The admin connection (one). */
  admin: Queryable;
  /** `<prefix>_<10 hex digits>`. */
  name: string;
  /** The admin URL with the scratch database in it. */
  url: string;
  /** CREATE DATABASE; once created, it is dropped when `fn` is over. */
  create(): Promise<void>;
}

/**
 * Runs `fn` with a scratch database name on the admin URL `adminUrl`; `fn`
 * creates the database when it is ready to (setup before that, such as
 * notes from the admin connection, may still fail without leaving anything).
 */
export async function withScratchDatabase<T>(adminUrl: string, prefix: string, fn: (scratch: ScratchDatabase) => Promise<T>): Promise<T> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const admin = openPostgres({ url: adminUrl, max: 1, applicationName: 'tegu-bench-admin' });
  let created = false;
  try {
    return await fn({
      admin,
      name,
      url: withDatabase(adminUrl, name),
      async create() {
        // A name of our own making (prefix, hex digits): CREATE DATABASE takes no parameters.
        await admin.query(`CREATE DATABASE ${name}`);
        created = true;
      },
    });
  } finally {
    try {
      if (created) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    } finally {
      await admin.close();
    }
  }
}
