/**
 * The embedded PostgreSQL (PGlite, WebAssembly) runs here, in a worker thread:
 * PGlite executes queries synchronously on its thread, so on the main thread a
 * slow query would freeze every socket (measured: a 465 ms query froze the loop
 * 465 ms). The main thread talks to it with WorkerRequest messages.
 *
 * One PGlite instance serialises everything; a transaction holds its lock until
 * the main thread sends commit or rollback. Statements outside a transaction
 * simply queue behind it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite, types, type PGliteOptions, type Transaction } from '@electric-sql/pglite';
import type { WireError, WorkerInit, WorkerReply, WorkerRequest } from './embedded-protocol.ts';

const port = parentPort;
if (!port) throw new Error('embedded-worker must run in a worker thread');
const init = workerData as WorkerInit;

function post(msg: WorkerReply): void {
  port!.postMessage(msg);
}

function wireError(err: unknown): WireError {
  if (err instanceof Error) {
    const e = err as Error & { code?: unknown; detail?: unknown; constraint?: unknown };
    return {
      message: e.message,
      ...(typeof e.code === 'string' ? { code: e.code } : {}),
      ...(typeof e.detail === 'string' ? { detail: e.detail } : {}),
      ...(typeof e.constraint === 'string' ? { constraint: e.constraint } : {}),
    };
  }
  return { message: String(err) };
}

/** Thrown inside a transaction callback to make PGlite roll it back. */
class RollbackSignal extends Error {}

interface OpenTx {
  tx: Transaction;
  finish: (commit: boolean) => void;
  done: Promise<void>;
}

const ident = (x: string): string => x;

async function openPGlite(): Promise<PGlite> {
  const assets = init.assets;
  return PGlite.create({
    dataDir: init.pgdata,
    ...(assets
      ? {
          pgliteWasmModule: assets.pgliteWasm as PGliteOptions['pgliteWasmModule'],
          initdbWasmModule: assets.initdbWasm as PGliteOptions['initdbWasmModule'],
          fsBundle: new Blob([assets.fsBundle]),
        }
      : {}),
    // Same value types as the `postgres` driver (see store/db.ts).
    parsers: {
      [types.INT8]: ident,
      [types.NUMERIC]: ident,
      [types.BYTEA]: (x: string) => Buffer.from(x.slice(2), 'hex'),
    },
    serializers: {
      [types.BYTEA]: (x: unknown) => '\\x' + (Buffer.isBuffer(x) ? x : Buffer.from(x as Uint8Array)).toString('hex'),
    },
  });
}

const txs = new Map<number, OpenTx>();
const unlisteners = new Map<string, () => Promise<void>>();

let db!: PGlite;

function target(tx: number | undefined): Transaction | PGlite {
  if (tx === undefined) return db;
  const open = txs.get(tx);
  if (!open) throw new Error(`no open transaction ${tx}`);
  return open.tx;
}

async function begin(txId: number): Promise<void> {
  let started!: () => void;
  let failed!: (e: unknown) => void;
  const ready = new Promise<void>((resolve, reject) => {
    started = resolve;
    failed = reject;
  });
  const done = db
    .transaction(async (tx) => {
      const commit = await new Promise<boolean>((finish) => {
        txs.set(txId, { tx, finish, done });
        started();
      });
      if (!commit) throw new RollbackSignal();
    })
    .then(
      () => undefined,
      (err: unknown) => {
        if (err instanceof RollbackSignal) return;
        throw err;
      },
    )
    .finally(() => txs.delete(txId));
  done.catch(failed); // BEGIN itself failed before the callback ran
  await ready;
}

async function finish(txId: number, commit: boolean): Promise<void> {
  const open = txs.get(txId);
  if (!open) throw new Error(`no open transaction ${txId}`);
  open.finish(commit);
  await open.done;
}

async function handle(req: WorkerRequest): Promise<Record<string, unknown>[] | undefined> {
  switch (req.op) {
    case 'query': {
      const res = await target(req.tx).query<Record<string, unknown>>(req.sql, req.params);
      return res.rows;
    }
    case 'exec':
      await target(req.tx).exec(req.sql);
      return undefined;
    case 'begin':
      await begin(req.tx);
      return undefined;
    case 'commit':
      await finish(req.tx, true);
      return undefined;
    case 'rollback':
      await finish(req.tx, false);
      return undefined;
    case 'listen': {
      if (!unlisteners.has(req.channel)) {
        const channel = req.channel;
        const un = await db.listen(channel, (payload) => post({ type: 'notify', channel, payload }));
        unlisteners.set(channel, un);
      }
      return undefined;
    }
    case 'unlisten': {
      const un = unlisteners.get(req.channel);
      unlisteners.delete(req.channel);
      if (un) await un();
      return undefined;
    }
    case 'close':
      await db.close();
      return undefined;
  }
}

// No top-level await: the bundled build is CommonJS.
openPGlite().then(
  (opened) => {
    db = opened;
    port.on('message', (req: WorkerRequest) => {
      handle(req).then(
        (rows) => post(rows ? { type: 'reply', id: req.id, ok: true, rows } : { type: 'reply', id: req.id, ok: true }),
        (err: unknown) => post({ type: 'reply', id: req.id, ok: false, error: wireError(err) }),
      );
    });
    post({ type: 'ready' });
  },
  (err: unknown) => post({ type: 'fatal', error: wireError(err) }),
);
