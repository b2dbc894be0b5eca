/**
 * One SMTP/LMTP connection: reads bytes, splits command lines, routes DATA and
 * BDAT bytes to their decoders, runs one command at a time (PIPELINING: replies
 * go out in order), and enforces the limits: line length, bad-command count,
 * idle timeout, message size. Memory per connection is bounded by the line
 * limit plus the message size limit.
 */
import { TLSSocket, type SecureContext } from 'node:tls';
import type { Socket } from 'node:net';
import type { Logger } from '../../lib/log.ts';
import { BdatReader } from '../../wire/bdat-reader.ts';
import { DataDecoder } from '../../wire/data-decoder.ts';
import { LineSplitter } from '../../wire/line-splitter.ts';
import type { SessionApi } from './commands/api.ts';
import { auth } from './commands/auth.ts';
import { mail, rcpt } from './commands/envelope.ts';
import { hello } from './commands/hello.ts';
import { bdat, bdatDone, data, dataDone } from './commands/message.ts';
import { parseCommand } from './parser/index.ts';
import {
  BAD_SEQUENCE, CANNOT_VRFY, CLOSING, HELP_MESSAGE, LINE_TOO_LONG, NOT_IMPLEMENTED, OK, SERVICE_READY,
  SERVICE_UNAVAILABLE, STARTTLS_REQUIRED, TIMEOUT, READY_TO_START_TLS, formatReply, withText, type SmtpReply,
} from './replies.ts';
import type { IpEventLimit } from '../../lib/ip-limits.ts';
import type { SmtpServices } from './services.ts';
import type { ListenerMode, SessionState } from './state.ts';

export interface SessionOptions {
  mode: ListenerMode;
  hostname: string;
  secureContext: SecureContext | undefined;
  /** Close after this many erroneous commands (RFC 5321 7.8 leaves the policy to us). */
  maxBadCommands: number;
  /**
   * Close an idle connection after this long (RFC 5321 4.5.3.2.7 suggests 5 minutes).
   * Also the deadline for one command line, from its first byte: trickling bytes
   * (slowloris) does not keep a session alive.
   */
  idleTimeoutMs: number;
  /** Deadline for a whole DATA or BDAT body (RFC 5321 4.5.3.2.6 suggests 10 minutes for the data block). */
  dataTimeoutMs?: number;
  /** Failed AUTH per client IP; shared by all connections of the listener. */
  authFailures: IpEventLimit;
  /** Transactions (MAIL) per client IP; shared by all connections of the listener. */
  messageRate: IpEventLimit;
}

type Reading =
  | { kind: 'command' }
  | { kind: 'data'; decoder: DataDecoder }
  | { kind: 'bdat'; reader: BdatReader; last: boolean };

export class SmtpSession implements SessionApi {
  readonly state: SessionState;
  readonly mode: ListenerMode;
  readonly hostname: string;
  readonly authFailures: IpEventLimit;
  readonly messageRate: IpEventLimit;
  private socket: Socket;
  private readonly splitter = new LineSplitter();
  private reading: Reading = { kind: 'command' };
  private readonly pending: Buffer[] = [];
  private busy = false;
  private closed = false;
  private authLine: ((line: string) => Promise<void>) | undefined;
  private upgrade = false;
  /** Runs while a command line or a message body is incomplete; fires 421 and closes. */
  private deadline: NodeJS.Timeout | undefined;

  constructor(
    socket: Socket,
    id: string,
    private readonly opts: SessionOptions,
    readonly services: SmtpServices,
    readonly log: Logger,
  ) {
    this.socket = socket;
    this.mode = opts.mode;
    this.hostname = opts.hostname;
    this.authFailures = opts.authFailures;
    this.messageRate = opts.messageRate;
    const tlsSocket = socket instanceof TLSSocket ? socket : undefined;
    this.state = {
      id,
      remoteAddress: socket.remoteAddress ?? 'unknown',
      helo: undefined,
      esmtp: false,
      tls: tlsSocket ? describeTls(tlsSocket) : undefined,
      user: undefined,
      tx: undefined,
      badCommands: 0,
      authFailures: 0,
    };
  }

  start(): void {
    this.attach(this.socket);
    this.reply(withText(SERVICE_READY, `${this.hostname} ${this.mode === 'lmtp' ? 'LMTP' : 'ESMTP'} TEGU ready`));
  }

  private attach(socket: Socket): void {
    socket.setTimeout(this.opts.idleTimeoutMs);
    socket.on('data', (chunk: Buffer) => {
      if (this.upgrade) return; // bytes pipelined after STARTTLS are dropped (RFC 3207 6)
      this.pending.push(chunk);
      socket.pause();
      void this.pump();
    });
    socket.on('timeout', () => this.close(TIMEOUT));
    socket.on('error', (err) => this.log.debug({ err }, 'socket error'));
    socket.on('close', () => {
      this.closed = true;
      clearTimeout(this.deadline);
      if (!this.busy) this.endTransaction();
    });
  }

  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.pending.length > 0 && !this.closed && !this.upgrade) await this.consume(this.pending.shift()!);
      this.armDeadline();
    } catch (err) {
      this.log.error({ err }, 'session failed');
      this.close(SERVICE_UNAVAILABLE);
    } finally {
      this.busy = false;
      if (this.closed) this.endTransaction();
      else if (!this.upgrade) this.socket.resume();
    }
  }

  /**
   * Back-pressure: a client that pipelines but does not read its replies is
   * not read from until it does; replies never pile up in memory.
   */
  private async writable(): Promise<void> {
    const socket = this.socket;
    if (!socket.writableNeedDrain || this.closed) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        socket.off('drain', done);
        socket.off('close', done);
        resolve();
      };
      socket.on('drain', done);
      socket.on('close', done);
    });
  }

  private clearDeadline(): void {
    clearTimeout(this.deadline);
    this.deadline = undefined;
  }

  /** A partial command line or an unfinished body has a deadline; a complete exchange has none. */
  private armDeadline(): void {
    const partial = this.reading.kind !== 'command' || this.splitter.pendingBytes > 0 || this.splitter.discardingLine;
    if (!partial) return this.clearDeadline();
    if (this.deadline) return;
    const ms = this.reading.kind === 'command' ? this.opts.idleTimeoutMs : (this.opts.dataTimeoutMs ?? 600_000);
    this.deadline = setTimeout(() => {
      this.log.info({ phase: this.reading.kind }, 'deadline passed');
      this.close(TIMEOUT);
    }, ms);
    this.deadline.unref();
  }

  private async consume(chunk: Buffer): Promise<void> {
    let buf: Buffer | undefined = chunk;
    while (buf !== undefined && !this.closed && !this.upgrade) {
      const r = this.reading;
      if (r.kind === 'command') {
        this.splitter.push(buf);
        buf = undefined;
        for (let item = this.splitter.next(); item && !this.closed && !this.upgrade; item = this.splitter.next()) {
          if (item.kind === 'lineTooLong') await this.bad(LINE_TOO_LONG);
          else await this.onLine(item.line);
          this.clearDeadline(); // a complete line: the next one gets its own deadline
          await this.writable();
          if (this.reading.kind !== 'command') {
            buf = this.splitter.drain();
            break;
          }
        }
      } else {
        // DATA and BDAT bodies alike: decoded bytes go to the spool, the remainder back to commands.
        const body = r.kind === 'data' ? r.decoder : r.reader;
        const out = body.push(buf);
        await this.collect(out.body);
        buf = undefined;
        if (out.done) {
          this.reading = { kind: 'command' };
          this.clearDeadline();
          this.markTooBig(body.tooBig);
          if (r.kind === 'data') await dataDone(this, r.decoder.stats);
          else await bdatDone(this, r.last);
          buf = out.remainder;
        }
      }
    }
  }

  private async collect(body: Buffer): Promise<void> {
    const tx = this.state.tx;
    if (!tx || tx.bdatFailed || body.length === 0) return;
    tx.spool ??= this.services.openSpool();
    tx.size += body.length;
    await tx.spool.write(body);
  }

  /** Ends the current transaction, dropping whatever of its body was spooled. */
  endTransaction(): void {
    const spool = this.state.tx?.spool;
    this.state.tx = undefined;
    if (spool) spool.discard().catch((err: unknown) => this.log.warn({ err }, 'dropping a spooled message failed'));
  }

  private markTooBig(tooBig: boolean): void {
    if (tooBig && this.state.tx) this.state.tx.tooBig = true;
  }

  private async bad(r: SmtpReply): Promise<void> {
    this.state.badCommands++;
    if (this.state.badCommands >= this.opts.maxBadCommands) {
      this.log.warn({ bad: this.state.badCommands }, 'too many bad commands');
      this.close(withText(SERVICE_UNAVAILABLE, 'Too many errors, closing'));
      return;
    }
    this.reply(r);
  }

  private async onLine(line: Buffer): Promise<void> {
    if (this.authLine) {
      const handler = this.authLine;
      this.authLine = undefined;
      return handler(line.toString('latin1').trim());
    }
    const parsed = parseCommand(line, { smtputf8Allowed: this.state.esmtp, lmtp: this.mode === 'lmtp' });
    if (!parsed.ok) return this.bad(parsed.reply);
    const cmd = parsed.command;
    // Submission over plain TCP: nothing but EHLO, STARTTLS, NOOP, RSET, QUIT before TLS (RFC 3207 4, RFC 8314).
    const needTls = this.mode === 'submission' && !this.state.tls && this.opts.secureContext && !this.services.limits().allowPlaintextAuth;
    if (needTls && !['EHLO', 'HELO', 'STARTTLS', 'NOOP', 'RSET', 'QUIT'].includes(cmd.verb)) return this.bad(STARTTLS_REQUIRED);
    switch (cmd.verb) {
      case 'EHLO':
      case 'HELO':
      case 'LHLO':
        return hello(this, cmd);
      case 'MAIL':
        return mail(this, cmd);
      case 'RCPT':
        return rcpt(this, cmd);
      case 'DATA':
        return data(this);
      case 'BDAT':
        return bdat(this, cmd);
      case 'AUTH':
        return auth(this, cmd);
      case 'STARTTLS':
        if (!this.canStartTls()) return this.bad(this.state.tls ? BAD_SEQUENCE : NOT_IMPLEMENTED);
        return this.startTls();
      case 'RSET':
        this.endTransaction();
        return this.reply(OK);
      case 'NOOP':
        return this.reply(OK);
      case 'QUIT':
        return this.close(withText(CLOSING, `${this.hostname} closing connection`));
      case 'VRFY':
        return this.reply(CANNOT_VRFY); // RFC 5321 7.3: we do not confirm addresses
      case 'EXPN':
        return this.reply(withText(NOT_IMPLEMENTED, 'EXPN not available'));
      case 'HELP':
        return this.reply(HELP_MESSAGE);
    }
  }

  // ---- SessionApi

  reply(r: SmtpReply): void {
    if (this.closed) return;
    this.socket.write(formatReply(r, { enhanced: this.state.esmtp, utf8: this.state.esmtp }));
  }

  canStartTls(): boolean {
    return this.opts.secureContext !== undefined && !this.state.tls;
  }

  authOffered(): boolean {
    if (this.mode === 'lmtp') return false;
    return Boolean(this.state.tls) || this.services.limits().allowPlaintextAuth;
  }

  expectAuthLine(handler: (line: string) => Promise<void>): void {
    this.authLine = handler;
  }

  beginData(): void {
    this.reading = { kind: 'data', decoder: new DataDecoder({ maxBytes: this.services.limits().maxMessageBytes }) };
  }

  beginBdat(size: number, last: boolean): void {
    const tx = this.state.tx;
    const left = Math.max(0, this.services.limits().maxMessageBytes - (tx?.size ?? 0));
    const reader = new BdatReader({ maxBytes: left });
    reader.begin(size);
    this.reading = { kind: 'bdat', reader, last };
  }

  startTls(): void {
    const context = this.opts.secureContext!;
    this.reply(READY_TO_START_TLS);
    this.upgrade = true;
    this.pending.length = 0;
    this.splitter.drain(); // anything the client pipelined after STARTTLS is discarded
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('timeout');
    const secure = new TLSSocket(plain, { isServer: true, secureContext: context });
    secure.once('secure', () => {
      this.socket = secure;
      // RFC 3207 4.2: forget everything learned before TLS.
      this.state.helo = undefined;
      this.state.esmtp = false;
      this.endTransaction();
      this.state.user = undefined;
      this.state.tls = describeTls(secure);
      this.upgrade = false;
      this.attach(secure);
    });
    secure.on('error', (err) => {
      this.log.info({ err: err.message }, 'TLS handshake failed');
      secure.destroy();
      this.closed = true;
    });
  }

  close(final?: SmtpReply): void {
    clearTimeout(this.deadline);
    if (this.closed) return;
    if (final) this.reply(final);
    this.closed = true;
    this.socket.end();
    this.socket.setTimeout(5_000, () => this.socket.destroy());
  }
}

function describeTls(s: TLSSocket): { version: string; cipher: string } {
  return { version: s.getProtocol() ?? 'TLS', cipher: s.getCipher()?.name ?? 'unknown' };
}
