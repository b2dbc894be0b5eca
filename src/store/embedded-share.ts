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
import type { Database } from './db.ts';
import type { WorkerReply, WorkerRequest } from './embedded-protocol.ts';
import { encodeFrame, readFrames } from './embedded-wire.ts';
import { createRpcServer } from './rpc-server.ts';

export const SOCKET_NAME = 'tegu.sock';
export const REMOTE_TX_TIMEOUT_MS = 30_000;
const MAX_CONNECTIONS = 16;

export interface SharedEmbedded {
  close(): Promise<void>;
}

function serve(db: Database, socket: Socket, txTimeoutMs: number): void {
  const server = createRpcServer(
    db,
    (msg) => {
      if (!socket.destroyed) socket.write(encodeFrame(msg));
    },
    {
      txTimeoutMs,
      onTxTimeout: () => socket.destroy(),
      // Reply first (the client waits for it), then hang up.
      onClose: async () => void setImmediate(() => socket.end()),
    },
  );
  readFrames(socket, (frame) => {
    const req = frame as WorkerRequest;
    if (typeof req !== 'object' || req === null || typeof req.id !== 'number' || typeof req.op !== 'string') {
      socket.destroy();
      return;
    }
    server.handle(req);
  });
  socket.on('error', () => undefined);
  socket.on('close', () => server.closeAll());
  socket.write(encodeFrame({ type: 'ready' } satisfies WorkerReply));
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
