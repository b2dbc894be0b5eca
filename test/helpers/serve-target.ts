/**
 * A database for `tegu serve` child processes, prepared in-process: users and
 * settings go in through the core (what `tegu user add` / `tegu settings set`
 * do) before any server starts, which saves a CLI process per user on a
 * loaded machine. The result is a cli.ts Target: `args` for `tegu serve`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addAccount } from '../../src/core/accounts.ts';
import { setSetting } from '../../src/core/settings.ts';
import type { Target } from './cli.ts';
import { embeddedEngine, postgresEngine, testContext } from './db.ts';

export interface Preparation {
  users?: { address: string; password: string }[];
  settings?: Record<string, unknown>;
}

async function prepare(t: { db: Parameters<typeof testContext>[0] }, p: Preparation): Promise<void> {
  const ctx = testContext(t.db);
  for (const [key, value] of Object.entries(p.settings ?? {})) await setSetting(ctx, key, value);
  for (const u of p.users ?? []) await addAccount(ctx, { address: u.address, password: u.password, createDomain: true });
}

/** A copy of the migrated embedded template with `p` applied; the directory is released for one `tegu serve`. */
export async function preparedEmbedded(p: Preparation): Promise<Target> {
  const t = await embeddedEngine().create();
  try {
    await prepare(t, p);
  } finally {
    await t.db.close(); // release the data-directory lock for the server
  }
  const dir = t.dataDir!;
  return { engine: 'embedded', args: ['--data', dir], dataDir: dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A fresh PostgreSQL database (cloned from the migrated template) with `p` applied. */
export async function preparedPostgres(adminUrl: string, p: Preparation): Promise<Target & { url: string }> {
  const t = await postgresEngine(adminUrl).create();
  const dataDir = await mkdtemp(join(tmpdir(), 'tegu-serve-pg-'));
  try {
    await prepare(t, p);
  } catch (err) {
    await t.drop();
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  const url = t.url!;
  return {
    engine: 'postgres',
    url,
    args: ['--database', url, '--data', dataDir],
    dataDir,
    testDb: t,
    async cleanup() {
      await t.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** The engines this run covers, prepared: embedded always, PostgreSQL when TEGU_TEST_DATABASE_URL is set. */
export function preparedTargets(): { engine: Target['engine']; make(p: Preparation): Promise<Target> }[] {
  const url = process.env.TEGU_TEST_DATABASE_URL;
  const list: ReturnType<typeof preparedTargets> = [{ engine: 'embedded', make: (p) => preparedEmbedded(p) }];
  if (url) list.push({ engine: 'postgres', make: (p) => preparedPostgres(url, p) });
  return list;
}
