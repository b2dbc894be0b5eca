/**
 * A minimal SMTP client for benchmarks: one TCP connection, replies read in
 * order (multi-line replies joined), no TLS, no AUTH. Nagle is off so a
 * lock-step session is not slowed down by delayed ACKs on either side.
 */
import { connect, type Socket } from 'node:net';

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

export class SmtpClient {
  private buffered = '';
  private partial: string[] = [];
  private readonly ready: SmtpReply[] = [];
  private readonly waiters: Waiter[] = [];
  private failure: Error | undefined;
  /** EHLO keywords, upper case (PIPELINING, SIZE, ...). */
  extensions = new Set<string>();

  private constructor(
    private readonly socket: Socket,
    private readonly timeoutMs: number,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new SmtpError('connection closed by the server')));
  }

  /** Connects, reads the 220 greeting and sends EHLO. */
  static async open(host: string, port: number, opts: { helo: string; timeoutMs: number }): Promise<SmtpClient> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect({ host, port });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new SmtpError(`connect to ${host}:${port} timed out`));
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
  async quit(): Promise<void> {
    try {
      if (!this.failure) await this.command('QUIT');
    } catch {
      // ignore
    }
    this.destroy();
  }

  destroy(): void {
    this.fail(new SmtpError('connection closed by the client'));
    this.socket.destroy();
  }

  get broken(): boolean {
    return this.failure !== undefined;
  }

  private onData(chunk: Buffer): void {
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

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(err);
    }
  }
}
