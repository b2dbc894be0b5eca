/**
 * The embedded engine: PGlite in a worker thread (store/embedded-worker.ts),
 * behind the same Database interface as real PostgreSQL. Single node only:
 * the data directory is locked against a second process.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Database, Queryable, Row, Tx } from './db.ts';
import { lockDataDir, type DataDirLock } from './datadir-lock.ts';
import type { WireError, WorkerInit, WorkerReply, WorkerRequest } from './embedded-protocol.ts';
import { spawnEmbeddedWorker } from './embedded-runtime.ts';
import { SqlError } from './sql-error.ts';

type Pending = { resolve: (rows: Row[] | undefined) => void; reject: (e: Error) => void };
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
type Request = DistributiveOmit<WorkerRequest, 'id'>;

function toError(e: WireError): SqlError {
  return new SqlError(e.message, e);
}

/** Rows crossing postMessage lose Buffer's prototype: make bytea values Buffers again. */
function reviveRows(rows: Row[]): Row[] {
  for (const row of rows) {
    for (const key of Object.keys(row)) {
      const v = row[key];
      if (v instanceof Uint8Array && !Buffer.isBuffer(v)) row[key] = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    }
  }
  return rows;
}

export interface EmbeddedOptions {
  dataDir: string;
}

export async function openEmbedded(opts: EmbeddedOptions): Promise<Database> {
  const dataDir = resolve(opts.dataDir);
  const lock: DataDirLock = await lockDataDir(dataDir);
  try {
    await mkdir(dataDir, { recursive: true });
    const init: WorkerInit = { pgdata: join(dataDir, 'pgdata') };
    return await startWorker(init, lock);
  } catch (err) {
    await lock.release();
    throw err;
  }
}

async function startWorker(init: WorkerInit, lock: DataDirLock): Promise<Database> {
  const worker = spawnEmbeddedWorker(init);
  const pending = new Map<number, Pending>();
  const listeners = new Map<string, Set<(payload: string) => void>>();
  let nextId = 1;
  let nextTx = 1;
  let closed = false;
  let fatal: Error | undefined;

  const failAll = (err: Error): void => {
    fatal = err;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };

  await new Promise<void>((resolveReady, rejectReady) => {
    worker.on('message', (msg: WorkerReply) => {
      switch (msg.type) {
        case 'ready':
          resolveReady();
          return;
        case 'fatal':
          rejectReady(toError(msg.error));
          return;
        case 'notify':
          for (const fn of listeners.get(msg.channel) ?? []) fn(msg.payload);
          return;
        case 'reply': {
          const p = pending.get(msg.id);
          if (!p) return;
          pending.delete(msg.id);
          if (msg.ok) p.resolve(msg.rows ? reviveRows(msg.rows) : undefined);
          else p.reject(toError(msg.error));
          return;
        }
      }
    });
    worker.on('error', (err) => {
      rejectReady(err);
      failAll(err);
    });
    worker.on('exit', (code) => {
      const err = new Error(`embedded database worker exited (code ${code})`);
      rejectReady(err);
      if (!closed) failAll(err);
    });
  });

  const call = (req: Request): Promise<Row[] | undefined> => {
    if (fatal) return Promise.reject(fatal);
    if (closed) return Promise.reject(new Error('database is closed'));
    const id = nextId++;
    return new Promise((res, rej) => {
      pending.set(id, { resolve: res, reject: rej });
      worker.postMessage({ ...req, id } as WorkerRequest);
    });
  };

  const on = (tx: number | undefined): Queryable => ({
    async query<R extends Row = Row>(sql: string, params: readonly unknown[] = []): Promise<R[]> {
      const base = { op: 'query' as const, sql, params: [...params] };
      return ((await call(tx === undefined ? base : { ...base, tx })) ?? []) as R[];
    },
    async exec(sql: string): Promise<void> {
      await call(tx === undefined ? { op: 'exec', sql } : { op: 'exec', sql, tx });
    },
  });

  const base = on(undefined);
  return {
    kind: 'embedded',
    query: base.query,
    exec: base.exec,
    async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
      const tx = nextTx++;
      await call({ op: 'begin', tx });
      let result: T;
      try {
        result = await fn(on(tx));
      } catch (err) {
        await call({ op: 'rollback', tx }).catch(() => undefined);
        throw err;
      }
      await call({ op: 'commit', tx });
      return result;
    },
    async listen(channel, onNotify) {
      let set = listeners.get(channel);
      if (!set) {
        set = new Set();
        listeners.set(channel, set);
        await call({ op: 'listen', channel });
      }
      set.add(onNotify);
      return async () => {
        const s = listeners.get(channel);
        if (!s) return;
        s.delete(onNotify);
        if (s.size === 0) {
          listeners.delete(channel);
          await call({ op: 'unlisten', channel });
        }
      };
    },
    async notify(channel, payload) {
      await call({ op: 'query', sql: 'SELECT pg_notify($1, $2)', params: [channel, payload] });
    },
    async close() {
      if (closed) return;
      await call({ op: 'close' }).catch(() => undefined);
      closed = true;
      await worker.terminate();
      await lock.release();
    },
  };
}
