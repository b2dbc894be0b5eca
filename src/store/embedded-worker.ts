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
import type { Row } from './db.ts';
import type { WorkerInit, WorkerReply, WorkerRequest } from './embedded-protocol.ts';
import { createRpcServer, wireError, type RpcEngine, type RpcEngineTx } from './rpc-server.ts';

const port = parentPort;
if (!port) throw new Error('embedded-worker must run in a worker thread');
const init = workerData as WorkerInit;

function post(msg: WorkerReply): void {
  port!.postMessage(msg);
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

/** PGlite (or one of its transactions) as the rpc server sees it. */
function view(q: PGlite | Transaction): RpcEngineTx {
  return {
    query: async (sql, params) => (await q.query<Row>(sql, params)).rows,
    exec: async (sql) => {
      await q.exec(sql);
    },
  };
}

// No top-level await: the bundled build is CommonJS.
openPGlite().then(
  (db) => {
    const engine: RpcEngine = {
      ...view(db),
      transaction: (fn) => db.transaction((tx) => fn(view(tx))),
      listen: (channel, onNotify) => db.listen(channel, onNotify),
    };
    const server = createRpcServer(engine, post, { onClose: () => db.close() });
    port.on('message', (req: WorkerRequest) => server.handle(req));
    post({ type: 'ready' });
  },
  (err: unknown) => post({ type: 'fatal', error: wireError(err) }),
);
