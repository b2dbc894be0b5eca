/**
 * The client side of a running node's control socket (store/embedded-share.ts):
 * a Database for admin commands while `tegu serve` holds the embedded data directory.
 */
import { connect } from 'node:net';
import type { Database } from './db.ts';
import type { WorkerReply } from './embedded-protocol.ts';
import { encodeFrame, readFrames } from './embedded-wire.ts';
import { createRpcClient } from './rpc-client.ts';

export async function connectEmbedded(socketPath: string): Promise<Database> {
  const socket = connect(socketPath);
  const client = createRpcClient({
    send: (req) => socket.write(encodeFrame(req)),
    shutdown: async () => {
      if (socket.closed) return;
      await new Promise<void>((resolve) => {
        socket.once('close', () => resolve());
        socket.end();
      });
    },
  });
  await new Promise<void>((ready, failed) => {
    socket.once('error', failed);
    readFrames(socket, (frame) => {
      const msg = frame as WorkerReply;
      if (msg.type === 'ready') {
        socket.off('error', failed);
        ready();
      } else client.deliver(msg);
    });
  });
  socket.on('error', (err) => client.fail(err));
  socket.on('close', () => client.fail(new Error('the tegu server closed the control connection')));
  return client.db;
}
