/**
 * The embedded engine: PGlite in a worker thread (store/embedded-worker.ts),
 * behind the same Database interface as real PostgreSQL. Single node only:
 * the data directory is locked against a second process. While a node runs,
 * other tegu processes (admin commands) reach its database through the
 * node's control socket instead (store/embedded-share.ts, embedded-remote.ts).
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Database } from './db.ts';
import { lockDataDir, type DataDirLock } from './datadir-lock.ts';
import type { WorkerInit, WorkerReply } from './embedded-protocol.ts';
import { spawnEmbeddedWorker } from './embedded-runtime.ts';
import { SqlError } from './sql-error.ts';
import { createRpcClient } from './rpc-client.ts';

export interface EmbeddedOptions {
  dataDir: string;
}

export async function openEmbedded(opts: EmbeddedOptions): Promise<Database> {
  const dataDir = resolve(opts.dataDir);
  const lock: DataDirLock = await lockDataDir(dataDir);
  try {
    await mkdir(dataDir, { recursive: true });
    return await startWorker({ pgdata: join(dataDir, 'pgdata') }, lock);
  } catch (err) {
    await lock.release();
    throw err;
  }
}

async function startWorker(init: WorkerInit, lock: DataDirLock): Promise<Database> {
  const worker = spawnEmbeddedWorker(init);
  let stopping = false;
  const client = createRpcClient(
    {
      send: (req) => worker.postMessage(req),
      shutdown: async () => {
        stopping = true;
        await worker.terminate();
      },
    },
    () => lock.release(),
  );
  await new Promise<void>((ready, failed) => {
    worker.on('message', (msg: WorkerReply) => {
      if (msg.type === 'ready') ready();
      else if (msg.type === 'fatal') failed(new SqlError(msg.error.message, msg.error));
      else client.deliver(msg);
    });
    worker.on('error', (err) => {
      failed(err);
      client.fail(err);
    });
    worker.on('exit', (code) => {
      const err = new Error(`embedded database worker exited (code ${code})`);
      failed(err);
      if (!stopping) client.fail(err);
    });
  });
  return client.db;
}
