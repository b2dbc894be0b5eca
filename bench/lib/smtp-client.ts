/**
 * A minimal SMTP client for benchmarks: one TCP connection (Nagle off, see
 * socket-client.ts), replies read in order (multi-line replies joined); in
 * the clear, or as a submission session (openSubmission: STARTTLS, then
 * AUTH PLAIN).
 */
import type { Socket } from 'node:net';
import { connect as connectTls, type TLSSocket } from 'node:tls';
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
      await client.hello(opts.helo);
      return client;
    } catch (err) {
      client.destroy();
      throw err;
    }
  }

  /**
   * A submission session (RFC 6409): open(), then STARTTLS (RFC 3207; any
   * certificate is taken, the benchmark servers' are self-signed), EHLO again
   * over TLS (RFC 3207 section 4.2: the client forgets what it knew), and
   * AUTH PLAIN (RFC 4954, RFC 4616). Resolves with the TLS client, ready for
   * MAIL.
   */
  static async openSubmission(
    host: string,
    port: number,
    opts: { helo: string; timeoutMs: number; user: string; password: string },
  ): Promise<SmtpClient> {
    const plain = await SmtpClient.open(host, port, opts);
    let secure: SmtpClient | undefined;
    try {
      if (!plain.extensions.has('STARTTLS')) throw new SmtpError('STARTTLS not offered');
      const go = await plain.command('STARTTLS');
      if (go.code !== 220) throw new SmtpError(`STARTTLS: ${go.code} ${go.text}`);
      secure = new SmtpClient(await plain.handOverToTls(), opts.timeoutMs);
      await secure.hello(opts.helo);
      const token = Buffer.from(`\0${opts.user}\0${opts.password}`, 'utf8').toString('base64');
      const auth = await secure.command(`AUTH PLAIN ${token}`);
      if (auth.code !== 235) throw new SmtpError(`AUTH PLAIN as ${opts.user}: ${auth.code} ${auth.text}`);
      return secure;
    } catch (err) {
      secure?.destroy();
      plain.destroy();
      throw err;
    }
  }

  /** EHLO, keeping the extensions it names. */
  private async hello(helo: string): Promise<void> {
    const ehlo = await this.command(`EHLO ${helo}`);
    if (ehlo.code !== 250) throw new SmtpError(`EHLO: ${ehlo.code} ${ehlo.text}`);
    this.extensions = new Set(ehlo.text.split('\n').slice(1).map((l) => l.split(' ')[0]!.toUpperCase()));
  }

  /**
   * After the server's 220 to STARTTLS: this client lets go of its socket
   * (it is broken from now on) and a TLS client session starts on it.
   */
  private handOverToTls(): Promise<TLSSocket> {
    const raw: Socket = this.socket;
    this.failure = new SmtpError('connection handed over to TLS');
    for (const event of ['data', 'error', 'close']) raw.removeAllListeners(event);
    // The TLS socket reports the connection's errors from now on.
    raw.on('error', () => {});
    return new Promise((resolve, reject) => {
      const tls = connectTls({ socket: raw, rejectUnauthorized: false });
      const timer = setTimeout(() => {
        tls.destroy();
        reject(new SmtpError(`TLS handshake: no answer within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      tls.once('secureConnect', () => {
        clearTimeout(timer);
        tls.removeListener('error', reject);
        resolve(tls);
      });
      tls.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
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
