/**
 * The SMTP client of the outbound queue: one connection to one remote host
 * (MX or smarthost), over which the queue sends one or more messages, each to
 * several recipients of one domain, and gets a result per recipient.
 *
 * - Connection set-up (`SmtpClient.connect`): TCP connect, greeting, EHLO
 *   (HELO when EHLO is refused, RFC 5321 4.1.4), STARTTLS by policy (RFC 3207;
 *   opportunistic TLS accepts any certificate, RFC 7435), EHLO again, AUTH
 *   PLAIN or LOGIN for a smarthost (RFC 4954), only over TLS by default.
 * - One transaction per `send`: MAIL, RCPT per recipient, DATA with the
 *   message dot-stuffed (RFC 5321 4.5.2), pipelined when offered (RFC 2920);
 *   RSET when the transaction did not complete, so the connection can carry
 *   the next message.
 * - Every wait on the remote has its own timeout (RFC 5321 4.5.3.2). Replies
 *   are parsed by smtp-client-reply.ts with bounded memory; garbage, a
 *   timeout, a closed connection or a 421 end the connection with an
 *   SmtpConnectionError.
 *
 * Replies a server sends without being asked are never buffered beyond the
 * ones we expect: an unexpected 421 ends the connection, anything else
 * unexpected is garbage.
 */
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { DotStuffer } from '../wire/dot-stuff.ts';
import {
  DEFAULT_MAX_REPLY_BYTES,
  MalformedReplyError,
  ReplyReader,
  encodeUtf8AddrUnitext,
  encodeXtext,
  parseEhloKeywords,
  type ParsedReply,
} from './smtp-client-reply.ts';

export interface SmtpTimeouts {
  connect: number;
  greeting: number;
  ehlo: number;
  /** STARTTLS reply and the TLS handshake. */
  starttls: number;
  /** Each AUTH exchange. */
  auth: number;
  mailFrom: number;
  rcptTo: number;
  dataInit: number;
  /** Each wait for the socket to take more message bytes. */
  dataBlock: number;
  dataTermination: number;
  rset: number;
  quit: number;
}

const MINUTE = 60_000;

/** RFC 5321 4.5.3.2 where it gives a value; connect, STARTTLS, AUTH, RSET and QUIT are ours. */
export const DEFAULT_SMTP_TIMEOUTS: Readonly<SmtpTimeouts> = Object.freeze({
  connect: 30_000,
  greeting: 5 * MINUTE, // 4.5.3.2.1
  ehlo: 5 * MINUTE,
  starttls: 2 * MINUTE,
  auth: 2 * MINUTE,
  mailFrom: 5 * MINUTE, // 4.5.3.2.2
  rcptTo: 5 * MINUTE, // 4.5.3.2.3
  dataInit: 2 * MINUTE, // 4.5.3.2.4
  dataBlock: 3 * MINUTE, // 4.5.3.2.5
  dataTermination: 10 * MINUTE, // 4.5.3.2.6
  rset: 2 * MINUTE,
  quit: MINUTE,
});

export interface SmtpClientOptions {
  /** IP address to connect to (the caller resolved it). */
  host: string;
  port: number;
  /** Name to verify the TLS certificate against and to send as SNI (the MX host name); default host. */
  serverName?: string;
  /** Our host name for EHLO/HELO. */
  heloName: string;
  /** Source address to bind. */
  localAddress?: string;
  /**
   * 'opportunistic': STARTTLS when offered, plain otherwise; 'required': fail
   * (temporary) when not offered or the handshake fails; 'none': never.
   */
  tls: 'opportunistic' | 'required' | 'none';
  /**
   * Verify the certificate against `serverName`. Default: false for
   * 'opportunistic' (RFC 7435: any certificate beats none), true for 'required'.
   */
  verifyCertificate?: boolean;
  /** Extra CA certificates for verification (tests, private smarthosts). */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Smarthost credentials: AUTH PLAIN, or LOGIN when only that is offered. Only after TLS unless allowPlaintextAuth. */
  auth?: { user: string; pass: string };
  allowPlaintextAuth?: boolean;
  timeouts?: Partial<SmtpTimeouts>;
  /** Max octets of one reply (all its lines); over it the connection is dropped as garbage. Default 64 KiB. */
  maxReplyBytes?: number;
}

export interface OutboundEnvelope {
  /** '' = the null reverse path <>. */
  mailFrom: string;
  recipients: { address: string; notify?: ('SUCCESS' | 'FAILURE' | 'DELAY' | 'NEVER')[]; orcpt?: string }[];
  ret?: 'FULL' | 'HDRS';
  envid?: string;
  smtputf8?: boolean;
  eightBitMime?: boolean;
  /** Octets of the message (for SIZE=). */
  size: number;
}

export interface SmtpResult {
  code: number;
  /** RFC 3463, e.g. '5.1.1'. */
  enhanced?: string;
  text: string;
  /** True when this client made the result up (no server said it): for DSNs, which then name no remote MTA. */
  local?: boolean;
}

export interface RecipientOutcome {
  address: string;
  /** The reply that decided this recipient: the final-dot reply when the RCPT was accepted, else the MAIL/RCPT/DATA reply. */
  result: SmtpResult;
  /** true = permanent (5xx). */
  permanent: boolean;
  /** The remote server took the message for this recipient (RCPT and final dot both 2xx). */
  accepted: boolean;
}

export interface SendOutcome {
  recipients: RecipientOutcome[];
  /** The reply to the final dot when any RCPT was accepted (or the refusal of DATA itself). */
  data?: SmtpResult;
}

export type SmtpStage =
  | 'connect'
  | 'greeting'
  | 'ehlo'
  | 'helo'
  | 'starttls'
  | 'auth'
  | 'mail'
  | 'rcpt'
  | 'data'
  | 'message'
  | 'dot'
  | 'rset'
  | 'quit';

/** The whole connection failed (refused, timeout, TLS required but missing, garbage, 421, greeting 5xx...). */
export class SmtpConnectionError extends Error {
  override readonly name = 'SmtpConnectionError';
  readonly temporary: boolean;
  /** The server's reply when one caused this (421, a refused greeting, EHLO/HELO or AUTH). */
  readonly result?: SmtpResult;
  readonly stage: SmtpStage;
  /**
   * Set when `send` failed part-way: every recipient with what it got.
   * Recipients a RCPT reply had already refused keep that reply; all others
   * get `result` (or a local 4.4.2 when the server said nothing).
   */
  outcome?: SendOutcome;

  constructor(message: string, init: { temporary: boolean; stage: SmtpStage; result?: SmtpResult; cause?: unknown }) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.temporary = init.temporary;
    this.stage = init.stage;
    if (init.result) this.result = init.result;
  }
}

const CRLF = '\r\n';
/** Bytes written before waiting for the socket to drain. */
const WRITE_SLICE = 64 * 1024;

function toResult(r: ParsedReply): SmtpResult {
  return r.enhanced === undefined ? { code: r.code, text: r.text } : { code: r.code, enhanced: r.enhanced, text: r.text };
}

function localResult(code: number, enhanced: string, text: string): SmtpResult {
  return { code, enhanced, text, local: true };
}

const isPositive = (r: ParsedReply): boolean => r.code >= 200 && r.code < 300;
/** Controls or angle brackets in a path would break the command line (and could inject commands). */
const BAD_PATH_CHARS = /[\x00-\x1f\x7f<>]/;
const NON_ASCII = /[^\x00-\x7f]/;

interface Waiter {
  resolve: (r: ParsedReply) => void;
  reject: (e: SmtpConnectionError) => void;
}

export class SmtpClient {
  readonly remoteHost: string;

  private socket: Socket;
  private readonly reader: ReplyReader;
  private readonly timeouts: SmtpTimeouts;
  /** Replies received and not taken yet, never more than `outstanding`. */
  private readonly received: ParsedReply[] = [];
  /** Commands (and the greeting) whose replies were not taken yet. */
  private outstanding = 1;
  private waiter: Waiter | undefined;
  private failure: SmtpConnectionError | undefined;
  private stage: SmtpStage = 'greeting';
  private busy = false;
  private ehloKeywords: ReadonlyMap<string, string> = new Map();
  private secured = false;
  private readonly onData = (chunk: Buffer): void => this.receive(chunk);
  private readonly onClose = (): void => {
    this.fail(new SmtpConnectionError(`connection closed by ${this.remoteHost} during ${this.stage}`, { temporary: true, stage: this.stage }));
  };
  private readonly onError = (err: Error): void => {
    this.fail(new SmtpConnectionError(`connection to ${this.remoteHost} failed during ${this.stage}: ${err.message}`, { temporary: true, stage: this.stage, cause: err }));
  };

  private constructor(socket: Socket, private readonly opts: SmtpClientOptions) {
    this.socket = socket;
    this.remoteHost = opts.serverName && opts.serverName !== opts.host ? `${opts.serverName}[${opts.host}]:${opts.port}` : `[${opts.host}]:${opts.port}`;
    this.timeouts = mergeTimeouts(opts.timeouts);
    this.reader = new ReplyReader({ maxReplyBytes: opts.maxReplyBytes ?? DEFAULT_MAX_REPLY_BYTES });
    this.attach(socket);
  }

  /** EHLO keywords upper-case -> their parameters (empty after HELO). */
  get extensions(): ReadonlyMap<string, string> {
    return this.ehloKeywords;
  }

  /** STARTTLS succeeded. */
  get tls(): boolean {
    return this.secured;
  }

  /** True while the connection can carry another message. */
  get usable(): boolean {
    return this.failure === undefined;
  }

  static async connect(opts: SmtpClientOptions): Promise<SmtpClient> {
    const socket = await openSocket(opts, mergeTimeouts(opts.timeouts).connect);
    const client = new SmtpClient(socket, opts);
    try {
      await client.handshake();
      return client;
    } catch (e) {
      client.close();
      throw e;
    }
  }

  /** Greeting, EHLO/HELO, STARTTLS, AUTH. */
  private async handshake(): Promise<void> {
    const greeting = await this.readReply('greeting', this.timeouts.greeting);
    if (!isPositive(greeting)) {
      // RFC 5321 3.1: 554 means no SMTP service here. Temporary like Postfix's
      // default (smtp_skip_5xx_greeting): the next MX or a later try may work.
      throw new SmtpConnectionError(`${this.remoteHost} refused the connection: ${greeting.code} ${greeting.text}`, {
        temporary: true,
        stage: 'greeting',
        result: toResult(greeting),
      });
    }
    await this.hello();
    if (this.opts.tls !== 'none') await this.startTls();
    if (this.opts.auth) await this.authenticate(this.opts.auth);
  }

  /** RFC 5321 4.1.1.1 EHLO; HELO when the server refuses EHLO with 5xx (4.1.4, old servers). */
  private async hello(): Promise<void> {
    const ehlo = await this.command(`EHLO ${this.opts.heloName}`, 'ehlo', this.timeouts.ehlo);
    if (isPositive(ehlo)) {
      this.ehloKeywords = parseEhloKeywords(ehlo);
      return;
    }
    if (ehlo.code < 500) throw this.refused('ehlo', ehlo, true);
    const helo = await this.command(`HELO ${this.opts.heloName}`, 'helo', this.timeouts.ehlo);
    if (!isPositive(helo)) throw this.refused('helo', helo, helo.code < 500);
    this.ehloKeywords = new Map();
  }

  /** RFC 3207: STARTTLS, the handshake over the same socket, then EHLO again (4.2: forget what was learnt before). */
  private async startTls(): Promise<void> {
    const required = this.opts.tls === 'required';
    if (!this.extensions.has('STARTTLS')) {
      if (!required) return;
      throw new SmtpConnectionError(`TLS required but ${this.remoteHost} does not offer STARTTLS`, { temporary: true, stage: 'starttls' });
    }
    const reply = await this.command('STARTTLS', 'starttls', this.timeouts.starttls);
    if (reply.code !== 220) {
      if (!required && reply.code !== 421) return; // RFC 3207 4: the session goes on in plain text
      throw new SmtpConnectionError(`TLS required but ${this.remoteHost} refused STARTTLS: ${reply.code} ${reply.text}`, {
        temporary: true,
        stage: 'starttls',
        result: toResult(reply),
      });
    }
    // Bytes after the 220 were sent in plain text before the handshake: an
    // attacker's injection (CVE-2011-0411), never to be read as TLS replies.
    if (this.failure) throw this.failure; // e.g. an unexpected reply right behind the 220
    if (this.reader.hasPendingBytes || this.received.length > 0) {
      throw this.fail(new SmtpConnectionError(`${this.remoteHost} sent data after its STARTTLS reply`, { temporary: true, stage: 'starttls' }));
    }
    const raw = this.socket;
    this.detach(raw);
    raw.on('error', () => undefined); // the TLS socket reports errors from now on
    let secure: TLSSocket;
    try {
      secure = await this.handshakeTls(raw);
    } catch (e) {
      raw.destroy();
      throw this.fail(
        new SmtpConnectionError(`TLS handshake with ${this.remoteHost} failed: ${(e as Error).message}`, { temporary: true, stage: 'starttls', cause: e }),
      );
    }
    this.socket = secure;
    this.attach(secure);
    this.secured = true;
    this.ehloKeywords = new Map();
    await this.hello();
  }

  private handshakeTls(raw: Socket): Promise<TLSSocket> {
    const name = this.opts.serverName ?? this.opts.host;
    const verify = this.opts.verifyCertificate ?? this.opts.tls === 'required';
    return new Promise<TLSSocket>((resolve, reject) => {
      const secure = tlsConnect({
        socket: raw,
        host: name, // checkServerIdentity verifies against this
        // RFC 6066 3: SNI carries host names only, never an address.
        ...(isIP(name) === 0 ? { servername: name } : {}),
        rejectUnauthorized: verify,
        ...(this.opts.ca !== undefined ? { ca: this.opts.ca } : {}),
      });
      const timer = setTimeout(() => {
        secure.destroy();
        reject(new Error(`no TLS handshake within ${this.timeouts.starttls} ms`));
      }, this.timeouts.starttls);
      secure.once('secureConnect', () => {
        clearTimeout(timer);
        secure.removeAllListeners('error');
        resolve(secure);
      });
      secure.once('error', (err) => {
        clearTimeout(timer);
        secure.destroy();
        reject(err);
      });
    });
  }

  /** RFC 4954: AUTH PLAIN with an initial response (RFC 4616), or LOGIN when only that is offered. */
  private async authenticate(cred: { user: string; pass: string }): Promise<void> {
    if (!this.tls && !this.opts.allowPlaintextAuth) {
      throw new SmtpConnectionError(`not sending credentials to ${this.remoteHost} without TLS`, { temporary: true, stage: 'auth' });
    }
    const mechanisms = (this.extensions.get('AUTH') ?? '').toUpperCase().split(/\s+/);
    const t = this.timeouts.auth;
    let reply: ParsedReply;
    if (mechanisms.includes('PLAIN')) {
      const token = Buffer.from(`\0${cred.user}\0${cred.pass}`, 'utf8').toString('base64');
      reply = await this.command(`AUTH PLAIN ${token}`, 'auth', t);
    } else if (mechanisms.includes('LOGIN')) {
      reply = await this.command('AUTH LOGIN', 'auth', t);
      for (const secret of [cred.user, cred.pass]) {
        if (reply.code !== 334) break;
        reply = await this.command(Buffer.from(secret, 'utf8').toString('base64'), 'auth', t);
      }
    } else {
      throw new SmtpConnectionError(`${this.remoteHost} offers no AUTH PLAIN or LOGIN`, { temporary: true, stage: 'auth' });
    }
    if (reply.code === 334) reply = await this.command('*', 'auth', t); // RFC 4954 4: cancel an exchange we cannot continue
    // A smarthost refusing our credentials is a configuration problem: retry
    // later rather than bounce (Postfix's smtp_sasl_auth_soft_bounce).
    if (reply.code !== 235) throw this.refused('auth', reply, true);
  }

  /**
   * One message over this connection. `message` is the whole message (header
   * and body, CRLF lines). Throws SmtpConnectionError (with `outcome`) when
   * the connection fails part-way; per-recipient refusals are in the result.
   */
  async send(env: OutboundEnvelope, message: Buffer | AsyncIterable<Buffer>): Promise<SendOutcome> {
    if (this.busy) throw new Error('SmtpClient.send: a send is already running on this connection');
    const tx = new Transaction(env.recipients.map((r) => r.address));
    if (this.failure) {
      const err = new SmtpConnectionError(`connection to ${this.remoteHost} is no longer usable: ${this.failure.message}`, {
        temporary: true,
        stage: 'mail',
        ...(this.failure.result ? { result: this.failure.result } : {}),
        cause: this.failure,
      });
      err.outcome = tx.failAll(err.result ?? localResult(451, '4.4.2', err.message), false);
      throw err;
    }
    this.busy = true;
    try {
      return await this.transaction(env, message, tx);
    } catch (e) {
      if (e instanceof SmtpConnectionError) e.outcome = tx.failAll(e.result ?? localResult(451, '4.4.2', e.message), false);
      else this.close(); // a bug or a local failure: the session state is unknown
      throw e;
    } finally {
      this.busy = false;
    }
  }

  private async transaction(env: OutboundEnvelope, message: Buffer | AsyncIterable<Buffer>, tx: Transaction): Promise<SendOutcome> {
    const addresses = [env.mailFrom, ...env.recipients.map((r) => r.address)];
    if (BAD_PATH_CHARS.test(env.mailFrom)) {
      return tx.failAll(localResult(553, '5.1.7', 'bad sender address syntax'), true);
    }
    // RFC 6531 3.4: a message that needs SMTPUTF8 cannot go to a server without it.
    const utf8 = env.smtputf8 === true || addresses.some((a) => NON_ASCII.test(a));
    if (utf8 && !this.extensions.has('SMTPUTF8')) {
      return tx.failAll(localResult(553, '5.6.7', `${this.remoteHost} does not support SMTPUTF8, which this message needs (RFC 6531)`), true);
    }
    // RFC 1870 4: a message over the announced SIZE would be refused anyway.
    const maxSize = Number((this.extensions.get('SIZE') ?? '').trim() || '0');
    if (this.extensions.has('SIZE') && Number.isSafeInteger(maxSize) && maxSize > 0 && env.size > maxSize) {
      return tx.failAll(localResult(552, '5.3.4', `message of ${env.size} octets exceeds the ${maxSize} octets ${this.remoteHost} accepts (RFC 1870)`), true);
    }
    for (const [i, r] of env.recipients.entries()) {
      if (BAD_PATH_CHARS.test(r.address) || r.address === '') tx.settle(i, localResult(553, '5.1.3', 'bad recipient address syntax'), false);
    }
    const sendable = env.recipients.map((r, i) => ({ r, i })).filter(({ i }) => !tx.isSettled(i));
    if (sendable.length === 0) return tx.outcome();

    const mail = this.mailCommand(env, utf8);
    const rcpts = sendable.map(({ r }) => this.rcptCommand(r, utf8));
    const t = this.timeouts;
    let accepted: number[] = [];
    let dataReply: ParsedReply | undefined;
    let mailReply: ParsedReply;
    if (this.extensions.has('PIPELINING')) {
      // RFC 2920 3.1: MAIL, the RCPTs and DATA as one group; DATA ends the group.
      this.writeCommands([mail, ...rcpts, 'DATA']);
      mailReply = await this.readReply('mail', t.mailFrom);
      for (const { i } of sendable) {
        const reply = await this.readReply('rcpt', t.rcptTo);
        if (isPositive(reply)) accepted.push(i);
        else tx.settle(i, toResult(reply), false);
      }
      dataReply = await this.readReply('data', t.dataInit);
    } else {
      mailReply = await this.command(mail, 'mail', t.mailFrom);
      if (isPositive(mailReply)) {
        for (const [k, { i }] of sendable.entries()) {
          const reply = await this.command(rcpts[k]!, 'rcpt', t.rcptTo);
          if (isPositive(reply)) accepted.push(i);
          else tx.settle(i, toResult(reply), false);
        }
        if (accepted.length > 0) dataReply = await this.command('DATA', 'data', t.dataInit);
      }
    }

    if (!isPositive(mailReply)) {
      // Every recipient gets the sender's refusal, not the 503s that followed it.
      accepted = [];
      for (const { i } of sendable) tx.settle(i, toResult(mailReply), true);
    }
    if (accepted.length === 0) {
      // RFC 2920 3.1: a server that still said 354 gets an empty message, which it must refuse.
      if (dataReply?.code === 354) {
        this.write(`.${CRLF}`);
        this.outstanding++;
        await this.readReply('dot', t.dataTermination);
      }
      await this.reset();
      return tx.outcome();
    }
    if (dataReply === undefined || dataReply.code !== 354) {
      const refusal = dataReply ? toResult(dataReply) : localResult(451, '4.3.0', 'no reply to DATA');
      for (const i of accepted) tx.settle(i, refusal, true);
      await this.reset();
      return { ...tx.outcome(), data: refusal };
    }

    await this.writeMessage(message);
    const final = await this.readReply('dot', t.dataTermination);
    const result = toResult(final);
    for (const i of accepted) tx.settle(i, result, true, isPositive(final));
    return { ...tx.outcome(), data: result };
  }

  /** RFC 5321 4.1.1.2 MAIL FROM with the parameters the server advertised. */
  private mailCommand(env: OutboundEnvelope, utf8: boolean): string {
    const ext = this.extensions;
    let cmd = `MAIL FROM:<${env.mailFrom}>`;
    if (ext.has('SIZE')) cmd += ` SIZE=${env.size}`; // RFC 1870 6
    if (env.eightBitMime && ext.has('8BITMIME')) cmd += ' BODY=8BITMIME'; // RFC 6152 2
    if (utf8) cmd += ' SMTPUTF8'; // RFC 6531 3.4
    if (ext.has('DSN')) {
      // RFC 3461 4.3, 4.4
      if (env.ret) cmd += ` RET=${env.ret}`;
      if (env.envid !== undefined && env.envid !== '') cmd += ` ENVID=${encodeXtext(env.envid)}`;
    }
    return cmd;
  }

  /** RFC 5321 4.1.1.3 RCPT TO; NOTIFY= and ORCPT= only with DSN (RFC 3461 4.1, 4.2). */
  private rcptCommand(r: OutboundEnvelope['recipients'][number], utf8: boolean): string {
    let cmd = `RCPT TO:<${r.address}>`;
    if (this.extensions.has('DSN')) {
      if (r.notify && r.notify.length > 0) cmd += ` NOTIFY=${r.notify.join(',')}`;
      if (r.orcpt !== undefined && r.orcpt !== '') {
        if (!NON_ASCII.test(r.orcpt)) cmd += ` ORCPT=rfc822;${encodeXtext(r.orcpt)}`;
        else if (utf8) cmd += ` ORCPT=utf-8;${encodeUtf8AddrUnitext(r.orcpt)}`; // RFC 6533 3
      }
    }
    return cmd;
  }

  /** The message, dot-stuffed, then CRLF.CRLF; waits for the socket to drain (data block timeout). */
  private async writeMessage(message: Buffer | AsyncIterable<Buffer>): Promise<void> {
    this.stage = 'message';
    const stuffer = new DotStuffer();
    const chunks: AsyncIterable<Buffer> | Buffer[] = Buffer.isBuffer(message) ? slices(message) : message;
    try {
      for await (const chunk of chunks) {
        const out = stuffer.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
        if (out.length > 0) await this.writeData(out);
      }
    } catch (e) {
      if (e instanceof SmtpConnectionError) throw e;
      // The message source failed mid-DATA: SMTP cannot take back what was sent, only drop the connection.
      throw this.fail(new SmtpConnectionError(`reading the message failed: ${(e as Error).message}`, { temporary: true, stage: 'message', cause: e }));
    }
    this.outstanding++;
    await this.writeData(stuffer.end());
  }

  private async writeData(bytes: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.socket.write(bytes)) return;
    await new Promise<void>((resolve, reject) => {
      const done = (err?: SmtpConnectionError): void => {
        clearTimeout(timer);
        this.socket.removeListener('drain', onDrain);
        this.socket.removeListener('close', onDrain);
        if (err) reject(err);
        else if (this.failure) reject(this.failure);
        else resolve();
      };
      const onDrain = (): void => done();
      const timer = setTimeout(
        () => done(this.fail(new SmtpConnectionError(`${this.remoteHost} took no data for ${this.timeouts.dataBlock} ms`, { temporary: true, stage: 'message' }))),
        this.timeouts.dataBlock,
      );
      this.socket.on('drain', onDrain);
      this.socket.on('close', onDrain);
    });
  }

  /**
   * RFC 5321 4.1.1.5 RSET: true when the server answered 2xx. Also the check
   * of an idle cached connection before reuse. Never throws: on a failure
   * the connection is closed (`usable` false) and the answer is false.
   */
  async rset(): Promise<boolean> {
    if (this.busy || this.failure) return false;
    this.busy = true;
    try {
      await this.reset();
      return this.failure === undefined;
    } finally {
      this.busy = false;
    }
  }

  /** RSET after a transaction that did not complete. A failure only ends the connection. */
  private async reset(): Promise<void> {
    try {
      const reply = await this.command('RSET', 'rset', this.timeouts.rset);
      if (!isPositive(reply)) this.fail(this.refused('rset', reply, true));
    } catch {
      // the connection is marked failed; the transaction's outcome stands
    }
  }

  /** RFC 5321 4.1.1.10: QUIT, wait for 221 up to the quit timeout, then close. */
  async quit(): Promise<void> {
    if (this.failure || this.busy) {
      this.close();
      return;
    }
    try {
      await this.command('QUIT', 'quit', this.timeouts.quit);
    } catch {
      // closing anyway
    }
    this.close();
  }

  /** Destroys the socket. */
  close(): void {
    this.fail(new SmtpConnectionError(`connection to ${this.remoteHost} closed by us`, { temporary: true, stage: this.stage }));
  }

  // --- reading and writing ----------------------------------------------------

  private attach(socket: Socket): void {
    socket.on('data', this.onData);
    socket.on('close', this.onClose);
    socket.on('error', this.onError);
  }

  private detach(socket: Socket): void {
    socket.removeListener('data', this.onData);
    socket.removeListener('close', this.onClose);
    socket.removeListener('error', this.onError);
  }

  private receive(chunk: Buffer): void {
    if (this.failure) return;
    this.reader.push(chunk);
    try {
      for (let reply = this.reader.next(); reply; reply = this.reader.next()) {
        if (this.received.length >= this.outstanding) {
          // Nothing asked: only a 421 may come unannounced (RFC 5321 3.8).
          this.fail(
            reply.code === 421
              ? this.refused(this.stage, reply, true)
              : new SmtpConnectionError(`${this.remoteHost} sent an unexpected reply: ${reply.code} ${reply.text}`, { temporary: true, stage: this.stage }),
          );
          return;
        }
        const w = this.waiter;
        if (w) {
          this.waiter = undefined;
          this.outstanding--;
          w.resolve(reply);
        } else {
          this.received.push(reply);
        }
      }
    } catch (e) {
      if (!(e instanceof MalformedReplyError)) throw e;
      this.fail(new SmtpConnectionError(`garbage from ${this.remoteHost} during ${this.stage}: ${e.message}`, { temporary: true, stage: this.stage, cause: e }));
    }
  }

  /** Ends the connection (once); wakes a waiting reader with the error. Returns the error that counts. */
  private fail(err: SmtpConnectionError): SmtpConnectionError {
    if (this.failure) return this.failure;
    this.failure = err;
    this.socket.destroy();
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(err);
    return err;
  }

  /**
   * The next reply, within `timeoutMs`. A 421 ends the connection (RFC 5321
   * 3.8): it is thrown as SmtpConnectionError with the reply as `result`.
   */
  private async readReply(stage: SmtpStage, timeoutMs: number): Promise<ParsedReply> {
    this.stage = stage;
    let reply = this.received.shift();
    if (reply) {
      this.outstanding--;
    } else {
      if (this.failure) throw this.failure;
      if (this.waiter) throw new Error('SmtpClient: two readers');
      reply = await new Promise<ParsedReply>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.fail(new SmtpConnectionError(`no reply from ${this.remoteHost} within ${timeoutMs} ms during ${stage}`, { temporary: true, stage }));
        }, timeoutMs);
        this.waiter = {
          resolve: (r) => {
            clearTimeout(timer);
            resolve(r);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        };
      });
    }
    if (reply.code === 421) throw this.fail(this.refused(stage, reply, true));
    return reply;
  }

  private write(text: string): void {
    if (this.failure) throw this.failure;
    this.socket.write(text);
  }

  private writeCommands(lines: string[]): void {
    this.write(lines.map((l) => l + CRLF).join(''));
    this.outstanding += lines.length;
  }

  private async command(line: string, stage: SmtpStage, timeoutMs: number): Promise<ParsedReply> {
    this.stage = stage;
    this.writeCommands([line]);
    return this.readReply(stage, timeoutMs);
  }

  /** An error for a refusing reply. The command is not quoted: it may hold credentials. */
  private refused(stage: SmtpStage, reply: ParsedReply, temporary: boolean): SmtpConnectionError {
    return new SmtpConnectionError(`${this.remoteHost} replied to ${stage}: ${reply.code} ${reply.text}`, {
      temporary: temporary || reply.code < 500,
      stage,
      result: toResult(reply),
    });
  }
}

/** The defaults with the caller's values; an undefined or invalid value keeps the default. */
function mergeTimeouts(given: Partial<SmtpTimeouts> | undefined): SmtpTimeouts {
  const out = { ...DEFAULT_SMTP_TIMEOUTS };
  for (const key of Object.keys(out) as (keyof SmtpTimeouts)[]) {
    const v = given?.[key];
    if (typeof v === 'number' && Number.isFinite(v) && v > 0) out[key] = v;
  }
  return out;
}

/** A message in memory, in pieces, so that each data block timeout covers a bounded amount. */
function slices(message: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < message.length; at += WRITE_SLICE) out.push(message.subarray(at, at + WRITE_SLICE));
  return out;
}

function openSocket(opts: SmtpClientOptions, timeoutMs: number): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    const socket = netConnect({ host: opts.host, port: opts.port, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
    const where = `[${opts.host}]:${opts.port}`;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new SmtpConnectionError(`connect to ${where} timed out after ${timeoutMs} ms`, { temporary: true, stage: 'connect' }));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new SmtpConnectionError(`connect to ${where} failed: ${err.message}`, { temporary: true, stage: 'connect', cause: err }));
    });
  });
}

/** Per-recipient results of one `send`, in the caller's order. */
class Transaction {
  private readonly results: (RecipientOutcome | undefined)[];

  constructor(private readonly addresses: string[]) {
    this.results = addresses.map(() => undefined);
  }

  isSettled(i: number): boolean {
    return this.results[i] !== undefined;
  }

  /** Records recipient `i`'s result unless it has one (`force` replaces it: MAIL refused, DATA decided). */
  settle(i: number, result: SmtpResult, force: boolean, accepted = false): void {
    if (this.results[i] && !force) return;
    this.results[i] = { address: this.addresses[i]!, result, permanent: result.code >= 500, accepted };
  }

  /** Every recipient without a result gets `result` (all of them when `force`). */
  failAll(result: SmtpResult, force: boolean): SendOutcome {
    for (let i = 0; i < this.addresses.length; i++) {
      if (force || !this.results[i] || this.results[i]!.accepted) this.settle(i, result, true);
    }
    return this.outcome();
  }

  outcome(): SendOutcome {
    return {
      recipients: this.addresses.map(
        (address, i) => this.results[i] ?? { address, result: localResult(451, '4.3.0', 'no result'), permanent: false, accepted: false },
      ),
    };
  }
}
