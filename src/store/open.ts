/** Opens the configured engine: real PostgreSQL when a URL is given, else embedded PGlite. */
import type { Database } from './db.ts';
import { openEmbedded } from './embedded.ts';
import { openPostgres } from './postgres.ts';

export interface OpenDatabaseOptions {
  databaseUrl?: string | undefined;
  dataDir: string;
  applicationName?: string;
  poolSize?: number;
}

export async function openDatabase(opts: OpenDatabaseOptions): Promise<Database> {
  if (opts.databaseUrl) {
    const db = openPostgres({
      url: opts.databaseUrl,
      ...(opts.applicationName ? { applicationName: opts.applicationName } : {}),
      ...(opts.poolSize ? { max: opts.poolSize } : {}),
    });
    try {
      await db.query('SELECT 1');
    } catch (err) {
      await db.close().catch(() => undefined);
      throw err;
    }
    return db;
  }
  return openEmbedded({ dataDir: opts.dataDir });
}
