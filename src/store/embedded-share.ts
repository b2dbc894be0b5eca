/**
 * The control socket of a running embedded node: `<data>/tegu.sock`, mode 0600.
 * The data-directory lock admits one process, so while `tegu serve` runs, admin
 * commands (`tegu user add`, ...) reach its database through this socket
 * instead (store/embedded-remote.ts). It speaks the same requests as the
 * worker (store/embedded-protocol.ts), one JSON frame per line.
 *
 * Bounded: a remote transaction left open longer than REMOTE_TX_TIMEOUT_MS is
 * rolled back and its connection closed, since an open transaction holds the
 * whole embedded engine. A connection that goes away rolls back its work.
 */
import { chmod, unlink } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import type { Database, Tx } from './db.ts';
import type { WireError, WorkerReply, WorkerRequest } from './embedded-protocol.ts';
import { encodeFrame, readFrames } from './embedded-wire.ts';

export const SOCKET_NAME = 'tegu.sock';
export const REMOTE_TX_TIMEOUT_MS = 30_000;
const MAX_CONNECTIONS = 16;

export interface SharedEmbedded {
  close(): Promise<void>;
}

interface RemoteTx {
  tx: Tx;
  finish: (commit: boolean) => void;
  done: Promise<void>;
  timer: NodeJS.Timeout;
}

class Rollback extends Error {}

function wireError(err: unknown): WireError {
  const e = err as { message?: unknown; code?: unknown; detail?: unknown; constraint?: unknown };
  return {
    message: typeof e?.message === 'string' ? e.message : String(err),
    ...(typeof e?.code === 'string' ? { code: e.code } : {}),
    ...(typeof e?.detail === 'string' ? { detail: e.detail } : {}),
    ...(typeof e?.constraint === 'string' ? { constraint: e.constraint } : {}),
  };
}

function serve(db: Database, socket: Socket, txTimeoutMs: number): void {
  const txs = new Map<number, RemoteTx>();
  const listens = new Map<string, () => Promise<void>>();
  const send = (msg: WorkerReply): void => {
    if (!socket.destroyed) socket.write(encodeFrame(msg));
  };

  const begin = (id: number): Promise<void> =>
    new Promise<void>((started, failed) => {
      const done = db
        .transaction(async (tx) => {
          const commit = await new Promise<boolean>((finish) => {
            const timer = setTimeout(() => {
              finish(false);
              socket.destroy();
            }, txTimeoutMs);
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
          const t = txs.get(id);
          if (t) clearTimeout(t.timer);
          txs.delete(id);
        });
      done.catch(failed);
    });

  const finish = async (id: number, commit: boolean): Promise<void> => {
    const t = txs.get(id);
    if (!t) throw new Error(`no open transaction ${id}`);
    t.finish(commit);
    await t.done;
  };

  const target = (tx: number | undefined): Tx => {
    if (tx === undefined) return db;
    const t = txs.get(tx);
    if (!t) throw new Error(`no open transaction ${tx}`);
    return t.tx;
  };

  const handle = async (req: WorkerRequest): Promise<Record<string, unknown>[] | undefined> => {
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
          listens.set(channel, await db.listen(channel, (payload) => send({ type: 'notify', channel, payload })));
        }
        return undefined;
      case 'unlisten': {
        const un = listens.get(req.channel);
        listens.delete(req.channel);
        if (un) await un();
        return undefined;
      }
      case 'close':
        // Reply first (the client waits for it), then hang up.
        setImmediate(() => socket.end());
        return undefined;
    }
  };

  readFrames(socket, (frame) => {
    const req = frame as WorkerRequest;
    if (typeof req !== 'object' || req === null || typeof req.id !== 'number') {
      socket.destroy();
      return;
    }
    handle(req).then(
      (rows) => send(rows ? { type: 'reply', id: req.id, ok: true, rows } : { type: 'reply', id: req.id, ok: true }),
      (err: unknown) => send({ type: 'reply', id: req.id, ok: false, error: wireError(err) }),
    );
  });
  socket.on('error', () => undefined);
  socket.on('close', () => {
    for (const t of txs.values()) t.finish(false);
    for (const un of listens.values()) void un().catch(() => undefined);
    listens.clear();
  });
  send({ type: 'ready' });
}

/**
 * Listens on `path`. The caller holds the data-directory lock, so a socket
 * file already there is left over from a crashed process and is replaced.
 */
export async function shareEmbedded(
  db: Database,
  path: string,
  opts: { txTimeoutMs?: number } = {},
): Promise<SharedEmbedded> {
  await unlink(path).catch(() => undefined);
  const server = createServer((socket) => serve(db, socket, opts.txTimeoutMs ?? REMOTE_TX_TIMEOUT_MS));
  server.maxConnections = MAX_CONNECTIONS;
  const old = process.umask(0o177); // the socket is created 0600: only its owner may connect
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    process.umask(old);
  }
  await chmod(path, 0o600);
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return {
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await unlink(path).catch(() => undefined);
    },
  };
}
