/** What `tegu serve` prints on stdout once it is up (logs go to stderr). */
import { resolve } from 'node:path';
import type { BootstrapConfig } from '../../config/bootstrap.ts';
import type { TlsMaterial } from '../../config/tls.ts';
import { redactUrl } from '../../lib/log.ts';
import type { MigrationResult } from '../../store/migrate.ts';
import { shellWord } from '../output.ts';
import { VERSION } from '../version.ts';

export interface StartedListener {
  proto: string;
  /** host:port as bound (the real port). */
  address: string;
  /** Shown in parentheses after the address. */
  note?: string;
}

export interface BannerInfo {
  config: BootstrapConfig;
  cwd: string;
  migration: MigrationResult;
  tls: TlsMaterial;
  listeners: readonly StartedListener[];
}

/** `127.0.0.1:25`, `[::1]:25`. */
export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function addUserHint(config: BootstrapConfig, cwd: string): string[] {
  if (config.databaseUrl) return ['add a user: tegu user add you@example.com  (with the same --database or TEGU_DATABASE_URL)'];
  const data = config.dataDir === resolve(cwd, 'tegu-data') ? '' : ` --data ${shellWord(config.dataDir)}`;
  // Admin commands reach this node's embedded database through its control socket.
  return [`add a user (from another terminal): tegu user add you@example.com${data}`];
}

export function bannerLines(b: BannerInfo): string[] {
  const { config, migration: m } = b;
  const lines = [`tegu ${VERSION} running as node ${config.nodeName} (pid ${process.pid})`];
  if (config.databaseUrl) {
    lines.push(`database: PostgreSQL ${redactUrl(config.databaseUrl)}`);
  } else {
    lines.push(
      `database: embedded (PGlite) in ${config.dataDir}`,
      '  The embedded database is meant for evaluation and small single-node installs.',
      '  PGlite does not fsync: an OS crash or power loss can lose the latest changes.',
      '  For production use PostgreSQL: --database postgres://user:password@host/db (or TEGU_DATABASE_URL).',
    );
  }
  lines.push(
    m.applied.length > 0 ? `schema: version ${m.to} (migrated from ${m.from})` : `schema: version ${m.to}`,
    b.tls.generated
      ? `tls: generated a self-signed certificate ${b.tls.certPath} (use --tls-cert and --tls-key for a real one)`
      : `tls: certificate ${b.tls.certPath}`,
  );
  for (const l of b.listeners) lines.push(`listening: ${l.proto} ${l.address}${l.note ? ` (${l.note})` : ''}`);
  if (b.listeners.length === 0) lines.push('listening: nothing (every listen address is empty)');
  lines.push(...addUserHint(config, b.cwd));
  return lines;
}

/** The --json form: one line, so a supervisor can read it as soon as it is written. */
export function bannerJson(b: BannerInfo): Record<string, unknown> {
  const { config } = b;
  return {
    event: 'ready',
    tegu: VERSION,
    node: config.nodeName,
    pid: process.pid,
    engine: config.databaseUrl ? 'postgres' : 'embedded',
    ...(config.databaseUrl ? { database: redactUrl(config.databaseUrl) } : { dataDir: config.dataDir }),
    schema: { from: b.migration.from, to: b.migration.to },
    tls: { certPath: b.tls.certPath, generated: b.tls.generated },
    listeners: b.listeners.map((l) => ({ proto: l.proto, address: l.address })),
  };
}
