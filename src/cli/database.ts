/**
 * Opening the configured database for a command, and the schema gate: admin
 * commands never migrate behind the operator's back (several nodes may share
 * the database, and a migration may take a while), they refuse an old schema
 * and point at `tegu migrate`. The one exception is a brand-new embedded
 * database, so `tegu user add` on a fresh data directory just works.
 */
import { userInfo } from 'node:os';
import type { BootstrapConfig } from '../config/bootstrap.ts';
import type { CoreContext } from '../core/context.ts';
import { SchemaTooNewError, TeguError } from '../lib/errors.ts';
import { redactUrl } from '../lib/log.ts';
import type { Database } from '../store/db.ts';
import { LATEST_SCHEMA_VERSION, migrate, schemaVersion } from '../store/migrate.ts';
import { openDatabase } from '../store/open.ts';
import type { Invocation } from './types.ts';

/** The audit actor for everything done through the CLI: `cli:<os user>`. */
export function cliActor(env: NodeJS.ProcessEnv = process.env): string {
  let name: string | undefined;
  try {
    name = userInfo().username;
  } catch {
    // No passwd entry (containers running as an arbitrary uid).
    name = env.USER ?? env.LOGNAME ?? (typeof process.getuid === 'function' ? `uid${process.getuid()}` : undefined);
  }
  return `cli:${name || 'unknown'}`;
}

function describeError(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return describeError(err.errors[0]);
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return err.message || code || err.name;
  }
  return String(err);
}

/** Where the data lives, for messages: the redacted URL or the data directory. */
export function describeEngine(config: BootstrapConfig): string {
  return config.databaseUrl ? `PostgreSQL ${redactUrl(config.databaseUrl)}` : `embedded PGlite in ${config.dataDir}`;
}

export interface OpenOptions {
  applicationName?: string;
  poolSize?: number;
  /** PostgreSQL: connections for single statements (store/postgres.ts); none: they share the pool. */
  statementConnections?: number;
  /** Admin commands go through a running node's control socket when it holds the embedded data directory. */
  viaRunningNode?: boolean;
}

export async function openConfigured(config: BootstrapConfig, opts: OpenOptions = {}): Promise<Database> {
  try {
    return await openDatabase({
      databaseUrl: config.databaseUrl,
      dataDir: config.dataDir,
      applicationName: opts.applicationName ?? 'tegu-cli',
      poolSize: opts.poolSize ?? 2,
      ...(opts.statementConnections ? { statementConnections: opts.statementConnections } : {}),
      viaRunningNode: opts.viaRunningNode ?? false,
    });
  } catch (err) {
    if (err instanceof TeguError || !config.databaseUrl) throw err;
    throw new TeguError(`cannot connect to ${describeEngine(config)}: ${describeError(err)}`, { cause: err });
  }
}

/** Throws unless the schema is the one this binary knows (see the module comment). */
export async function requireCurrentSchema(db: Database): Promise<void> {
  const version = await schemaVersion(db);
  if (version === LATEST_SCHEMA_VERSION) return;
  if (version > LATEST_SCHEMA_VERSION) {
    throw new SchemaTooNewError(
      `database schema version ${version} is newer than this tegu knows (${LATEST_SCHEMA_VERSION}); run a newer tegu`,
    );
  }
  // An embedded data directory belongs to tegu alone: version 0 there means
  // nothing was ever written, so creating the schema surprises nobody.
  if (version === 0 && db.kind === 'embedded') {
    await migrate(db);
    return;
  }
  throw new TeguError(`database schema is at version ${version}, this tegu needs ${LATEST_SCHEMA_VERSION}: run \`tegu migrate\``);
}

/** Opens the database, checks the schema, runs `fn` with a core context, closes. */
export async function withCore<T>(inv: Invocation, fn: (ctx: CoreContext) => Promise<T>): Promise<T> {
  return withDatabase(inv, async (db) => {
    await requireCurrentSchema(db);
    return fn({ db, actor: cliActor(inv.io.env), node: inv.config.nodeName });
  });
}

/** Opens the database without any schema check (migrate, status). */
export async function withDatabase<T>(inv: Invocation, fn: (db: Database) => Promise<T>): Promise<T> {
  const db = await openConfigured(inv.config, { viaRunningNode: true });
  let result: T;
  try {
    result = await fn(db);
  } catch (err) {
    // The command's error is the one to report, not a failure to close after it.
    await db.close().catch(() => undefined);
    throw err;
  }
  await db.close();
  return result;
}
