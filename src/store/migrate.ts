/**
 * Forward-only migrations. Each runs in its own transaction under a
 * transaction-scoped advisory lock, so several nodes starting at once apply
 * each migration exactly once. A database whose schema is newer than this
 * binary is refused: an older node must not write into a newer layout.
 */
import { SchemaTooNewError } from '../lib/errors.ts';
import type { Database, Tx } from './db.ts';
import { LATEST_SCHEMA_VERSION, MIGRATIONS, type Migration } from './migrations/index.ts';

/** Advisory lock key: "tegu" in ASCII, so it is recognisable in pg_locks. */
const MIGRATION_LOCK = 0x74656775;

const CREATE_TABLE = `
CREATE TABLE IF NOT EXISTS schema_migrations (
  version     integer PRIMARY KEY,
  name        text NOT NULL,
  applied_at  timestamptz NOT NULL DEFAULT now()
)`;

async function currentVersion(tx: Tx): Promise<number> {
  const rows = await tx.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations');
  return rows[0]?.v ?? 0;
}

export interface MigrationResult {
  from: number;
  to: number;
  applied: Migration[];
}

export async function migrate(db: Database, known: readonly Migration[] = MIGRATIONS): Promise<MigrationResult> {
  const latest = known.length === 0 ? 0 : Math.max(...known.map((m) => m.version));
  let from: number | undefined;
  const applied: Migration[] = [];
  for (;;) {
    const step = await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await tx.exec(CREATE_TABLE);
      await tx.exec(`COMMENT ON TABLE schema_migrations IS 'Applied schema migrations (src/store/migrations).'`);
      const version = await currentVersion(tx);
      from ??= version;
      if (version > latest) {
        throw new SchemaTooNewError(
          `database schema version ${version} is newer than this tegu knows (${latest}); run a newer tegu`,
        );
      }
      const next = known.find((m) => m.version === version + 1);
      if (!next) return undefined;
      await tx.exec(next.sql);
      await tx.query('INSERT INTO schema_migrations(version, name) VALUES ($1, $2)', [next.version, next.name]);
      return next;
    });
    if (!step) break;
    applied.push(step);
  }
  return { from: from ?? 0, to: (from ?? 0) + applied.length, applied };
}

/** The schema version of the database, without changing anything (0 = empty). */
export async function schemaVersion(db: Database): Promise<number> {
  const rows = await db.query<{ t: string | null }>(`SELECT to_regclass('schema_migrations')::text AS t`);
  if (!rows[0]?.t) return 0;
  const v = await db.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations');
  return v[0]?.v ?? 0;
}

export { LATEST_SCHEMA_VERSION };
