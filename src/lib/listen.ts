/** Binding a protocol listener: shared by every TCP server (SMTP, IMAP, ...). */
import type { Server } from 'node:net';
import type { Logger } from './log.ts';

/** Listens on host:port (port 0: any free one), logs it and resolves with the bound port; rejects when the bind fails. */
export async function listenOn(server: Server, listen: { host: string; port: number }, log: Logger, proto: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : listen.port;
  log.info({ proto, listen: { host: listen.host, port } }, `${proto} listening`);
  return port;
}
