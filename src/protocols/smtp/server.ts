/**
 * SMTP / submission / LMTP listener: accepts connections (plain TCP, or TLS
 * from the first byte for submissions, RFC 8314), applies the per-IP limits,
 * and runs one SmtpSession per connection.
 */
import { listenOn } from '../../lib/listen.ts';
import { createServer, type Server, type Socket } from 'node:net';
import { createSecureContext, TLSSocket, type SecureContext } from 'node:tls';
import { newSessionId, sessionLogger, type Logger } from '../../lib/log.ts';
import { IpLimiter, IpMinuteCounter } from '../../lib/ip-limits.ts';
import { SERVICE_UNAVAILABLE, formatReply, withText } from './replies.ts';
import type { SmtpServices } from './services.ts';
import { SmtpSession } from './session.ts';
import type { ListenerMode } from './state.ts';

export interface SmtpServerOptions {
  mode: ListenerMode;
  listen: { host: string; port: number };
  hostname: string;
  tls?: { cert: string; key: string } | undefined;
  services: SmtpServices;
  log: Logger;
  maxConnectionsPerIp?: number | (() => number);
  maxConnectsPerMinutePerIp?: number | (() => number);
  maxConnections?: number;
  maxBadCommands?: number;
  idleTimeoutMs?: number;
}

export interface RunningSmtpServer {
  address: { host: string; port: number };
  close(): Promise<void>;
}

export async function startSmtpServer(opts: SmtpServerOptions): Promise<RunningSmtpServer> {
  const proto = opts.mode;
  const secureContext: SecureContext | undefined = opts.tls ? createSecureContext({ cert: opts.tls.cert, key: opts.tls.key }) : undefined;
  if (opts.mode === 'submissions' && !secureContext) throw new Error('submissions (implicit TLS) needs a certificate');
  const limiter = new IpLimiter({
    maxConnectionsPerIp: opts.maxConnectionsPerIp ?? 20,
    maxConnectsPerMinute: opts.maxConnectsPerMinutePerIp ?? 600,
  });
  const sockets = new Set<Socket>();
  const authFailures = new IpMinuteCounter(() => opts.services.limits().authFailuresPerIpPerMinute ?? 10);
  const messageRate = new IpMinuteCounter(() => opts.services.limits().messagesPerIpPerMinute ?? 0);

  const onConnection = (raw: Socket): void => {
    const ip = raw.remoteAddress ?? 'unknown';
    const admission = limiter.admit(ip);
    if (!admission.ok) {
      opts.log.warn({ proto, remote: ip, reason: admission.reason }, 'connection refused');
      raw.end(formatReply(withText(SERVICE_UNAVAILABLE, 'Too many connections from your address'), { enhanced: true }));
      raw.on('error', () => undefined);
      return;
    }
    sockets.add(raw);
    raw.on('close', () => {
      admission.release();
      sockets.delete(raw);
    });
    const id = newSessionId();
    const log = sessionLogger(opts.log, { proto, remote: ip });
    const run = (socket: Socket): void => {
      const session = new SmtpSession(
        socket,
        id,
        {
          mode: opts.mode,
          hostname: opts.hostname,
          secureContext: opts.mode === 'submissions' ? undefined : secureContext,
          maxBadCommands: opts.maxBadCommands ?? 10,
          idleTimeoutMs: opts.idleTimeoutMs ?? 300_000,
          authFailures,
          messageRate,
        },
        opts.services,
        log,
      );
      session.start();
    };
    if (opts.mode === 'submissions') {
      const secure = new TLSSocket(raw, { isServer: true, secureContext: secureContext! });
      secure.once('secure', () => run(secure));
      secure.on('error', (err) => {
        log.info({ err: err.message }, 'TLS handshake failed');
        raw.destroy();
      });
      raw.setTimeout(opts.idleTimeoutMs ?? 300_000, () => raw.destroy());
    } else {
      run(raw);
    }
  };

  // noDelay: a reply goes out at once. With Nagle's algorithm the second of two
  // pipelined replies (RFC 2920) waits for the client's delayed ACK, about 40 ms.
  const server: Server = createServer({ pauseOnConnect: false, noDelay: true }, onConnection);
  server.maxConnections = opts.maxConnections ?? 10_000;
  const port = await listenOn(server, opts.listen, opts.log, proto);
  return {
    address: { host: opts.listen.host, port },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
