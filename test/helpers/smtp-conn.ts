/**
 * A raw SMTP connection for robustness tests: like smtp-client.ts's RawSmtp,
 * plus what those tests need on top: a chosen source address (127.0.0.2 is
 * "another client" on Linux loopback), a connect timeout, the time the server
 * closed the connection, and back-pressured writes for large streams.
 */
import { connect, type Socket } from 'node:net';

export interface SmtpConnReply {
  code: number;
  lines: string[];
}

export interface SmtpConnOptions {
  host?: string;
  /** Source address, e.g. '127.0.0.2' (any 127.0.0.0/8 address works on Linux loopback). */
  localAddress?: string;
  connectTimeoutMs?: number;
}

const REPLY = /^(?:(\d{3})-[^\r\n]*\r\n)*(\d{3})(?: [^\r\n]*)?\r\n/;

export class SmtpConn {
  private buf = '';
  private waiters: (() => void)[] = [];
  closed = false;
  /** Date.now() when the connection closed (either side), or undefined. */
  closedAt: number | undefined;
  /** The last socket error, if any (ECONNRESET after a server crash, EPIPE...). */
  error: Error | undefined;

  private constructor(readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.buf += d;
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.closedAt = Date.now();
      this.wake();
    });
    socket.on('error', (err) => {
      this.error = err;
    });
  }

  static async open(port: number, opts: SmtpConnOptions = {}): Promise<SmtpConn> {
    const socket = connect({ port, host: opts.host ?? '127.0.0.1', ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to port ${port} timed out`));
      }, opts.connectTimeoutMs ?? 5_000);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      });
    });
    return new SmtpConn(socket);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private wait(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.waiters.push(done);
    });
  }

  /** Writes unless the connection is gone (a write after close is a no-op, the next reply() reports it). */
  write(data: string | Buffer): boolean {
    if (this.closed || this.socket.destroyed) return false;
    return this.socket.write(data);
  }

  /** Writes and waits until the socket buffer drained (for streaming megabytes without holding them). */
  async writeDrained(data: string | Buffer): Promise<void> {
    if (this.write(data)) return;
    while (!this.closed && this.socket.writableNeedDrain) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.socket.off('drain', done);
          this.socket.off('close', done);
          resolve();
        };
        this.socket.once('drain', done);
        this.socket.once('close', done);
      });
    }
    if (this.closed) throw new Error(`connection closed while writing${this.error ? `: ${this.error.message}` : ''}`);
  }

  /** The next complete reply. Rejects when the connection closed first or after `timeoutMs`. */
  async reply(timeoutMs = 10_000): Promise<SmtpConnReply> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = REPLY.exec(this.buf);
      if (m) {
        this.buf = this.buf.slice(m[0].length);
        const lines = m[0].split('\r\n').filter((l) => l !== '');
        return { code: Number(lines[lines.length - 1]!.slice(0, 3)), lines };
      }
      if (this.closed) throw new Error(`connection closed${this.error ? ` (${this.error.message})` : ''}; unread: ${JSON.stringify(this.buf)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no reply within ${timeoutMs} ms; unread: ${JSON.stringify(this.buf)}`);
      await this.wait(Math.min(left, 1_000));
    }
  }

  async command(line: string, timeoutMs?: number): Promise<SmtpConnReply> {
    this.write(`${line}\r\n`);
    return this.reply(timeoutMs);
  }

  /** Bytes received and not consumed as replies. */
  unread(): string {
    return this.buf;
  }

  async waitClosed(timeoutMs = 10_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      await this.wait(Math.min(left, 1_000));
    }
    return this.closed;
  }

  close(): void {
    this.socket.destroy();
  }
}
