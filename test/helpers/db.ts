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
import type { CoreContext } from '../../src/core/context.ts';
import { createDatabase, databaseExists, databaseUrl, dropDatabase, markTemplate, withAdminLock } from '../../src/store/admin.ts';
import type { Database } from '../../src/store/db.ts';
import { openEmbedded } from '../../src/store/embedded.ts';
import { connectEmbedded } from '../../src/store/embedded-remote.ts';
import { shareEmbedded } from '../../src/store/embedded-share.ts';
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
  name: 'embedded' | 'postgres' | 'embedded-remote';
  create(): Promise<TestDb>;
}

// ---- real PostgreSQL

async function postgresTemplate(adminUrl: string): Promise<string> {
  const name = `tegu_tpl_${schemaHash}`;
  await withAdminLock(adminUrl, 7463, async () => {
    if (await databaseExists(adminUrl, name)) return;
    await createDatabase(adminUrl, name);
    const db = openPostgres({ url: databaseUrl(adminUrl, name), max: 1 });
    try {
      await migrate(db);
    } finally {
      await db.close();
    }
    await markTemplate(adminUrl, name);
  });
  return name;
}

export function postgresEngine(adminUrl: string): Engine {
  return {
    name: 'postgres',
    async create() {
      const template = await postgresTemplate(adminUrl);
      const name = `tegu_test_${randomBytes(6).toString('hex')}`;
      await createDatabase(adminUrl, name, { template });
      const url = databaseUrl(adminUrl, name);
      // As `tegu serve` opens it: single statements over the scheduled connections (store/pg-scheduler.ts).
      const db = openPostgres({ url, max: 6, statementConnections: 4 });
      return {
        db,
        url,
        async drop() {
          await db.close();
          await dropDatabase(adminUrl, name);
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

/**
 * The embedded engine reached through a running node's control socket (what
 * admin commands use while `tegu serve` runs): the same suites must pass
 * through it, so values and errors survive the trip.
 */
export function embeddedRemoteEngine(): Engine {
  return {
    name: 'embedded-remote',
    async create() {
      const local = await embeddedEngine().create();
      const socket = join(local.dataDir!, 'tegu.sock');
      const shared = await shareEmbedded(local.db, socket);
      const db = await connectEmbedded(socket);
      return {
        db,
        dataDir: local.dataDir!,
        async drop() {
          await db.close();
          await shared.close();
          await local.drop();
        },
      };
    },
  };
}

/** The engines this run tests on; `remote` adds the control-socket path to the embedded engine. */
export function engines(opts: { remote?: boolean } = {}): Engine[] {
  const url = process.env.TEGU_TEST_DATABASE_URL;
  return [embeddedEngine(), ...(opts.remote ? [embeddedRemoteEngine()] : []), ...(url ? [postgresEngine(url)] : [])];
}

export function testContext(db: Database): CoreContext {
  return { db, actor: 'test', node: 'test-node' };
}
