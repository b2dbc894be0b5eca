/**
 * Cluster membership: each running node registers in the nodes table and
 * refreshes its heartbeat; `tegu status` and the admin GUI list them. A node
 * whose heartbeat is older than STALE_AFTER_SECONDS is presumed dead.
 */
import { hostname } from 'node:os';
import type { Database } from '../store/db.ts';
import { deleteNode, listNodes, touchNode, upsertNode, type NodeRow } from '../store/ops.ts';

export const HEARTBEAT_SECONDS = 15;
export const STALE_AFTER_SECONDS = 60;

export type ClusterNode = NodeRow & { alive: boolean };

export interface NodeRegistration {
  stop(): Promise<void>;
}

export async function registerNode(
  db: Database,
  info: { name: string; version: string; listeners: { proto: string; address: string }[] },
  onError: (err: unknown) => void,
): Promise<NodeRegistration> {
  await upsertNode(db, { ...info, hostname: hostname(), pid: process.pid, startedAt: new Date() });
  const timer = setInterval(() => {
    touchNode(db, info.name).catch(onError);
  }, HEARTBEAT_SECONDS * 1000);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await deleteNode(db, info.name);
    },
  };
}

export async function clusterNodes(db: Database): Promise<ClusterNode[]> {
  return (await listNodes(db)).map((n) => ({ ...n, alive: n.ageSeconds < STALE_AFTER_SECONDS }));
}
