/**
 * A minimal SMTP client for benchmarks: one TCP connection (Nagle off, see
 * socket-client.ts), replies read in order (multi-line replies joined), no
 * TLS, no AUTH.
 */
import { connectTcp, SocketClient } from './socket-client.ts';

export interface SmtpReply {
  code: number;
  /** The reply lines without their codes, joined with "\n". */
  text: string;
}

export class SmtpError extends Error {}

interface Waiter {
  resolve: (r: SmtpReply) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class SmtpClient extends SocketClient {
  private buffered = '';
  private partial: string[] = [];
  private readonly ready: SmtpReply[] = [];
  private readonly waiters: Waiter[] = [];
  /** EHLO keywords, upper case (PIPELINING, SIZE, ...). */
  extensions = new Set<string>();

  /** Connects, reads the 220 greeting and sends EHLO. */
  static async open(host: string, port: number, opts: { helo: string; timeoutMs: number }): Promise<SmtpClient> {
    const socket = await connectTcp({ host, port, timeoutMs: opts.timeoutMs }, (message) => new SmtpError(message));
    const client = new SmtpClient(socket, opts.timeoutMs);
    try {
      const greeting = await client.read();
      if (greeting.code !== 220) throw new SmtpError(`greeting: ${greeting.code} ${greeting.text}`);
      const ehlo = await client.command(`EHLO ${opts.helo}`);
      if (ehlo.code !== 250) throw new SmtpError(`EHLO: ${ehlo.code} ${ehlo.text}`);
      client.extensions = new Set(ehlo.text.split('\n').slice(1).map((l) => l.split(' ')[0]!.toUpperCase()));
      return client;
    } catch (err) {
      client.destroy();
      throw err;
    }
  }

  write(data: string | Buffer): void {
    if (this.failure) return;
    this.socket.write(data);
  }

  /** The next reply, in order. */
  read(): Promise<SmtpReply> {
    const r = this.ready.shift();
    if (r) return Promise.resolve(r);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(new SmtpError(`no reply within ${this.timeoutMs} ms`));
          this.destroy();
        }, this.timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  command(line: string): Promise<SmtpReply> {
    this.write(`${line}\r\n`);
    return this.read();
  }

  /** QUIT, then close; errors are ignored (the benchmark is over). */
  quit(): Promise<void> {
    return this.closePolitely(() => this.command('QUIT'));
  }

  protected override makeError(message: string): Error {
    return new SmtpError(message);
  }

  protected override onData(chunk: Buffer): void {
    this.buffered += chunk.toString('latin1');
    for (let eol = this.buffered.indexOf('\n'); eol >= 0; eol = this.buffered.indexOf('\n')) {
      const line = this.buffered.slice(0, eol).replace(/\r$/, '');
      this.buffered = this.buffered.slice(eol + 1);
      this.partial.push(line.slice(4));
      if (line[3] === '-') continue;
      const reply: SmtpReply = { code: Number(line.slice(0, 3)) || 0, text: this.partial.join('\n') };
      this.partial = [];
      const w = this.waiters.shift();
      if (w) {
        clearTimeout(w.timer);
        w.resolve(reply);
      } else {
        this.ready.push(reply);
      }
    }
  }

  protected override fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(err);
    }
  }
}
