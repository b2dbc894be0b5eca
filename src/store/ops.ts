/** Settings, cluster nodes and the audit log. */
import type { Queryable } from './db.ts';

export interface SettingRow {
  key: string;
  value: unknown;
  version: number;
  updatedAt: Date;
  updatedBy: string;
}

export async function listSettings(q: Queryable): Promise<SettingRow[]> {
  const rows = await q.query('SELECT key, value, version, updated_at, updated_by FROM settings ORDER BY key');
  return rows.map((r) => ({
    key: r.key as string,
    value: r.value,
    version: Number(r.version),
    updatedAt: r.updated_at as Date,
    updatedBy: r.updated_by as string,
  }));
}

export async function upsertSetting(q: Queryable, key: string, value: unknown, by: string): Promise<number> {
  const rows = await q.query<{ version: string }>(
    `INSERT INTO settings(key, value, updated_by) VALUES ($1, $2::text::jsonb, $3)
     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, version = settings.version + 1,
                                     updated_at = now(), updated_by = EXCLUDED.updated_by
     RETURNING version`,
    [key, JSON.stringify(value), by],
  );
  return Number(rows[0]!.version);
}

export async function deleteSetting(q: Queryable, key: string): Promise<boolean> {
  return (await q.query('DELETE FROM settings WHERE key = $1 RETURNING key', [key])).length > 0;
}

export interface NodeRow {
  name: string;
  hostname: string;
  pid: number;
  version: string;
  startedAt: Date;
  heartbeatAt: Date;
  listeners: { proto: string; address: string }[];
  /** Seconds since the last heartbeat, by the database clock. */
  ageSeconds: number;
}

export async function upsertNode(
  q: Queryable,
  n: { name: string; hostname: string; pid: number; version: string; startedAt: Date; listeners: unknown },
): Promise<void> {
  await q.query(
    `INSERT INTO nodes(name, hostname, pid, version, started_at, listeners) VALUES ($1, $2, $3, $4, $5, $6::text::jsonb)
     ON CONFLICT (name) DO UPDATE SET hostname = EXCLUDED.hostname, pid = EXCLUDED.pid, version = EXCLUDED.version,
        started_at = EXCLUDED.started_at, listeners = EXCLUDED.listeners, heartbeat_at = now()`,
    [n.name, n.hostname, n.pid, n.version, n.startedAt, JSON.stringify(n.listeners)],
  );
}

export async function touchNode(q: Queryable, name: string): Promise<void> {
  await q.query('UPDATE nodes SET heartbeat_at = now() WHERE name = $1', [name]);
}

export async function deleteNode(q: Queryable, name: string): Promise<void> {
  await q.query('DELETE FROM nodes WHERE name = $1', [name]);
}

export async function listNodes(q: Queryable): Promise<NodeRow[]> {
  const rows = await q.query(
    `SELECT name, hostname, pid, version, started_at, heartbeat_at, listeners,
            extract(epoch FROM now() - heartbeat_at)::float8 AS age
       FROM nodes ORDER BY name`,
  );
  return rows.map((r) => ({
    name: r.name as string,
    hostname: r.hostname as string,
    pid: r.pid as number,
    version: r.version as string,
    startedAt: r.started_at as Date,
    heartbeatAt: r.heartbeat_at as Date,
    listeners: r.listeners as NodeRow['listeners'],
    ageSeconds: Number(r.age),
  }));
}

export interface AuditEvent {
  actor: string;
  action: string;
  target?: string;
  ip?: string | null;
  node?: string;
  details?: Record<string, unknown>;
}

export async function insertAudit(q: Queryable, e: AuditEvent): Promise<void> {
  await q.query('INSERT INTO audit_log(actor, action, target, ip, node, details) VALUES ($1, $2, $3, $4::inet, $5, $6::text::jsonb)', [
    e.actor, e.action, e.target ?? '', e.ip ?? null, e.node ?? '', JSON.stringify(e.details ?? {}),
  ]);
}

export async function recentAudit(q: Queryable, limit: number): Promise<(AuditEvent & { at: Date })[]> {
  const rows = await q.query(
    'SELECT at, actor, action, target, host(ip) AS ip, node, details FROM audit_log ORDER BY id DESC LIMIT $1',
    [limit],
  );
  return rows.map((r) => ({
    at: r.at as Date,
    actor: r.actor as string,
    action: r.action as string,
    target: r.target as string,
    ip: (r.ip as string | null) ?? null,
    node: r.node as string,
    details: r.details as Record<string, unknown>,
  }));
}

/** Readiness probe: the database answers. */
export async function ping(q: Queryable): Promise<void> {
  await q.query('SELECT 1');
}

export interface Counts {
  domains: number;
  accounts: number;
  aliases: number;
  groups: number;
  messages: number;
}

export async function countObjects(q: Queryable): Promise<Counts> {
  const rows = await q.query<Record<keyof Counts, string>>(
    `SELECT (SELECT count(*) FROM domains) AS domains, (SELECT count(*) FROM accounts) AS accounts,
            (SELECT count(*) FROM aliases) AS aliases, (SELECT count(*) FROM groups) AS groups,
            (SELECT count(*) FROM messages) AS messages`,
  );
  const r = rows[0]!;
  return { domains: Number(r.domains), accounts: Number(r.accounts), aliases: Number(r.aliases), groups: Number(r.groups), messages: Number(r.messages) };
}

/** NOTIFY; inside a transaction PostgreSQL delivers it at COMMIT (and drops it on ROLLBACK). */
export async function notify(q: Queryable, channel: string, payload: string): Promise<void> {
  await q.query('SELECT pg_notify($1, $2)', [channel, payload]);
}

/** Several NOTIFYs on one channel in one round trip. */
export async function notifyAll(q: Queryable, channel: string, payloads: readonly string[]): Promise<void> {
  if (payloads.length === 0) return;
  await q.query('SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p', [channel, [...payloads]]);
}
