/**
 * One IMAP connection: bytes in through the command reader (parser/reader.ts),
 * one command at a time, responses out in order.
 *
 *  - State (state.ts): not authenticated -> authenticated -> (selected) ->
 *    logout (RFC 9051 3); commands are checked against it by the command
 *    table (commands/table.ts): BAD in the wrong state.
 *  - Sequential: a command runs to its tagged response before the next one
 *    is read. RFC 9051 5.5 allows a server to run some commands concurrently;
 *    doing them in order is always correct, and clients that pipeline get
 *    their responses in order.
 *  - Back-pressure: the socket is paused while a chunk is worked on, and a
 *    client that sends commands without reading the responses is not read
 *    from until it does, so responses never pile up in the server.
 *  - Literals: the reader checks each announcement against the limits before
 *    a byte of it is read; a synchronizing literal the session accepts gets
 *    `+ Ready` (RFC 9051 7.5). APPEND data streams into upload sinks.
 *  - One recovery point per command: a domain error becomes NO [code]
 *    (errors.ts), anything else NO [SERVERBUG] and a logged stack. Syntax
 *    errors are BAD and the session goes on (RFC 9051 7.1.3); after
 *    maxBadCommands of them in a row: `* BYE` and close.
 *  - Timers: autologout after imap.idleTimeoutSeconds without traffic once
 *    logged in (at least 30 minutes, RFC 9051 5.4), a shorter one (60 s)
 *    before; the same bound from the first byte of a command to its end, so
 *    a client trickling bytes cannot hold a connection (slowloris).
 */
import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { DirectoryAccount } from '../../directory/types.ts';
import type { IpEventLimit } from '../../lib/ip-limits.ts';
import type { Logger } from '../../lib/log.ts';
import { capabilityList } from './capabilities.ts';
import type { Enableable, ServerInfo, SessionApi } from './commands/api.ts';
import { appendLiteral } from './commands/append.ts';
import { AppendUpload } from './commands/append-upload.ts';
import { runCommand, stateRefusal } from './commands/table.ts';
import { domainErrorResponse } from './errors.ts';
import { CommandReader, parseCommand, type LiteralRequest, type ParseError, type RawCommand, type ReaderItem, type ReaderLimits } from './parser/index.ts';
import { CODE, bye, capabilityCode, continuation, tagged, untagged, untaggedStatus, type Status } from './responses.ts';
import type { ImapServices, MailboxRef } from './services.ts';
import { userOf, type ListenerMode, type SelectedMailbox, type SessionState } from './state.ts';

/** send() waits for the client to read once this much is buffered (FETCH literals stream in 1 MiB reads). */
const SEND_FLUSH_BYTES = 256 * 1024;

export interface SessionOptions {
  mode: ListenerMode;
  hostname: string;
  serverInfo: ServerInfo;
  /** For STARTTLS on the plain listener; undefined: not offered. */
  secureContext: SecureContext | undefined;
  /** BAD commands in a row before `* BYE` and close. */
  maxBadCommands: number;
  /** Inactivity before login (and the bound for one command before login). */
  preAuthTimeoutMs: number;
  /** Inactivity after login; default imap.idleTimeoutSeconds (tests set it shorter). */
  idleTimeoutMs?: number;
  /** Failed logins per client IP, shared by the node's IMAP listeners. */
  authFailures: IpEventLimit;
  /** Reader limits besides APPENDLIMIT (which comes from the settings); tests shrink them. */
  readerLimits?: Partial<ReaderLimits>;
}

export class ImapSession implements SessionApi {
  readonly hostname: string;
  readonly serverInfo: ServerInfo;
  readonly authFailures: IpEventLimit;
  readonly remoteAddress: string;
  private socket: Socket;
  private current: SessionState = { kind: 'notAuthenticated' };
  private readonly reader: CommandReader;
  private readonly pending: Buffer[] = [];
  private readonly enabled = new Set<Enableable>();
  private busy = false;
  /** Responses are being gathered for one write (see write()). */
  private corked = false;
  private closed = false;
  private upgrading = false;
  private encrypted: boolean;
  private badInARow = 0;
  private loginFailures = 0;
  /** The command waiting for a raw line (AUTHENTICATE, IDLE) and what to do with it. */
  private lineWait: { tag: string; handler: (line: Buffer) => Promise<void> } | undefined;
  private currentUpload: AppendUpload | undefined;
  private unwatch: (() => void) | undefined;
  /** Runs while a command is incomplete; fires the autologout. */
  private deadline: NodeJS.Timeout | undefined;

  constructor(
    socket: Socket,
    readonly id: string,
    private readonly opts: SessionOptions,
    readonly services: ImapServices,
    readonly log: Logger,
  ) {
    this.socket = socket;
    this.hostname = opts.hostname;
    this.serverInfo = opts.serverInfo;
    this.authFailures = opts.authFailures;
    this.remoteAddress = socket.remoteAddress ?? 'unknown';
    this.encrypted = socket instanceof TLSSocket;
    this.reader = new CommandReader({ nonSyncLiterals: 'LITERAL+', ...opts.readerLimits, maxMessageLiteral: services.limits().appendLimit });
  }

  start(): void {
    this.attach(this.socket);
    // RFC 9051 7.1.1: the greeting may carry the capabilities, saving a round trip.
    this.write(untaggedStatus('OK', `${this.hostname} TEGU IMAP ready`, capabilityCode(this.capabilities())));
  }

  // ---- socket and reader loop

  private timeoutMs(): number {
    if (this.current.kind === 'notAuthenticated') return this.opts.preAuthTimeoutMs;
    return this.opts.idleTimeoutMs ?? this.services.limits().idleTimeoutSeconds * 1000;
  }

  private attach(socket: Socket): void {
    socket.setTimeout(this.timeoutMs());
    socket.on('data', (chunk: Buffer) => {
      if (this.upgrading) return; // bytes after STARTTLS's OK are dropped (RFC 9051 6.2.1)
      this.pending.push(chunk);
      socket.pause();
      void this.pump();
    });
    socket.on('timeout', () => this.autologout());
    socket.on('error', (err) => this.log.debug({ err }, 'socket error'));
    socket.on('close', () => this.onClosed());
  }

  private autologout(): void {
    this.log.info({ state: this.current.kind }, 'autologout');
    this.close('Autologout; idle for too long');
  }

  private onClosed(): void {
    this.closed = true;
    this.clearDeadline();
    this.unwatch?.();
    this.unwatch = undefined;
    if (!this.busy) this.dropUpload();
  }

  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.pending.length > 0 && !this.closed && !this.upgrading) {
        this.reader.push(this.pending.shift()!);
        for (let item = this.reader.next(); item && !this.closed && !this.upgrading; item = this.reader.next()) {
          await this.onItem(item);
          await this.writable();
        }
      }
      this.armDeadline();
    } catch (err) {
      this.log.error({ err }, 'session failed');
      this.close('Internal error, closing');
    } finally {
      this.busy = false;
      if (this.closed) this.dropUpload();
      else if (!this.upgrading) this.socket.resume();
    }
  }

  /** Resolves when the client has read enough of our responses (or the socket closed). */
  private async writable(): Promise<void> {
    this.flush();
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

  /** An incomplete command (a partial line, a literal on its way) must complete within the timeout. */
  private armDeadline(): void {
    const partial = this.currentUpload !== undefined || this.reader.bufferedBytes > 0;
    if (!partial) return this.clearDeadline();
    if (this.deadline) return;
    this.deadline = setTimeout(() => {
      this.log.info('command deadline passed');
      this.autologout();
    }, this.timeoutMs());
    this.deadline.unref();
  }

  private async onItem(item: ReaderItem): Promise<void> {
    switch (item.kind) {
      case 'command':
        this.clearDeadline();
        return this.onCommand(item.command);
      case 'literal':
        return this.onLiteral(item.literal);
      case 'literalData':
        return this.currentUpload?.write(item.chunk);
      case 'literalEnd':
        return this.currentUpload?.end();
      case 'line': {
        this.clearDeadline();
        const wait = this.lineWait;
        this.lineWait = undefined;
        if (wait) await this.guard(wait.tag, () => wait.handler(item.line));
        return;
      }
      case 'error': {
        this.clearDeadline();
        this.dropUpload();
        // A line that was too long while AUTHENTICATE or IDLE waited for one: that command ends with it.
        const wait = this.lineWait;
        this.lineWait = undefined;
        return this.onParseError(wait && item.error.tag === null ? item.error.withTag(wait.tag) : item.error);
      }
    }
  }

  private async onCommand(raw: RawCommand): Promise<void> {
    const parsed = parseCommand(raw, { utf8: this.utf8 });
    if (!parsed.ok) {
      this.dropUpload();
      return this.onParseError(parsed.error);
    }
    const cmd = parsed.command;
    if (cmd.name !== 'APPEND') this.dropUpload();
    const refusal = stateRefusal(cmd.name, this.current.kind);
    if (refusal) {
      this.dropUpload();
      return this.tagged(cmd.tag, 'BAD', refusal);
    }
    this.badInARow = 0;
    await this.guard(cmd.tag, () => runCommand(this, cmd));
  }

  /** The one recovery point of a command: domain errors to NO [code], the rest to NO [SERVERBUG]. */
  private async guard(tag: string | null, run: () => Promise<void> | void): Promise<void> {
    try {
      await run();
    } catch (err) {
      const mapped = domainErrorResponse(err);
      if (!mapped) this.log.error({ err }, 'command failed');
      const line = mapped
        ? [mapped.status, mapped.text, mapped.code] as const
        : (['NO', 'Internal error; the command may not have completed', CODE.SERVERBUG] as const);
      if (tag === null) this.write(untaggedStatus(line[0], line[1], line[2]));
      else this.tagged(tag, line[0], line[1], line[2]);
    }
  }

  private onParseError(error: ParseError): void {
    const text = error.reason;
    const code = error.code ?? undefined;
    if (error.tag === null) this.write(untaggedStatus(error.status, text, code));
    else this.tagged(error.tag, error.status, text, code);
    if (error.fatal) return this.close('Cannot find the next command; closing');
    if (error.status !== 'BAD') return;
    this.badInARow++;
    if (this.badInARow >= this.opts.maxBadCommands) {
      this.log.warn({ bad: this.badInARow }, 'too many bad commands');
      this.close('Too many invalid commands');
    }
  }

  private async onLiteral(req: LiteralRequest): Promise<void> {
    let refusal: { status: Status; code?: string; text: string } | null = null;
    if (req.role === 'message') {
      try {
        refusal = await appendLiteral(this, req);
      } catch (err) {
        this.log.error({ err }, 'APPEND literal check failed');
        refusal = { status: 'NO', code: CODE.SERVERBUG, text: 'Internal error' };
      }
    }
    if (refusal) {
      this.reader.reject();
      this.dropUpload();
      if (req.tag === null) this.write(untaggedStatus(refusal.status, refusal.text, refusal.code));
      else this.tagged(req.tag, refusal.status, refusal.text, refusal.code);
      return;
    }
    this.reader.accept();
    if (req.sync) this.continuation('Ready');
  }

  private dropUpload(): void {
    const upload = this.currentUpload;
    this.currentUpload = undefined;
    upload?.discard().catch((err: unknown) => this.log.warn({ err }, 'discarding an upload failed'));
  }

  // ---- SessionApi

  get state(): SessionState {
    return this.current;
  }

  get tls(): boolean {
    return this.encrypted;
  }

  get rev2(): boolean {
    return this.enabled.has('IMAP4rev2');
  }

  get utf8(): boolean {
    return this.enabled.has('UTF8=ACCEPT') || this.enabled.has('IMAP4rev2');
  }

  enable(cap: Enableable): boolean {
    if (this.enabled.has(cap)) return false;
    this.enabled.add(cap);
    return true;
  }

  get condstore(): boolean {
    return this.enabled.has('CONDSTORE') || this.enabled.has('QRESYNC');
  }

  get qresync(): boolean {
    return this.enabled.has('QRESYNC');
  }

  enableCondstore(): void {
    this.enabled.add('CONDSTORE');
  }

  capabilities(): string[] {
    const limits = this.services.limits();
    return capabilityList({
      tls: this.encrypted,
      startTls: this.canStartTls(),
      authenticated: userOf(this.current) !== undefined,
      allowPlaintextAuth: limits.allowPlaintextAuth,
      appendLimit: limits.appendLimit,
    });
  }

  loginAllowed(): boolean {
    return this.encrypted || this.services.limits().allowPlaintextAuth;
  }

  countLoginFailure(): number {
    return ++this.loginFailures;
  }

  loggedIn(user: DirectoryAccount): void {
    this.current = { kind: 'authenticated', user };
    this.socket.setTimeout(this.timeoutMs());
    // APPENDLIMIT may have changed since the connection started.
    this.reader.configure({ maxMessageLiteral: this.services.limits().appendLimit });
  }

  select(mailbox: SelectedMailbox): void {
    const user = userOf(this.current);
    if (!user) throw new Error('SELECT before login');
    this.stopWatching();
    this.current = { kind: 'selected', user, mailbox };
  }

  deselect(): void {
    const user = userOf(this.current);
    if (!user || this.current.kind !== 'selected') return;
    this.stopWatching();
    this.current = { kind: 'authenticated', user };
  }

  private stopWatching(): void {
    this.unwatch?.();
    this.unwatch = undefined;
  }

  /**
   * Responses are coalesced: the socket is corked at the first write and
   * uncorked by the tagged response, a continuation, a large send or, at the
   * latest, the next turn of the event loop (untagged data during IDLE). So a
   * command's responses leave in one TCP segment where they fit (with
   * noDelay set on the socket: no Nagle wait for the client's delayed ACK).
   */
  private write(text: string | Buffer): void {
    if (this.closed) return;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      setImmediate(this.flush);
    }
    this.socket.write(text);
  }

  private readonly flush = (): void => {
    if (!this.corked) return;
    this.corked = false;
    this.socket.uncork();
  };

  untagged(data: string): void {
    this.write(untagged(data));
  }

  async send(data: string | Buffer): Promise<void> {
    this.write(data);
    if (this.socket.writableLength >= SEND_FLUSH_BYTES) await this.writable();
  }

  untaggedOk(text: string, code?: string): void {
    this.write(untaggedStatus('OK', text, code));
  }

  tagged(tag: string, status: Status, text: string, code?: string): void {
    this.write(tagged(tag, status, text, code));
    this.flush();
  }

  continuation(text: string): void {
    this.write(continuation(text));
    this.flush();
  }

  expectLine(tag: string, handler: (line: Buffer) => Promise<void>): void {
    this.reader.expectLine();
    this.lineWait = { tag, handler };
  }

  canStartTls(): boolean {
    return this.opts.secureContext !== undefined && !this.encrypted;
  }

  startTls(tag: string): void {
    const context = this.opts.secureContext!;
    this.tagged(tag, 'OK', 'Begin TLS negotiation now');
    this.upgrading = true;
    this.pending.length = 0;
    // RFC 9051 6.2.1: nothing the client sent before the handshake may be acted upon.
    const dropped = this.reader.drain();
    if (dropped.length > 0) this.log.warn({ bytes: dropped.length }, 'discarded data sent after STARTTLS');
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('timeout');
    plain.setTimeout(0);
    const secure = new TLSSocket(plain, { isServer: true, secureContext: context });
    const handshake = setTimeout(() => secure.destroy(), this.opts.preAuthTimeoutMs);
    handshake.unref();
    secure.once('secure', () => {
      clearTimeout(handshake);
      this.socket = secure;
      this.encrypted = true;
      this.upgrading = false;
      this.attach(secure);
    });
    secure.on('error', (err) => {
      clearTimeout(handshake);
      this.log.info({ err: err.message }, 'TLS handshake failed');
      secure.destroy();
      this.onClosed();
    });
  }

  get upload(): AppendUpload | undefined {
    return this.currentUpload;
  }

  startUpload(tag: string | null, mailbox: string, found?: MailboxRef): AppendUpload {
    this.dropUpload();
    this.currentUpload = new AppendUpload(tag, mailbox, found);
    return this.currentUpload;
  }

  takeUpload(): AppendUpload | undefined {
    const upload = this.currentUpload;
    this.currentUpload = undefined;
    return upload;
  }

  watchSelected(onChange: () => void): () => void {
    const state = this.current;
    if (state.kind !== 'selected') return () => undefined;
    this.unwatch?.();
    const stop = this.services.watchMailbox(state.mailbox.id, () => onChange());
    this.unwatch = stop;
    return () => {
      stop();
      if (this.unwatch === stop) this.unwatch = undefined;
    };
  }

  logout(tag: string): void {
    this.write(bye(`${this.hostname} logging out`));
    this.tagged(tag, 'OK', 'LOGOUT completed');
    this.current = { kind: 'logout' };
    this.close();
  }

  close(byeText?: string): void {
    this.clearDeadline();
    if (this.closed) return;
    if (byeText !== undefined) this.write(bye(byeText));
    this.flush();
    this.closed = true;
    this.current = { kind: 'logout' };
    this.unwatch?.();
    this.unwatch = undefined;
    this.socket.end();
    this.socket.setTimeout(5_000, () => this.socket.destroy());
  }
}
