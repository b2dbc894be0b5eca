/**
 * What the benchmark protocol clients (bench/lib/smtp-client.ts,
 * imap-client.ts) share: a TCP connect with a time limit, and one socket per
 * client with Nagle off (a lock-step session is not slowed down by delayed
 * ACKs on either side) whose first error or close breaks the client for good.
 */
import { connect, type Socket } from 'node:net';

export interface TcpConnectOptions {
  host: string;
  port: number;
  /** Source address (127.0.0.x spreads many connections over more ephemeral ports). */
  localAddress?: string;
  timeoutMs: number;
}

/** A connected socket, or a rejection: the socket's error, or `fail(message)` when `timeoutMs` passes first. */
export function connectTcp(opts: TcpConnectOptions, fail: (message: string) => Error): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    const s = connect({ host: opts.host, port: opts.port, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
    const timer = setTimeout(() => {
      s.destroy();
      reject(fail(`connect to ${opts.host}:${opts.port} timed out`));
    }, opts.timeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      s.removeListener('error', reject);
      resolve(s);
    });
    s.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

export abstract class SocketClient {
  /** Why the connection broke; set once, by fail(). */
  protected failure: Error | undefined;

  protected constructor(
    protected readonly socket: Socket,
    protected readonly timeoutMs: number,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(this.makeError(this.closedText())));
  }

  /** This protocol's error class. */
  protected abstract makeError(message: string): Error;

  /** Bytes from the server. */
  protected abstract onData(chunk: Buffer): void;

  /** The connection broke: sets `failure` (the first time only) and rejects whatever waits for the server. */
  protected abstract fail(err: Error): void;

  /** Why the server closed the connection, as far as the client knows. */
  protected closedText(): string {
    return 'connection closed by the server';
  }

  get broken(): boolean {
    return this.failure !== undefined;
  }

  destroy(): void {
    this.fail(this.makeError('connection closed by the client'));
    this.socket.destroy();
  }

  /** Says goodbye (QUIT, LOGOUT) unless the connection is broken, then closes it; errors are ignored (the benchmark is over). */
  protected async closePolitely(goodbye: () => Promise<unknown>): Promise<void> {
    try {
      if (!this.failure) await goodbye();
    } catch {
      // ignore
    }
    this.destroy();
  }
}
