/**
 * Test databases. Every store/core test file runs its suite on each engine:
 * always the embedded one (PGlite), and real PostgreSQL when
 * TEGU_TEST_DATABASE_URL is set (CI sets it). Each test file gets a fresh
 * database cloned from a migrated template, so tests never see each other's
 * rows and migrations run once per schema version, not once per file.
 */
import { createHash, randomBytes } from 'node:crypto';
import { cp, mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import type { CoreContext } from '../../src/core/context.ts';
import type { Database } from '../../src/store/db.ts';
import { openEmbedded } from '../../src/store/embedded.ts';
import { migrate } from '../../src/store/migrate.ts';
import { MIGRATIONS } from '../../src/store/migrations/index.ts';
import { openPostgres } from '../../src/store/postgres.ts';

const schemaHash = createHash('sha256')
  .update(MIGRATIONS.map((m) => `${m.version}:${m.sql}`).join('\n'))
  .digest('hex')
  .slice(0, 12);

export interface TestDb {
  db: Database;
  /** Where the database lives: a PostgreSQL URL or the embedded data directory. */
  url?: string;
  dataDir?: string;
  /** Closes and drops the database. */
  drop(): Promise<void>;
}

export interface Engine {
  name: 'embedded' | 'postgres';
  create(): Promise<TestDb>;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

// ---- real PostgreSQL

async function postgresTemplate(adminUrl: string): Promise<string> {
  const name = `tegu_tpl_${schemaHash}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined });
  try {
    await admin`SELECT pg_advisory_lock(7463)`;
    const exists = await admin`SELECT 1 FROM pg_database WHERE datname = ${name}`;
    if (exists.length === 0) {
      await admin.unsafe(`CREATE DATABASE ${name}`);
      const db = openPostgres({ url: withDatabase(adminUrl, name), max: 1 });
      try {
        await migrate(db);
      } finally {
        await db.close();
      }
      await admin.unsafe(`ALTER DATABASE ${name} WITH IS_TEMPLATE true`);
    }
    await admin`SELECT pg_advisory_unlock(7463)`;
  } finally {
    await admin.end();
  }
  return name;
}

export function postgresEngine(adminUrl: string): Engine {
  return {
    name: 'postgres',
    async create() {
      const template = await postgresTemplate(adminUrl);
      const name = `tegu_test_${randomBytes(6).toString('hex')}`;
      const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined });
      try {
        await admin.unsafe(`CREATE DATABASE ${name} TEMPLATE ${template}`);
      } finally {
        await admin.end();
      }
      const url = withDatabase(adminUrl, name);
      const db = openPostgres({ url, max: 10 });
      return {
        db,
        url,
        async drop() {
          await db.close();
          const a = postgres(adminUrl, { max: 1, onnotice: () => undefined });
          try {
            await a.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
          } finally {
            await a.end();
          }
        },
      };
    },
  };
}

// ---- embedded PGlite

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** initdb takes seconds in PGlite: do it (and the migrations) once per schema, then copy the directory. */
async function embeddedTemplate(): Promise<string> {
  const dir = join(tmpdir(), `tegu-test-template-${schemaHash}`);
  if (await exists(join(dir, 'ready'))) return dir;
  const building = `${dir}.${process.pid}.${randomBytes(4).toString('hex')}`;
  const db = await openEmbedded({ dataDir: building });
  try {
    await migrate(db);
  } finally {
    await db.close();
  }
  await mkdir(join(building, 'ready'));
  // rename is atomic: readers see no template or a whole one. Another test
  // process may have renamed its copy first; either copy is good.
  await rename(building, dir).catch(async () => rm(building, { recursive: true, force: true }));
  return dir;
}

export function embeddedEngine(): Engine {
  return {
    name: 'embedded',
    async create() {
      const template = await embeddedTemplate();
      const dataDir = await mkdtemp(join(tmpdir(), 'tegu-test-'));
      await cp(template, dataDir, { recursive: true });
      const db = await openEmbedded({ dataDir });
      return {
        db,
        dataDir,
        async drop() {
          await db.close();
          await rm(dataDir, { recursive: true, force: true });
        },
      };
    },
  };
}

/** The engines this run tests on. */
export function engines(): Engine[] {
  const url = process.env.TEGU_TEST_DATABASE_URL;
  return url ? [embeddedEngine(), postgresEngine(url)] : [embeddedEngine()];
}

export function testContext(db: Database): CoreContext {
  return { db, actor: 'test', node: 'test-node' };
}
