/**
 * A Database that forwards every call as a WorkerRequest message and waits for
 * the WorkerReply: used over the embedded engine's worker thread
 * (store/embedded.ts) and over a running node's control socket
 * (store/embedded-remote.ts). The transport only moves messages.
 */
import { batchInTransaction, type Database, type Queryable, type Row, type Tx } from './db.ts';
import type { WireError, WorkerReply, WorkerRequest } from './embedded-protocol.ts';
import { SqlError } from './sql-error.ts';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
type Request = DistributiveOmit<WorkerRequest, 'id'>;
type Pending = { resolve: (rows: Row[] | undefined) => void; reject: (e: Error) => void };

export interface RpcTransport {
  send(req: WorkerRequest): void;
  /** Ends the transport after the last reply (terminate the worker, close the socket). */
  shutdown(): Promise<void>;
}

export interface RpcClient {
  db: Database;
  /** Feed every message that arrives from the other side. */
  deliver(msg: WorkerReply): void;
  /** The other side is gone: fail everything pending and refuse new calls. */
  fail(err: Error): void;
}

/** Messages that crossed postMessage lose Buffer's prototype: make bytea values Buffers again. */
function reviveRows(rows: Row[]): Row[] {
  for (const row of rows) {
    for (const key of Object.keys(row)) {
      const v = row[key];
      if (v instanceof Uint8Array && !Buffer.isBuffer(v)) row[key] = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    }
  }
  return rows;
}

const toError = (e: WireError): SqlError => new SqlError(e.message, e);

export function createRpcClient(transport: RpcTransport, onClose: () => Promise<void> = async () => undefined): RpcClient {
  const pending = new Map<number, Pending>();
  const listeners = new Map<string, Set<(payload: string) => void>>();
  let nextId = 1;
  let nextTx = 1;
  let closed = false;
  let fatal: Error | undefined;

  const call = (req: Request): Promise<Row[] | undefined> => {
    if (fatal) return Promise.reject(fatal);
    if (closed) return Promise.reject(new Error('database is closed'));
    const id = nextId++;
    return new Promise((res, rej) => {
      pending.set(id, { resolve: res, reject: rej });
      transport.send({ ...req, id } as WorkerRequest);
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
  const db: Database = {
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
    batch(statements) {
      return batchInTransaction(db, statements);
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
      await transport.shutdown();
      await onClose();
    },
  };

  return {
    db,
    deliver(msg) {
      if (msg.type === 'notify') {
        for (const fn of listeners.get(msg.channel) ?? []) fn(msg.payload);
        return;
      }
      if (msg.type !== 'reply') return;
      const p = pending.get(msg.id);
      if (!p) return;
      pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.rows ? reviveRows(msg.rows) : undefined);
      else p.reject(toError(msg.error));
    },
    fail(err) {
      if (closed) return;
      fatal ??= err;
      for (const p of pending.values()) p.reject(err);
      pending.clear();
    },
  };
}
