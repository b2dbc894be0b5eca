/**
 * tegu status: the database engine, schema version, object counts and the
 * cluster nodes with their heartbeat. Reports an outdated schema instead of
 * refusing, so it is the command to run when something is wrong.
 */
import { clusterNodes, STALE_AFTER_SECONDS } from '../../core/nodes.ts';
import { redactUrl } from '../../lib/log.ts';
import { LATEST_SCHEMA_VERSION, schemaVersion } from '../../store/migrate.ts';
import { countObjects } from '../../store/ops.ts';
import { describeEngine, withDatabase } from '../database.ts';
import { emit, isoDate, table } from '../output.ts';
import type { Command } from '../types.ts';
import { VERSION } from '../version.ts';

function schemaLine(version: number): string {
  if (version === LATEST_SCHEMA_VERSION) return `version ${version} (up to date)`;
  if (version > LATEST_SCHEMA_VERSION) return `version ${version}, newer than this tegu knows (${LATEST_SCHEMA_VERSION}): run a newer tegu`;
  return `version ${version}, this tegu needs ${LATEST_SCHEMA_VERSION}: run \`tegu migrate\``;
}

export const statusCommand: Command = {
  name: 'status',
  summary: 'show the database, schema version, counts and cluster nodes',
  args: [],
  run: (inv) =>
    withDatabase(inv, async (db) => {
      const version = await schemaVersion(db);
      const current = version === LATEST_SCHEMA_VERSION;
      // Counts and nodes only when the tables are the ones this binary knows.
      const counts = current ? await countObjects(db) : null;
      const nodes = current ? await clusterNodes(db) : [];
      const c = inv.config;
      const json = {
        tegu: VERSION,
        engine: db.kind,
        ...(c.databaseUrl ? { database: redactUrl(c.databaseUrl) } : { dataDir: c.dataDir }),
        schema: { version, latest: LATEST_SCHEMA_VERSION, upToDate: current },
        counts,
        nodes: nodes.map((n) => ({
          name: n.name,
          hostname: n.hostname,
          pid: n.pid,
          version: n.version,
          startedAt: n.startedAt,
          heartbeatAt: n.heartbeatAt,
          ageSeconds: Math.round(n.ageSeconds),
          alive: n.alive,
          listeners: n.listeners,
        })),
      };
      const human = [`tegu:     ${VERSION}`, `database: ${describeEngine(c)}`, `schema:   ${schemaLine(version)}`];
      if (counts) {
        human.push(
          `objects:  ${counts.domains} domains, ${counts.accounts} users, ${counts.aliases} aliases, ${counts.groups} groups, ${counts.messages} messages`,
        );
      }
      if (current && nodes.length === 0) human.push('nodes:    none running');
      if (nodes.length > 0) {
        human.push(`nodes (stale after ${STALE_AFTER_SECONDS}s without heartbeat):`);
        const rows = nodes.map((n) => [
          n.name,
          n.alive ? 'alive' : 'stale',
          `${n.hostname}:${n.pid}`,
          n.version,
          isoDate(n.startedAt),
          `${Math.round(n.ageSeconds)}s ago`,
          n.listeners.map((l) => `${l.proto} ${l.address}`).join(', '),
        ]);
        human.push(...table(['NAME', 'STATE', 'PROCESS', 'VERSION', 'STARTED', 'HEARTBEAT', 'LISTENERS'], rows).map((l) => `  ${l}`));
      }
      emit(inv, json, human);
    }),
};
