/**
 * The serving half of the embedded engine's message protocol
 * (store/embedded-protocol.ts), shared by the worker thread (over PGlite) and a
 * node's control socket (over its Database). A `begin` opens a real transaction
 * that stays open, holding the engine, until `commit` or `rollback` arrives,
 * the transaction times out, or closeAll() is called (the peer went away).
 */
import type { Row } from './db.ts';
import type { WireError, WorkerReply, WorkerRequest } from './embedded-protocol.ts';

/** What the server drives: PGlite or a Database, seen through the same few calls. */
export interface RpcEngineTx {
  query(sql: string, params: unknown[]): Promise<Row[]>;
  exec(sql: string): Promise<void>;
}

export interface RpcEngine extends RpcEngineTx {
  transaction(fn: (tx: RpcEngineTx) => Promise<void>): Promise<void>;
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
}

export interface RpcServerOptions {
  /** Roll back a transaction left open this long, then call onTxTimeout. */
  txTimeoutMs?: number;
  onTxTimeout?: () => void;
  /** The `close` request: what ending means for this peer. */
  onClose: () => Promise<void>;
}

export interface RpcServer {
  /** Runs one request and sends its reply. */
  handle(req: WorkerRequest): void;
  /** Rolls back every open transaction and drops every LISTEN (the peer is gone). */
  closeAll(): void;
}

class Rollback extends Error {}

interface OpenTx {
  tx: RpcEngineTx;
  finish: (commit: boolean) => void;
  done: Promise<void>;
  timer: NodeJS.Timeout | undefined;
}

export function wireError(err: unknown): WireError {
  const e = (typeof err === 'object' && err !== null ? err : {}) as Record<string, unknown>;
  const str = (k: string): Record<string, string> => (typeof e[k] === 'string' ? { [k]: e[k] } : {});
  return {
    message: typeof e.message === 'string' ? e.message : String(err),
    ...str('code'),
    ...str('detail'),
    ...str('constraint'),
  };
}

export function createRpcServer(engine: RpcEngine, send: (msg: WorkerReply) => void, opts: RpcServerOptions): RpcServer {
  const txs = new Map<number, OpenTx>();
  const listens = new Map<string, () => Promise<void>>();

  const target = (tx: number | undefined): RpcEngineTx => {
    if (tx === undefined) return engine;
    const open = txs.get(tx);
    if (!open) throw new Error(`no open transaction ${tx}`);
    return open.tx;
  };

  const begin = (id: number): Promise<void> =>
    new Promise<void>((started, failed) => {
      const done = engine
        .transaction(async (tx) => {
          const commit = await new Promise<boolean>((finish) => {
            const timer =
              opts.txTimeoutMs === undefined
                ? undefined
                : setTimeout(() => {
                    finish(false);
                    opts.onTxTimeout?.();
                  }, opts.txTimeoutMs);
            txs.set(id, { tx, finish, done, timer });
            started();
          });
          if (!commit) throw new Rollback();
        })
        .then(
          () => undefined,
          (err: unknown) => {
            if (!(err instanceof Rollback)) throw err;
          },
        )
        .finally(() => {
          clearTimeout(txs.get(id)?.timer);
          txs.delete(id);
        });
      done.catch(failed); // BEGIN itself failed before the callback ran
    });

  const finish = async (id: number, commit: boolean): Promise<void> => {
    const open = txs.get(id);
    if (!open) throw new Error(`no open transaction ${id}`);
    open.finish(commit);
    await open.done;
  };

  const run = async (req: WorkerRequest): Promise<Row[] | undefined> => {
    switch (req.op) {
      case 'query':
        return target(req.tx).query(req.sql, req.params);
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
      case 'listen':
        if (!listens.has(req.channel)) {
          const channel = req.channel;
          listens.set(channel, await engine.listen(channel, (payload) => send({ type: 'notify', channel, payload })));
        }
        return undefined;
      case 'unlisten': {
        const un = listens.get(req.channel);
        listens.delete(req.channel);
        if (un) await un();
        return undefined;
      }
      case 'close':
        await opts.onClose();
        return undefined;
    }
  };

  return {
    handle(req) {
      run(req).then(
        (rows) => send(rows ? { type: 'reply', id: req.id, ok: true, rows } : { type: 'reply', id: req.id, ok: true }),
        (err: unknown) => send({ type: 'reply', id: req.id, ok: false, error: wireError(err) }),
      );
    },
    closeAll() {
      for (const t of txs.values()) t.finish(false);
      for (const un of listens.values()) void un().catch(() => undefined);
      listens.clear();
    },
  };
}
