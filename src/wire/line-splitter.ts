/**
 * Command-line splitter for SMTP/LMTP (RFC 5321 2.3.8, 4.1.1; RFC 2033): a
 * push parser with no I/O. Bytes go in with `push()`, complete lines come out
 * of `next()` one at a time, so the server can stop after any line and switch
 * to another parser (DATA decoder, BDAT reader) with `drain()`:
 *
 *     splitter.push(chunk);
 *     for (let item = splitter.next(); item; item = splitter.next()) {
 *       ... handle the command ...
 *       if (startsBdat) { bdat.begin(n); const r = bdat.push(splitter.drain()); ... break; }
 *     }
 *
 * Because lines are pulled, not pushed through a callback, no byte after the
 * line that switched modes has been looked at yet: `drain()` hands back
 * exactly the bytes that no returned item covers (RFC 2920 PIPELINING: the
 * next commands, or the BDAT chunk, may share a TCP segment with the command).
 *
 * Line endings: CRLF ends a line; a bare LF also ends a line (many clients and
 * scripts send it), and the item says `bareLf: true` so the server decides
 * (accept, or reply 500). A CR not followed by LF is line content.
 *
 * Length (RFC 5321 4.5.3.1.4: a command line is at most 512 octets including
 * the CRLF; 4.5.3.1.5 reply lines likewise): a line whose bytes, including its
 * line ending as received, exceed `maxLineBytes` is not buffered: its bytes
 * are discarded up to the next LF and then ONE `lineTooLong` item reports it.
 * The splitter never copies more than `maxLineBytes - 1` bytes of a partial line.
 */
import { checkByteCount } from './bytes.ts';

const LF = 0x0a;
const CR = 0x0d;

/** RFC 5321 4.5.3.1.4: command line length including CRLF. */
export const SMTP_MAX_COMMAND_LINE = 512;

export interface LineSplitterOptions {
  /** Longest accepted line in octets, including its line ending (default 512, RFC 5321 4.5.3.1.4). */
  maxLineBytes?: number;
}

export type LineItem =
  | {
      readonly kind: 'line';
      /** The line without its line ending (a fresh copy, safe to keep). */
      readonly line: Buffer;
      /** The line ended in a bare LF instead of CRLF. */
      readonly bareLf: boolean;
    }
  | {
      readonly kind: 'lineTooLong';
      /** Octets of the discarded line including its line ending. */
      readonly length: number;
    };

export class LineSplitter {
  readonly maxLineBytes: number;
  /** Partial line copied from earlier chunks: `carry[0, carryLen)`, always < maxLineBytes bytes. */
  private readonly carry: Buffer;
  private carryLen = 0;
  /** Pushed chunks not yet fully scanned; `offset` is the first unscanned byte of `queue[0]`. */
  private queue: Buffer[] = [];
  private offset = 0;
  /** Inside an over-long line: bytes are dropped until the next LF. */
  private discarding = false;
  private discardedLen = 0;

  constructor(options: LineSplitterOptions = {}) {
    const max = options.maxLineBytes ?? SMTP_MAX_COMMAND_LINE;
    checkByteCount('maxLineBytes', max);
    if (max < 1) throw new RangeError('maxLineBytes must be at least 1');
    this.maxLineBytes = max;
    this.carry = Buffer.allocUnsafe(max);
  }

  /**
   * Queues bytes; nothing is parsed until `next()`. The chunk is referenced,
   * not copied: do not modify it afterwards. Call `next()` until it returns
   * null before pushing again, or pause the socket, to keep memory bounded.
   */
  push(chunk: Buffer): void {
    if (chunk.length > 0) this.queue.push(chunk);
  }

  /** The next complete line or `lineTooLong`, or null when more bytes are needed. */
  next(): LineItem | null {
    while (this.queue.length > 0) {
      const buf = this.queue[0]!;
      const start = this.offset;
      if (this.discarding) {
        const lf = buf.indexOf(LF, start);
        if (lf < 0) {
          this.discardedLen += buf.length - start;
          this.dropHead();
          continue;
        }
        this.discardedLen += lf + 1 - start;
        this.advance(buf, lf + 1);
        const length = this.discardedLen;
        this.discarding = false;
        this.discardedLen = 0;
        return { kind: 'lineTooLong', length };
      }
      // At most `room` more bytes (LF included) fit in this line.
      const room = this.maxLineBytes - this.carryLen;
      const end = Math.min(buf.length, start + room);
      const lf = buf.subarray(start, end).indexOf(LF);
      if (lf >= 0) {
        const lineEnd = start + lf;
        const raw = Buffer.allocUnsafe(this.carryLen + lf);
        this.carry.copy(raw, 0, 0, this.carryLen);
        buf.copy(raw, this.carryLen, start, lineEnd);
        this.carryLen = 0;
        this.advance(buf, lineEnd + 1);
        const crlf = raw.length > 0 && raw[raw.length - 1] === CR;
        return { kind: 'line', line: crlf ? raw.subarray(0, raw.length - 1) : raw, bareLf: !crlf };
      }
      if (buf.length - start >= room) {
        // maxLineBytes octets without a LF: with its LF the line is longer than allowed.
        this.discarding = true;
        this.discardedLen = this.carryLen + room;
        this.carryLen = 0;
        this.advance(buf, start + room);
        continue;
      }
      buf.copy(this.carry, this.carryLen, start);
      this.carryLen += buf.length - start;
      this.dropHead();
    }
    return null;
  }

  /**
   * Takes every byte that no returned item covers: the partial line held, then
   * the queued bytes, in order. The splitter is empty afterwards. Called right
   * after `next()` returned a line, this is exactly the input that followed that
   * line. (Bytes of an over-long line being discarded are gone; the pending
   * `lineTooLong` report is dropped with them.)
   */
  drain(): Buffer {
    const pieces: Buffer[] = [];
    if (this.carryLen > 0) pieces.push(Buffer.from(this.carry.subarray(0, this.carryLen)));
    const [first, ...rest] = this.queue;
    if (first) pieces.push(first.subarray(this.offset), ...rest);
    this.carryLen = 0;
    this.queue = [];
    this.offset = 0;
    this.discarding = false;
    this.discardedLen = 0;
    return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
  }

  /** Bytes of a partial line copied and held across chunks (always < maxLineBytes). */
  get bufferedBytes(): number {
    return this.carryLen;
  }

  /** Bytes pushed that `next()` has not consumed yet: the held partial line plus the queued bytes. */
  get pendingBytes(): number {
    let n = this.carryLen - this.offset;
    for (const b of this.queue) n += b.length;
    return n;
  }

  /** True while the bytes of an over-long line are being discarded. */
  get discardingLine(): boolean {
    return this.discarding;
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
