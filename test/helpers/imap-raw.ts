/**
 * A minimal raw IMAP client for tests that need exact control of the bytes
 * (pipelining, literals, malformed input, STARTTLS injection): write bytes,
 * read response lines. Literals in responses are not interpreted: a line is
 * whatever ends in CRLF.
 */
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls, type TLSSocket } from 'node:tls';

export interface TaggedResult {
  /** Untagged and continuation lines before the tagged one. */
  lines: string[];
  /** The tagged completion line, e.g. "A1 OK LOGIN completed". */
  done: string;
}

export class RawImap {
  private buf = '';
  private waiters: (() => void)[] = [];
  /** Every line received, in order (tests look for what must never be sent). */
  readonly transcript: string[] = [];
  closed = false;
  private socket: Socket;

  private constructor(socket: Socket) {
    this.socket = socket;
    this.listen(socket);
  }

  private listen(socket: Socket): void {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.buf += d;
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  static async open(port: number, opts: { tls?: boolean } = {}): Promise<RawImap> {
    if (opts.tls) {
      const socket = connectTls({ port, host: '127.0.0.1', rejectUnauthorized: false });
      await new Promise<void>((resolve, reject) => {
        socket.once('secureConnect', resolve);
        socket.once('error', reject);
      });
      return new RawImap(socket);
    }
    const socket = connectTcp(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawImap(socket);
  }

  get encrypted(): boolean {
    return 'encrypted' in this.socket;
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Whether the socket can take more without buffering (false: the server is not reading). */
  get writableNeedDrain(): boolean {
    return this.socket.writableNeedDrain;
  }

  /** The next line without its CRLF. Rejects when the connection closed first or nothing came in time. */
  async line(timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const end = this.buf.indexOf('\r\n');
      if (end >= 0) {
        const line = this.buf.slice(0, end);
        this.buf = this.buf.slice(end + 2);
        this.transcript.push(line);
        return line;
      }
      if (this.closed) throw new Error(`connection closed; unread: ${JSON.stringify(this.buf.slice(0, 500))}`);
      if (Date.now() > deadline) throw new Error(`no line within ${timeoutMs} ms; unread: ${JSON.stringify(this.buf.slice(0, 500))}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  /** Lines up to and including the one tagged `tag`. */
  async until(tag: string, timeoutMs = 10_000): Promise<TaggedResult> {
    const lines: string[] = [];
    for (;;) {
      const l = await this.line(timeoutMs);
      if (l.startsWith(`${tag} `)) return { lines, done: l };
      lines.push(l);
    }
  }

  /** Sends `tag text` and reads to its tagged response. */
  async command(tag: string, text: string): Promise<TaggedResult> {
    this.write(`${tag} ${text}\r\n`);
    return this.until(tag);
  }

  /** Nothing more arrives within `ms` (the server stays silent). */
  async silentFor(ms: number): Promise<boolean> {
    await new Promise((r) => setTimeout(r, ms));
    return this.buf === '';
  }

  /** The client side of STARTTLS, after the server's tagged OK: a TLS handshake on the same socket. */
  async upgrade(): Promise<void> {
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    const secure: TLSSocket = connectTls({ socket: plain, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    this.socket = secure;
    this.listen(secure);
  }

  async waitClosed(timeoutMs = 10_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return this.closed;
  }

  close(): void {
    this.socket.destroy();
  }
}
