/** Opens the configured engine: real PostgreSQL when a URL is given, else embedded PGlite. */
import { join, resolve } from 'node:path';
import { DataDirLockedError } from '../lib/errors.ts';
import type { Database } from './db.ts';
import { openEmbedded } from './embedded.ts';
import { connectEmbedded } from './embedded-remote.ts';
import { SOCKET_NAME } from './embedded-share.ts';
import { openPostgres } from './postgres.ts';

export interface OpenDatabaseOptions {
  databaseUrl?: string | undefined;
  dataDir: string;
  applicationName?: string;
  poolSize?: number;
  /** PostgreSQL: connections for single statements (store/postgres.ts), besides poolSize. */
  statementConnections?: number;
  /**
   * Embedded only: when a running node holds the data directory, use its
   * control socket instead of failing (admin commands; never `serve`).
   */
  viaRunningNode?: boolean;
}

/** The control socket of the node that runs on an embedded data directory. */
export function controlSocketPath(dataDir: string): string {
  return join(resolve(dataDir), SOCKET_NAME);
}

export async function openDatabase(opts: OpenDatabaseOptions): Promise<Database> {
  if (opts.databaseUrl) {
    const db = openPostgres({
      url: opts.databaseUrl,
      ...(opts.applicationName ? { applicationName: opts.applicationName } : {}),
      ...(opts.poolSize ? { max: opts.poolSize } : {}),
      ...(opts.statementConnections ? { statementConnections: opts.statementConnections } : {}),
    });
    try {
      await db.query('SELECT 1');
    } catch (err) {
      await db.close().catch(() => undefined);
      throw err;
    }
    return db;
  }
  try {
    return await openEmbedded({ dataDir: opts.dataDir });
  } catch (err) {
    if (!(err instanceof DataDirLockedError) || !opts.viaRunningNode) throw err;
    // A node runs on this directory: go through it. No socket answering: report the lock.
    return connectEmbedded(controlSocketPath(opts.dataDir)).catch(() => {
      throw err;
    });
  }
}
