/**
 * Liveness and readiness endpoints (ARCHITECTURE.md section 7) for load
 * balancers and orchestrators:
 *   GET /healthz  200 "ok"     the process runs and its event loop answers
 *   GET /readyz   200 "ready"  this node can serve (database reachable, ...),
 *                 503 otherwise, so a load balancer takes it out of rotation
 * A separate tiny server rather than a route of the admin web app: it is up
 * before the database is, and it has no authentication, so it must expose
 * nothing but these two bits.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TeguError } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';

export interface HealthServerOptions {
  listen: { host: string; port: number };
  /** Resolves true when the node can serve traffic. Errors count as not ready. */
  ready: () => Promise<boolean>;
  log: Logger;
}

export interface HealthServer {
  /** The bound address (the real port when `listen.port` was 0). */
  address: { host: string; port: number };
  close(): Promise<void>;
}

/** Probes are small and frequent: a slow or idle client must not hold a socket. */
const REQUEST_TIMEOUT_MS = 10_000;
/** A readiness check that hangs is as bad as one that fails; probes time out too. */
const READY_TIMEOUT_MS = 5_000;

function reply(req: IncomingMessage, res: ServerResponse, status: number, body: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    // Probe results must never be served from a cache.
    'cache-control': 'no-store',
    ...extra,
  });
  // HEAD: same headers, no body (RFC 9110 section 9.3.2).
  res.end(req.method === 'HEAD' ? undefined : body);
}

async function checkReady(ready: () => Promise<boolean>, log: Logger): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => {
      log.warn({ timeoutMs: READY_TIMEOUT_MS }, 'readiness check timed out');
      resolve(false);
    }, READY_TIMEOUT_MS);
  });
  try {
    return (await Promise.race([ready(), timeout])) === true;
  } catch (err) {
    log.warn({ err }, 'readiness check failed');
    return false;
  } finally {
    clearTimeout(timer);
  }
}

export function startHealthServer(opts: HealthServerOptions): Promise<HealthServer> {
  const { log } = opts;
  const server = createServer({ maxHeaderSize: 8192 }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/healthz' && path !== '/readyz') {
      reply(req, res, 404, 'not found\n');
      return;
    }
    // RFC 9110 section 15.5.6: 405 must list the allowed methods.
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      reply(req, res, 405, 'method not allowed\n', { allow: 'GET, HEAD' });
      return;
    }
    if (path === '/healthz') {
      reply(req, res, 200, 'ok\n');
      return;
    }
    checkReady(opts.ready, log).then(
      (ok) => (ok ? reply(req, res, 200, 'ready\n') : reply(req, res, 503, 'not ready\n')),
      // checkReady does not reject; this is only a safety net for the socket.
      (err: unknown) => {
        log.error({ err }, 'readiness handler failed');
        if (!res.headersSent) reply(req, res, 503, 'not ready\n');
      },
    );
  });
  server.headersTimeout = REQUEST_TIMEOUT_MS;
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.keepAliveTimeout = 5_000;
  server.on('clientError', (err, socket) => {
    // Malformed requests, oversized headers, timeouts: answer 400 and drop.
    log.debug({ err: (err as Error).message }, 'health: bad client request');
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });

  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const where = `${opts.listen.host.includes(':') ? `[${opts.listen.host}]` : opts.listen.host}:${opts.listen.port}`;
      reject(new TeguError(`cannot listen for HTTP health checks on ${where}: ${err.code ?? err.message}`, { cause: err }));
    };
    server.once('error', onError);
    server.listen(opts.listen.port, opts.listen.host, () => {
      server.off('error', onError);
      server.on('error', (err) => log.error({ err }, 'health server error'));
      const addr = server.address() as AddressInfo;
      const address = { host: addr.address, port: addr.port };
      log.info({ listen: address }, 'health server listening');
      resolve({
        address,
        close: () =>
          new Promise<void>((res, rej) => {
            server.close((err) => (err ? rej(err) : res()));
            // Keep-alive connections from probes would otherwise hold close() open.
            server.closeAllConnections();
          }),
      });
    });
  });
}
