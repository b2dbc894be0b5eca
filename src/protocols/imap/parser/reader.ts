/**
 * The IMAP command reader: framing only, no grammar (RFC 9051 2.2, 4.3, 7.5).
 * A push parser with no I/O, used like src/wire/line-splitter.ts:
 *
 *     reader.push(chunk);
 *     for (let item = reader.next(); item; item = reader.next()) {
 *       switch (item.kind) {
 *         case 'command':     parseCommand(item.command, opts) ... reply
 *         case 'literal':     decide: reader.accept() (and send "+ Ready" if item.literal.sync)
 *                             or reader.reject() (and send the tagged NO/BAD)
 *         case 'literalData': write item.chunk to the APPEND sink (await it: the socket stays paused)
 *         case 'literalEnd':  close that sink
 *         case 'line':        the raw line asked for with expectLine() (AUTHENTICATE, IDLE's DONE)
 *         case 'error':       `${tag ?? '*'} BAD ...`; close after BYE when error.fatal
 *       }
 *     }
 *
 * Items are pulled, so the reader never looks past the item it returned: the
 * session can stop after any command (STARTTLS: drain() and drop the rest).
 * Call next() until it returns null before pushing more, and pause the socket
 * meanwhile; then memory stays bounded by the limits below.
 *
 * Literals. A line ending in `{n}`, `{n+}`, `~{n}` or `~{n+}` announces a
 * literal. The reader checks the announcement against the limits BEFORE any
 * literal byte is read, and reports either an error (over a limit) or a
 * `literal` item, which the session must answer with accept() or reject()
 * before calling next() again:
 *
 *  - synchronizing `{n}` (RFC 9051 7.5): the client waits. accept() means the
 *    session sends `+ Ready`; reject() means it sends the tagged NO/BAD, and
 *    the client sends nothing more of the command. Over a limit: the error
 *    item is that refusal, no `+` is ever sent.
 *  - non-synchronizing `{n+}` (RFC 7888): the bytes are already on their way.
 *    With LITERAL- (the default; IMAP4rev2 includes it, RFC 9051 4.3) `{n+}`
 *    over 4096 octets is answered `BAD [TOOBIG]` (RFC 7888 5). A refused or
 *    over-limit non-synchronizing literal is skipped without being kept, and
 *    so is the rest of its command (further `{n+}` literals included), up to
 *    `maxDiscardBytes` in all; a literal that would exceed that is not read:
 *    the error is fatal and the session closes the connection (RFC 7888 4
 *    allows either). Either way the reply goes out as soon as the
 *    announcement is seen.
 *
 * Roles (command-head.ts): APPEND message data is `message`: up to
 * `maxMessageLiteral` (APPENDLIMIT; over it `NO [TOOBIG]`, RFC 7889 3) and
 * streamed as `literalData` chunks that are slices of the pushed buffers, never
 * copied or kept; the command then holds a `streamed` placeholder. Every other
 * literal is a `string`: up to `maxStringLiteral`, copied into the command.
 *
 * Lines. CRLF ends a line; a bare LF is accepted too. A line piece longer than
 * `maxLineBytes` (line ending included, literals excluded), or a command whose
 * text plus buffered literals exceed `maxCommandBytes`, is reported as soon as
 * the limit is crossed; the rest of the command is then skipped as above.
 */
import { tagOf } from './chars.ts';
import { commandHeadOf, literalRole, type CommandHead, type LiteralRole } from './command-head.ts';
import { ParseError } from './errors.ts';
import { literalAnnouncementAt, type CommandPiece, type LiteralAnnouncement, type RawCommand } from './raw-command.ts';
import { checkLimits, LITERAL_MINUS_MAX, type ReaderLimits } from './reader-limits.ts';
import { LineTail } from './line-tail.ts';

export { DEFAULT_READER_LIMITS, LITERAL_MINUS_MAX, type ReaderLimits } from './reader-limits.ts';

const LF = 0x0a;
const CR = 0x0d;

/** A literal announcement within the limits, waiting for accept() or reject(). */
export interface LiteralRequest {
  readonly tag: string | null;
  /** Upper-case command name (`APPEND`, `UID SEARCH`), or null when unreadable. */
  readonly command: string | null;
  readonly size: number;
  /** `{n}`: the client waits for `+` (accept) or the tagged response (reject). */
  readonly sync: boolean;
  /** literal8 `~{n}` (RFC 3516 4.2). */
  readonly binary: boolean;
  readonly role: LiteralRole;
  /** The command so far (ends with the text before this literal): APPEND's mailbox can be checked first. */
  readonly partial: RawCommand;
}

export type ReaderItem =
  | { readonly kind: 'command'; readonly command: RawCommand }
  | { readonly kind: 'literal'; readonly literal: LiteralRequest }
  | { readonly kind: 'literalData'; readonly chunk: Buffer }
  | { readonly kind: 'literalEnd' }
  | { readonly kind: 'line'; readonly line: Buffer }
  | { readonly kind: 'error'; readonly error: ParseError };

type State =
  | 'line' // reading a line piece
  | 'decision' // a literal was announced: accept() or reject()
  | 'literalBuffer' // copying an accepted string literal
  | 'literalStream' // handing out an accepted message literal
  | 'literalEnd' // a streamed literal is complete: report it
  | 'skipLiteral' // dropping the bytes of a refused non-synchronizing literal
  | 'skipLine' // dropping the rest of a refused command's line
  | 'dead'; // fatal error: nothing more is read

interface CommandState {
  readonly head: CommandHead;
  readonly pieces: CommandPiece[];
  /** Octets counted against maxCommandBytes. */
  bytes: number;
  /** Octets copied and held in pieces. */
  held: number;
  literals: number;
  streamed: number;
}

interface LiteralState {
  readonly size: number;
  readonly sync: boolean;
  readonly binary: boolean;
  readonly role: LiteralRole;
  remaining: number;
  data: Buffer | null;
  containsNul: boolean;
}

const LITERAL_END: ReaderItem = { kind: 'literalEnd' };
const EMPTY = Buffer.alloc(0);
/** A partial-line buffer larger than this is dropped once its line is complete. */
const SMALL_CARRY = 4096;

export class CommandReader {
  private lim: ReaderLimits;
  private queue: Buffer[] = [];
  private offset = 0;
  private carry: Buffer = EMPTY;
  private carryLen = 0;
  private state: State = 'line';
  private rawLine = false;
  private cmd: CommandState | null = null;
  private lit: LiteralState | null = null;
  private skipRemaining = 0;
  private skipBudget = 0;
  private skipRaw = false;
  /** The end of the line being skipped: does it announce a literal? */
  private readonly tail = new LineTail();

  constructor(limits: Partial<ReaderLimits> = {}) {
    this.lim = checkLimits(limits);
  }

  get limits(): ReaderLimits {
    return this.lim;
  }

  /** Changes limits from the next announcement or line on (APPENDLIMIT per user, for instance). */
  configure(limits: Partial<ReaderLimits>): void {
    this.lim = checkLimits(limits, this.lim);
  }

  /** Queues bytes (referenced, not copied: do not modify them afterwards). Nothing is parsed until next(). */
  push(chunk: Buffer): void {
    if (chunk.length > 0 && this.state !== 'dead') this.queue.push(chunk);
  }

  /** The next item, or null when more bytes are needed (or after a fatal error). */
  next(): ReaderItem | null {
    for (;;) {
      if (this.state === 'dead') return null;
      if (this.state === 'decision') throw new Error('CommandReader: accept() or reject() the announced literal first');
      if (this.state === 'literalEnd') {
        this.state = 'line';
        return LITERAL_END;
      }
      const buf = this.queue[0];
      if (!buf) return null;
      let item: ReaderItem | null;
      switch (this.state) {
        case 'line':
          item = this.readLine(buf);
          break;
        case 'literalBuffer':
          item = this.fillLiteral(buf);
          break;
        case 'literalStream':
          item = this.streamLiteral(buf);
          break;
        case 'skipLiteral':
          item = this.skipLiteral(buf);
          break;
        case 'skipLine':
          item = this.skipLine(buf);
          break;
      }
      if (item) return item;
    }
  }

  /** True between a `literal` item and accept()/reject(). */
  get awaitingDecision(): boolean {
    return this.state === 'decision';
  }

  /** Takes the announced literal: the session sends `+ Ready` if it was synchronizing. */
  accept(): void {
    const lit = this.pendingLiteral('accept');
    const cmd = this.cmd!;
    if (lit.role === 'string') {
      cmd.bytes += lit.size;
      lit.data = Buffer.allocUnsafe(lit.size);
      this.state = 'literalBuffer';
      if (lit.size === 0) this.endBufferedLiteral(cmd, lit);
    } else {
      this.state = 'literalStream';
      if (lit.size === 0) this.endStreamedLiteral(cmd, lit);
    }
  }

  /**
   * Refuses the announced literal; the session sends the tagged NO or BAD. A
   * synchronizing literal is then never sent; a non-synchronizing one and the
   * rest of its command are skipped.
   */
  reject(): void {
    const lit = this.pendingLiteral('reject');
    this.cmd = null;
    this.lit = null;
    if (lit.sync) this.state = 'line';
    else this.startSkip(lit.size, Math.max(0, this.lim.maxDiscardBytes - lit.size));
  }

  /**
   * The next line is returned whole as a `line` item, not read as a command:
   * an AUTHENTICATE response (RFC 9051 6.2.2) or IDLE's DONE (RFC 9051 6.3.13).
   * Only between commands.
   */
  expectLine(): void {
    if (this.state !== 'line' || this.cmd) throw new Error('CommandReader.expectLine(): a command is in progress');
    this.rawLine = true;
  }

  /**
   * Takes every byte no returned item covers (the held partial line, then the
   * queue) and resets the reader: after STARTTLS the session drops them (RFC
   * 9051 6.2.1: nothing sent before the TLS handshake may be acted upon).
   */
  drain(): Buffer {
    const pieces: Buffer[] = [];
    if (this.carryLen > 0) pieces.push(Buffer.from(this.carry.subarray(0, this.carryLen)));
    const [first, ...rest] = this.queue;
    if (first) pieces.push(first.subarray(this.offset), ...rest);
    this.queue = [];
    this.offset = 0;
    this.carryLen = 0;
    this.cmd = null;
    this.lit = null;
    this.rawLine = false;
    if (this.state !== 'dead') this.state = 'line';
    return Buffer.concat(pieces);
  }

  /** Octets copied and held by the reader: the partial line, the command's pieces, a string literal being read. */
  get bufferedBytes(): number {
    return this.carryLen + (this.cmd?.held ?? 0) + (this.lit?.data?.length ?? 0);
  }

  /** Octets pushed and not consumed yet (referenced, not copied). */
  get pendingBytes(): number {
    let n = 0 - this.offset;
    for (const b of this.queue) n += b.length;
    return n;
  }

  // --- lines -----------------------------------------------------------

  private readLine(buf: Buffer): ReaderItem | null {
    const start = this.offset;
    const lineRoom = this.lim.maxLineBytes - this.carryLen;
    const budgetRoom = this.rawLine ? lineRoom : this.lim.maxCommandBytes - (this.cmd?.bytes ?? 0) - this.carryLen;
    const room = Math.min(lineRoom, budgetRoom);
    const end = Math.min(buf.length, start + Math.max(room, 0));
    const lf = buf.indexOf(LF, start);
    if (lf >= 0 && lf < end) {
      const length = this.carryLen + lf - start;
      const line = Buffer.allocUnsafe(length);
      this.carry.copy(line, 0, 0, this.carryLen);
      buf.copy(line, this.carryLen, start, lf);
      this.carryLen = 0;
      if (this.carry.length > SMALL_CARRY) this.carry = EMPTY; // do not keep a long line's buffer per connection
      this.advance(buf, lf + 1);
      return this.completeLine(line, length + 1);
    }
    if (buf.length - start >= room) return this.lineOverflow(buf, start, Math.max(room, 0), room < lineRoom);
    this.appendCarry(buf, start, buf.length);
    this.dropHead();
    return null;
  }

  private completeLine(raw: Buffer, rawLength: number): ReaderItem | null {
    const line = raw.length > 0 && raw[raw.length - 1] === CR ? raw.subarray(0, raw.length - 1) : raw;
    if (this.rawLine) {
      this.rawLine = false;
      return { kind: 'line', line };
    }
    const ann = literalAnnouncementAt(line);
    const cmd = (this.cmd ??= newCommand(ann ? line.subarray(0, ann.start) : line));
    cmd.bytes += rawLength;
    if (!ann) {
      cmd.pieces.push({ kind: 'text', bytes: line });
      cmd.held += line.length;
      this.cmd = null;
      return { kind: 'command', command: { tag: cmd.head.tag, pieces: cmd.pieces } };
    }
    const text = line.subarray(0, ann.start);
    cmd.pieces.push({ kind: 'text', bytes: text });
    cmd.held += line.length;
    const role = literalRole(cmd.head, cmd.literals, text.length);
    cmd.literals++;
    const refusal = this.checkLiteral(cmd, ann, role);
    if (refusal) return this.refuse(refusal, ann);
    this.lit = { size: ann.size, sync: ann.sync, binary: ann.binary, role, remaining: ann.size, data: null, containsNul: false };
    this.state = 'decision';
    const literal: LiteralRequest = {
      tag: cmd.head.tag,
      command: cmd.head.name,
      size: ann.size,
      sync: ann.sync,
      binary: ann.binary,
      role,
      partial: { tag: cmd.head.tag, pieces: cmd.pieces.slice() },
    };
    return { kind: 'literal', literal };
  }

  /** The limits a literal announcement must meet, checked before any of its bytes is read. */
  private checkLiteral(cmd: CommandState, ann: LiteralAnnouncement, role: LiteralRole): ParseError | null {
    const tag = cmd.head.tag;
    if (cmd.literals > this.lim.maxLiterals) return new ParseError(tag, 'Too many literals in one command', 'BAD', 'TOOBIG');
    if (!ann.sync && this.lim.nonSyncLiterals === 'LITERAL-' && ann.size > LITERAL_MINUS_MAX) {
      return new ParseError(tag, `Non-synchronizing literal over ${LITERAL_MINUS_MAX} octets (LITERAL-)`, 'BAD', 'TOOBIG');
    }
    if (role === 'message') {
      if (ann.size > this.lim.maxMessageLiteral) {
        return new ParseError(tag, `Message too large (APPENDLIMIT=${this.lim.maxMessageLiteral})`, 'NO', 'TOOBIG');
      }
      return null;
    }
    if (ann.size > this.lim.maxStringLiteral || cmd.bytes + ann.size > this.lim.maxCommandBytes) {
      return new ParseError(tag, 'Literal too large', 'BAD', 'TOOBIG');
    }
    return null;
  }

  /** An announced literal is refused: report it, and skip its bytes if they are coming anyway. */
  private refuse(error: ParseError, ann: LiteralAnnouncement): ReaderItem {
    this.cmd = null;
    if (ann.sync) {
      this.state = 'line';
      return { kind: 'error', error };
    }
    if (ann.size > this.lim.maxDiscardBytes) return this.die(error);
    this.startSkip(ann.size, this.lim.maxDiscardBytes - ann.size);
    return { kind: 'error', error };
  }

  /** A line piece or the command crossed its limit before its LF: report now, skip the rest. */
  private lineOverflow(buf: Buffer, start: number, room: number, commandBudget: boolean): ReaderItem {
    let tag = this.cmd?.head.tag;
    if (tag === undefined) {
      // The first 1024 octets of the line (all there whatever the chunks: the line is longer): a tag ends in them or is not used.
      const head = Buffer.concat([this.carry.subarray(0, Math.min(this.carryLen, 1024)), buf.subarray(start, start + Math.min(room, 1024))]).subarray(0, 1024);
      tag = head.includes(0x20) ? tagOf(head) : null;
    }
    this.tail.reset();
    this.tail.push(this.carry.subarray(0, this.carryLen));
    this.tail.push(buf.subarray(start, start + room));
    this.carryLen = 0;
    this.advance(buf, start + room);
    const raw = this.rawLine;
    this.rawLine = false;
    this.cmd = null;
    this.skipRaw = raw;
    this.skipBudget = this.lim.maxDiscardBytes;
    this.state = 'skipLine';
    const reason = commandBudget ? 'Command too long' : 'Line too long';
    return { kind: 'error', error: new ParseError(raw ? null : tag, reason, 'BAD', commandBudget ? 'TOOBIG' : null) };
  }

  // --- literals ----------------------------------------------------------

  private fillLiteral(buf: Buffer): ReaderItem | null {
    const lit = this.lit!;
    const n = Math.min(lit.remaining, buf.length - this.offset);
    buf.copy(lit.data!, lit.size - lit.remaining, this.offset, this.offset + n);
    lit.remaining -= n;
    this.advance(buf, this.offset + n);
    if (lit.remaining === 0) this.endBufferedLiteral(this.cmd!, lit);
    return null;
  }

  private endBufferedLiteral(cmd: CommandState, lit: LiteralState): void {
    cmd.pieces.push({ kind: 'literal', data: lit.data!, binary: lit.binary });
    cmd.held += lit.size;
    this.lit = null;
    this.state = 'line';
  }

  private streamLiteral(buf: Buffer): ReaderItem {
    const lit = this.lit!;
    const n = Math.min(lit.remaining, buf.length - this.offset);
    const chunk = buf.subarray(this.offset, this.offset + n);
    if (!lit.containsNul && chunk.includes(0)) lit.containsNul = true;
    lit.remaining -= n;
    this.advance(buf, this.offset + n);
    if (lit.remaining === 0) this.endStreamedLiteral(this.cmd!, lit);
    return { kind: 'literalData', chunk };
  }

  private endStreamedLiteral(cmd: CommandState, lit: LiteralState): void {
    cmd.pieces.push({ kind: 'streamed', ordinal: cmd.streamed++, size: lit.size, binary: lit.binary, containsNul: lit.containsNul });
    this.lit = null;
    this.state = 'literalEnd';
  }

  private pendingLiteral(what: string): LiteralState {
    if (this.state !== 'decision' || !this.lit) throw new Error(`CommandReader.${what}(): no literal is waiting`);
    return this.lit;
  }

  // --- skipping the rest of a refused command --------------------------

  private startSkip(size: number, budget: number): void {
    this.skipRemaining = size;
    this.skipBudget = budget;
    this.skipRaw = false;
    this.state = size > 0 ? 'skipLiteral' : 'skipLine';
    this.tail.reset();
  }

  private skipLiteral(buf: Buffer): null {
    const n = Math.min(this.skipRemaining, buf.length - this.offset);
    this.skipRemaining -= n;
    this.advance(buf, this.offset + n);
    if (this.skipRemaining === 0) this.state = 'skipLine';
    return null;
  }

  private skipLine(buf: Buffer): ReaderItem | null {
    const lf = buf.indexOf(LF, this.offset);
    if (lf < 0) {
      this.tail.push(buf.subarray(this.offset));
      this.dropHead();
      return null;
    }
    this.tail.push(buf.subarray(this.offset, lf));
    this.advance(buf, lf + 1);
    const ann = this.skipRaw ? null : this.tail.announcement();
    this.tail.reset();
    // No literal, or a synchronizing one the client will not send (it has its tagged reply): the command is over.
    if (!ann || ann.sync) {
      this.state = 'line';
      return null;
    }
    if (ann.size > this.skipBudget) return this.die(new ParseError(null, 'Literal too large to skip', 'BAD', 'TOOBIG'));
    this.startSkip(ann.size, this.skipBudget - ann.size);
    return null;
  }

  /** A fatal error: nothing more is read; the session sends BYE and closes. */
  private die(error: ParseError): ReaderItem {
    this.state = 'dead';
    this.queue = [];
    this.offset = 0;
    this.carryLen = 0;
    this.cmd = null;
    this.lit = null;
    return { kind: 'error', error: new ParseError(error.tag, error.reason, error.status, error.code, true) };
  }

  // --- buffers ---------------------------------------------------------

  private appendCarry(buf: Buffer, from: number, to: number): void {
    const need = this.carryLen + to - from;
    if (need > this.carry.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, Math.min(Math.max(this.carry.length * 2, 256), this.lim.maxLineBytes)));
      this.carry.copy(grown, 0, 0, this.carryLen);
      this.carry = grown;
    }
    buf.copy(this.carry, this.carryLen, from, to);
    this.carryLen = need;
  }

  private advance(buf: Buffer, to: number): void {
    if (to >= buf.length) this.dropHead();
    else this.offset = to;
  }

  private dropHead(): void {
    this.queue.shift();
    this.offset = 0;
  }
}

/** A command starts with its first line (the text before any literal). */
function newCommand(firstText: Buffer): CommandState {
  return { head: commandHeadOf(firstText), pieces: [], bytes: 0, held: 0, literals: 0, streamed: 0 };
}
