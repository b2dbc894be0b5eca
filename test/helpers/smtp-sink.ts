/**
 * A remote MTA for the outbound tests: the `smtp-server` package on a
 * loopback address, recording what it receives. Its answers are scripted
 * per recipient: an address whose local part starts with
 *   - "reject" gets 550 5.1.1 at RCPT,
 *   - "later"  gets 450 4.2.0 at RCPT,
 * and `tempFailures` makes the first n transactions fail with 451 4.3.0 at
 * the final dot. Everything else is taken.
 */
import { createServer } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

export interface SunkMessage {
  from: string;
  to: string[];
  data: Buffer;
  secure: boolean;
  /** The user that logged in (AUTH), if any. */
  user?: string | undefined;
  /** DSN parameters as the server parsed them. */
  envid?: string | undefined;
  notify?: string[][];
}

export interface SmtpSink {
  host: string;
  port: number;
  messages: SunkMessage[];
  /** Connections accepted so far. */
  connections: number;
  tempFailures: number;
  close(): Promise<void>;
}

/** A free TCP port on `host` (the kernel's pick; bound and released). */
export async function freePortOn(host: string): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startSink(
  host: string,
  port: number,
  opts: {
    tls?: { cert: string; key: string };
    hideStartTls?: boolean;
    hideDsn?: boolean;
    tempFailures?: number;
    /** Require AUTH (PLAIN/LOGIN, after STARTTLS) with these credentials: a smarthost. */
    auth?: { user: string; pass: string };
  } = {},
): Promise<SmtpSink> {
  const sink: SmtpSink = {
    host,
    port,
    messages: [],
    connections: 0,
    tempFailures: opts.tempFailures ?? 0,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const options: SMTPServerOptions = {
    authOptional: !opts.auth,
    authMethods: ['PLAIN', 'LOGIN'],
    disabledCommands: opts.auth ? [] : opts.tls ? ['AUTH'] : ['AUTH', 'STARTTLS'],
    onAuth(auth, _session, cb) {
      if (opts.auth && auth.username === opts.auth.user && auth.password === opts.auth.pass) return cb(null, { user: auth.username });
      cb(Object.assign(new Error('5.7.8 Authentication failed'), { responseCode: 535 }));
    },
    hideSTARTTLS: opts.hideStartTls ?? false,
    hideDSN: opts.hideDsn ?? false,
    logger: false,
    ...(opts.tls ? { key: opts.tls.key, cert: opts.tls.cert } : {}),
    onConnect(_session, cb) {
      sink.connections++;
      cb();
    },
    onRcptTo(address, _session, cb) {
      const local = address.address.split('@')[0] ?? '';
      if (local.startsWith('reject')) {
        const err = Object.assign(new Error('5.1.1 No such user here'), { responseCode: 550 });
        return cb(err);
      }
      if (local.startsWith('later')) {
        const err = Object.assign(new Error('4.2.0 Try again later'), { responseCode: 450 });
        return cb(err);
      }
      cb();
    },
    onData(stream, session, cb) {
      const parts: Buffer[] = [];
      stream.on('data', (c: Buffer) => parts.push(c));
      stream.on('end', () => {
        if (sink.tempFailures > 0) {
          sink.tempFailures--;
          return cb(Object.assign(new Error('4.3.0 Temporary failure, try again'), { responseCode: 451 }));
        }
        const env = session.envelope as typeof session.envelope & { dsn?: { envid?: string } };
        sink.messages.push({
          from: env.mailFrom === false ? '' : env.mailFrom.address,
          to: env.rcptTo.map((r) => r.address),
          data: Buffer.concat(parts),
          secure: session.secure,
          user: typeof session.user === 'string' ? session.user : undefined,
          envid: env.dsn?.envid,
          notify: env.rcptTo.map((r) => (r as typeof r & { dsn?: { notify?: string[] } }).dsn?.notify ?? []),
        });
        cb();
      });
    },
  };
  const server = new SMTPServer(options);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  server.on('error', () => undefined);
  return sink;
}
