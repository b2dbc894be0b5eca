/**
 * IMAP listener: plain TCP with STARTTLS (`imap`, port 143, RFC 9051 6.2.1)
 * or TLS from the first byte (`imaps`, port 993, RFC 8314 3.3); per-IP
 * limits (src/lib/ip-limits.ts): concurrent connections and new connections
 * per minute; one ImapSession per connection. Failed logins are counted per
 * client IP across connections (and across the node's IMAP listeners when
 * the caller passes one counter to both).
 */
import { listenOn } from '../../lib/listen.ts';
import { createServer, type Server, type Socket } from 'node:net';
import { createSecureContext, TLSSocket, type SecureContext, type SecureVersion } from 'node:tls';
import { IpLimiter, IpMinuteCounter, type IpEventLimit } from '../../lib/ip-limits.ts';
import { newSessionId, sessionLogger, type Logger } from '../../lib/log.ts';
import type { ServerInfo } from './commands/api.ts';
import type { ReaderLimits } from './parser/index.ts';
import { bye } from './responses.ts';
import type { ImapServices } from './services.ts';
import { ImapSession } from './session.ts';
import type { ListenerMode } from './state.ts';

export interface ImapServerOptions {
  mode: ListenerMode;
  listen: { host: string; port: number };
  hostname: string;
  serverInfo: ServerInfo;
  /** Needed for imaps; on imap it enables STARTTLS. */
  tls?: { cert: string; key: string; minVersion?: SecureVersion } | undefined;
  services: ImapServices;
  log: Logger;
  maxConnectionsPerIp?: number;
  maxConnectsPerMinutePerIp?: number;
  maxConnections?: number;
  maxBadCommands?: number;
  /** Before login: inactivity, one command, and the TLS handshake. */
  preAuthTimeoutMs?: number;
  /** After login; default the imap.idleTimeoutSeconds setting. */
  idleTimeoutMs?: number;
  /** Failed logins per IP; default: a counter of this listener's own. */
  authFailures?: IpEventLimit;
  readerLimits?: Partial<ReaderLimits>;
}

export interface RunningImapServer {
  address: { host: string; port: number };
  /** Says BYE to every session and stops listening. */
  close(): Promise<void>;
}

export const PRE_AUTH_TIMEOUT_MS = 60_000;

export async function startImapServer(opts: ImapServerOptions): Promise<RunningImapServer> {
  const proto = opts.mode;
  const secureContext: SecureContext | undefined = opts.tls
    ? createSecureContext({ cert: opts.tls.cert, key: opts.tls.key, minVersion: opts.tls.minVersion ?? 'TLSv1.2' })
    : undefined;
  if (opts.mode === 'imaps' && !secureContext) throw new Error('imaps (implicit TLS) needs a certificate');
  const limiter = new IpLimiter({
    maxConnectionsPerIp: opts.maxConnectionsPerIp ?? 100,
    maxConnectsPerMinute: opts.maxConnectsPerMinutePerIp ?? 600,
  });
  const authFailures = opts.authFailures ?? new IpMinuteCounter(() => opts.services.limits().authFailuresPerIpPerMinute);
  const preAuthTimeoutMs = opts.preAuthTimeoutMs ?? PRE_AUTH_TIMEOUT_MS;
  const sessions = new Map<Socket, ImapSession | undefined>();

  const onConnection = (raw: Socket): void => {
    const ip = raw.remoteAddress ?? 'unknown';
    raw.on('error', () => undefined);
    const admission = limiter.admit(ip);
    if (!admission.ok) {
      opts.log.warn({ proto, remote: ip, reason: admission.reason }, 'connection refused');
      // On imaps a plaintext BYE would be garbage to the client's TLS stack: just close.
      if (opts.mode === 'imap') raw.end(bye('Too many connections from your address', 'UNAVAILABLE'));
      else raw.destroy();
      return;
    }
    sessions.set(raw, undefined);
    raw.on('close', () => {
      admission.release();
      sessions.delete(raw);
    });
    const log = sessionLogger(opts.log, { proto, remote: ip });
    const run = (socket: Socket): void => {
      const session = new ImapSession(
        socket,
        newSessionId(),
        {
          mode: opts.mode,
          hostname: opts.hostname,
          serverInfo: opts.serverInfo,
          secureContext: opts.mode === 'imap' ? secureContext : undefined,
          maxBadCommands: opts.maxBadCommands ?? 10,
          preAuthTimeoutMs,
          ...(opts.idleTimeoutMs !== undefined ? { idleTimeoutMs: opts.idleTimeoutMs } : {}),
          authFailures,
          ...(opts.readerLimits ? { readerLimits: opts.readerLimits } : {}),
        },
        opts.services,
        log,
      );
      sessions.set(raw, session);
      session.start();
    };
    if (opts.mode === 'imaps') {
      const secure = new TLSSocket(raw, { isServer: true, secureContext: secureContext! });
      const handshake = setTimeout(() => raw.destroy(), preAuthTimeoutMs);
      handshake.unref();
      secure.once('secure', () => {
        clearTimeout(handshake);
        run(secure);
      });
      secure.on('error', (err) => {
        clearTimeout(handshake);
        log.info({ err: err.message }, 'TLS handshake failed');
        raw.destroy();
      });
    } else {
      run(raw);
    }
  };

  // noDelay: responses leave when the session flushes them (session.ts write());
  // with Nagle's algorithm a response written in two parts waited for the
  // client's delayed ACK, about 40 ms per command.
  const server: Server = createServer({ pauseOnConnect: false, noDelay: true }, onConnection);
  server.maxConnections = opts.maxConnections ?? 10_000;
  const port = await listenOn(server, opts.listen, opts.log, proto);
  return {
    address: { host: opts.listen.host, port },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const [raw, session] of sessions) {
        // RFC 9051 7.1.5: BYE before the server closes the connection.
        if (session) session.close('Server shutting down');
        else raw.destroy();
      }
      // A client that does not close its side within a second is cut.
      const grace = setTimeout(() => {
        for (const raw of sessions.keys()) raw.destroy();
      }, 1000);
      await closed;
      clearTimeout(grace);
    },
  };
}
