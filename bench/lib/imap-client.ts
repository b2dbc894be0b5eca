/**
 * A minimal raw IMAP client for benchmarks: one TCP connection, no TLS,
 * tagged commands (several may be in flight), literals in both directions
 * (synchronizing, or LITERAL+ when the caller says the server offers it),
 * untagged responses handed to the command they arrived under. It keeps
 * almost nothing per idle connection (no timers, no buffers), so one process
 * can hold 10,000 of them. Nagle is off: lock-step sessions are not slowed
 * down by delayed ACKs.
 *
 * A response is its text with each literal left in place as `{n}` and the
 * literal bytes apart, in order. Nothing else is parsed: the helpers below
 * pick out what the benchmark needs (SEARCH results, FETCH counts, response
 * codes, EXISTS).
 */
import { connectTcp, SocketClient, type TcpConnectOptions } from './socket-client.ts';

export type ImapStatus = 'OK' | 'NO' | 'BAD';

export interface ImapResponse {
  /** The response text, CRLF removed, literals left as `{n}` (latin1). */
  text: string;
  /** The literal bytes of the response, in order. */
  literals: Buffer[];
}

export interface TaggedResult {
  status: ImapStatus;
  /** The text after the status word: `[APPENDUID 38505 3955] APPEND completed`. */
  text: string;
  /** The bracketed response code without its brackets, if any. */
  code: string | undefined;
  /** Untagged responses that arrived while this command was the oldest one in flight. */
  untagged: ImapResponse[];
  /** Bytes of literal data received with this command. */
  literalBytes: number;
}

export class ImapError extends Error {}

/** A command part: text is sent as is; a Buffer is sent as a literal. */
export type CommandPart = string | Buffer;

export type ConnectOptions = TcpConnectOptions;

interface Pending {
  tag: string;
  resolve: (r: TaggedResult) => void;
  reject: (e: Error) => void;
  untagged: ImapResponse[];
  literalBytes: number;
  timer: NodeJS.Timeout | undefined;
}

const LITERAL_AT_END = /\{(\d+)\+?\}$/;
const MAX_LINE = 16 * 1024 * 1024;

export class ImapClient extends SocketClient {
  /** Capabilities seen so far (greeting, CAPABILITY responses and codes), upper case. */
  capabilities = new Set<string>();
  /** Called for every untagged response (after it is filed with its command). */
  onUntagged: ((r: ImapResponse) => void) | undefined;
  /** The text of an untagged BYE, if the server sent one. */
  bye: string | undefined;

  private seq = 0;
  private readonly inFlight: Pending[] = [];
  private greetingWaiter: ((r: ImapResponse) => void) | undefined;
  /** The command waiting to send a synchronizing literal: true = go on, false = it was refused. */
  private continuationWaiter: { tag: string; resolve: (go: boolean) => void } | undefined;

  // Parser state: a partial line, the text of the current response so far, its literals.
  private partial: Buffer | undefined;
  private text = '';
  private literals: Buffer[] = [];
  private literalLeft = 0;
  private literalChunks: Buffer[] = [];

  /** Connects and reads the greeting (`* OK` or `* PREAUTH`; `* BYE` is an error). */
  static async connect(opts: ConnectOptions): Promise<ImapClient> {
    const socket = await connectTcp(opts, (message) => new ImapError(message));
    const client = new ImapClient(socket, opts.timeoutMs);
    try {
      const greeting = await new Promise<ImapResponse>((resolve, reject) => {
        const timer = setTimeout(() => reject(new ImapError(`no greeting within ${opts.timeoutMs} ms`)), opts.timeoutMs);
        client.greetingWaiter = (r) => {
          clearTimeout(timer);
          resolve(r);
        };
        socket.once('close', () => {
          clearTimeout(timer);
          reject(client.failure ?? new ImapError('connection closed before the greeting'));
        });
      });
      if (!/^\* (OK|PREAUTH)\b/i.test(greeting.text)) throw new ImapError(`greeting: ${greeting.text}`);
      return client;
    } catch (err) {
      client.destroy();
      throw err;
    }
  }

  /** Why the connection broke, if it did. */
  get error(): Error | undefined {
    return this.failure;
  }

  /**
   * Sends one command (the tag is added) and resolves with its tagged reply;
   * NO and BAD resolve too. Buffers among the parts are literals:
   * `{n+}` with `literalPlus`, else `{n}` and a wait for the continuation.
   * Rejects when the connection breaks or nothing completes the command in
   * time (the connection is then closed).
   */
  command(parts: CommandPart | readonly CommandPart[], opts: { literalPlus?: boolean } = {}): Promise<TaggedResult> {
    if (this.failure) return Promise.reject(this.failure);
    const tag = `A${(++this.seq).toString(36)}`;
    const list = Array.isArray(parts) ? (parts as readonly CommandPart[]) : [parts as CommandPart];
    const result = new Promise<TaggedResult>((resolve, reject) => {
      const p: Pending = { tag, resolve, reject, untagged: [], literalBytes: 0, timer: undefined };
      p.timer = setTimeout(() => this.timeout(p), this.timeoutMs);
      this.inFlight.push(p);
    });
    void this.send(tag, list, opts.literalPlus ?? false).catch((err: unknown) => this.fail(err instanceof Error ? err : new ImapError(String(err))));
    return result;
  }

  /** LOGIN with quoted strings. */
  login(user: string, password: string): Promise<TaggedResult> {
    return this.command(`LOGIN ${quote(user)} ${quote(password)}`);
  }

  /** LOGOUT, then close; errors are ignored (the benchmark is over). */
  logout(): Promise<void> {
    return this.closePolitely(() => this.command('LOGOUT'));
  }

  protected override makeError(message: string): Error {
    return new ImapError(message);
  }

  protected override closedText(): string {
    return this.bye ? `connection closed by the server: BYE ${this.bye}` : 'connection closed by the server';
  }

  private async send(tag: string, parts: readonly CommandPart[], literalPlus: boolean): Promise<void> {
    let text = `${tag} `;
    for (const part of parts) {
      if (typeof part === 'string') {
        text += part;
        continue;
      }
      if (literalPlus) {
        this.socket.write(`${text}{${part.length}+}\r\n`);
        this.socket.write(part);
      } else {
        if (this.continuationWaiter) throw new ImapError('two synchronizing literals in flight');
        this.socket.write(`${text}{${part.length}}\r\n`);
        const go = await new Promise<boolean>((resolve) => (this.continuationWaiter = { tag, resolve }));
        if (!go || this.failure) return; // refused (the tagged reply is in) or broken
        this.socket.write(part);
      }
      text = '';
    }
    this.socket.write(`${text}\r\n`);
  }

  private timeout(p: Pending): void {
    p.timer = undefined;
    this.fail(new ImapError(`no tagged reply to ${p.tag} within ${this.timeoutMs} ms`));
    this.socket.destroy();
  }

  protected override onData(chunk: Buffer): void {
    let buf = chunk;
    let pos = 0;
    if (this.partial) {
      buf = Buffer.concat([this.partial, chunk]);
      this.partial = undefined;
    }
    while (pos < buf.length) {
      if (this.literalLeft > 0) {
        const take = Math.min(this.literalLeft, buf.length - pos);
        this.literalChunks.push(buf.subarray(pos, pos + take));
        pos += take;
        this.literalLeft -= take;
        if (this.literalLeft === 0) {
          const parts = this.literalChunks;
          this.literals.push(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
          this.literalChunks = [];
        }
        continue;
      }
      const eol = buf.indexOf(10, pos);
      if (eol < 0) {
        if (buf.length - pos > MAX_LINE) {
          this.fail(new ImapError('response line too long'));
          this.socket.destroy();
          return;
        }
        this.partial = Buffer.from(buf.subarray(pos)); // a copy: the chunk itself may be large
        return;
      }
      const end = eol > pos && buf[eol - 1] === 13 ? eol - 1 : eol;
      const segment = buf.toString('latin1', pos, end);
      pos = eol + 1;
      this.text += segment;
      const m = LITERAL_AT_END.exec(segment);
      if (m) {
        this.literalLeft = Number(m[1]);
        if (this.literalLeft === 0) this.literals.push(Buffer.alloc(0));
        continue;
      }
      const response: ImapResponse = { text: this.text, literals: this.literals };
      this.text = '';
      this.literals = [];
      this.dispatch(response);
    }
  }

  private dispatch(r: ImapResponse): void {
    const t = r.text;
    if (this.greetingWaiter) {
      const w = this.greetingWaiter;
      this.greetingWaiter = undefined;
      this.noteCapabilities(t);
      w(r);
      return;
    }
    if (t.startsWith('+')) {
      const w = this.continuationWaiter;
      this.continuationWaiter = undefined;
      w?.resolve(true);
      return;
    }
    if (t.startsWith('* ')) {
      if (/^\* BYE\b/i.test(t)) this.bye = t.slice(6);
      this.noteCapabilities(t);
      const p = this.inFlight[0];
      if (p) {
        p.untagged.push(r);
        for (const l of r.literals) p.literalBytes += l.length;
      }
      this.onUntagged?.(r);
      return;
    }
    const sp = t.indexOf(' ');
    const tag = sp < 0 ? t : t.slice(0, sp);
    const i = this.inFlight.findIndex((p) => p.tag === tag);
    if (i < 0) return; // not ours: ignore
    const p = this.inFlight.splice(i, 1)[0]!;
    if (p.timer) clearTimeout(p.timer);
    const rest = sp < 0 ? '' : t.slice(sp + 1);
    const sp2 = rest.indexOf(' ');
    const word = (sp2 < 0 ? rest : rest.slice(0, sp2)).toUpperCase();
    const status: ImapStatus = word === 'OK' || word === 'NO' ? word : 'BAD';
    const text = sp2 < 0 ? '' : rest.slice(sp2 + 1);
    this.noteCapabilities(text);
    // The server refused a synchronizing literal of this command: send no more of it.
    if (this.continuationWaiter?.tag === tag) {
      const w = this.continuationWaiter;
      this.continuationWaiter = undefined;
      w.resolve(false);
    }
    p.resolve({ status, text, code: responseCode(text), untagged: p.untagged, literalBytes: p.literalBytes });
  }

  private noteCapabilities(text: string): void {
    const m = /(?:^\* CAPABILITY |\[CAPABILITY )([^\]]*)/i.exec(text);
    if (!m) return;
    this.capabilities = new Set(m[1]!.trim().toUpperCase().split(/\s+/));
  }

  protected override fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    for (const p of this.inFlight.splice(0)) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(err);
    }
    const w = this.continuationWaiter;
    this.continuationWaiter = undefined;
    w?.resolve(false);
  }
}

/** An IMAP quoted string (for text without CR/LF). */
export function quote(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** The bracketed response code at the start of a status text, without brackets. */
export function responseCode(text: string): string | undefined {
  if (!text.startsWith('[')) return undefined;
  const end = text.indexOf(']');
  return end < 0 ? undefined : text.slice(1, end);
}

/** Numbers of the `* SEARCH` responses (ESEARCH ALL ranges too). */
export function searchResults(untagged: readonly ImapResponse[]): number[] {
  const out: number[] = [];
  for (const r of untagged) {
    const m = /^\* SEARCH\b(.*)$/i.exec(r.text);
    if (m) {
      for (const w of m[1]!.trim().split(/\s+/)) if (/^\d+$/.test(w)) out.push(Number(w));
      continue;
    }
    const e = /^\* ESEARCH\b.*?\bALL ([\d:,]+)/i.exec(r.text);
    if (e) {
      for (const range of e[1]!.split(',')) {
        const [a, b] = range.split(':').map(Number) as [number, number | undefined];
        for (let x = a; x <= (b ?? a); x++) out.push(x);
      }
    }
  }
  return out;
}

/** The untagged FETCH responses. */
export function fetchResponses(untagged: readonly ImapResponse[]): ImapResponse[] {
  return untagged.filter((r) => /^\* \d+ FETCH\b/i.test(r.text));
}

/** `* n EXISTS`, if this response is one. */
export function existsCount(r: ImapResponse): number | undefined {
  const m = /^\* (\d+) EXISTS\b/i.exec(r.text);
  return m ? Number(m[1]) : undefined;
}
