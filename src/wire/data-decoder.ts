/**
 * DATA body decoder (RFC 5321 4.1.1.4, 4.5.2; RFC 2033 4.2 for LMTP): a push
 * parser with no I/O. It removes transparency dots, finds the end of data,
 * normalizes line endings, counts the message size and reports what the
 * server may want to refuse. The output and every count are the same however
 * the input is split into chunks.
 *
 * End of data: only <CRLF>.<CRLF> ends the body, where the first CRLF may be
 * the one that ended the DATA command (so `.CRLF` right away is an empty body).
 * Bare-LF or bare-CR variants (`LF.LF`, `LF.CRLF`, `CR.CR`) are NOT the end:
 * accepting them is the "SMTP smuggling" bug (CVE-2023-51766 and relatives),
 * where the next hop sees a different message boundary than we do.
 *
 * Decisions (policy is the caller's: reject on the counts, or accept):
 * - Bare LF (an LF without CR before it) is decoded as CRLF, and counted in
 *   `bareLf`. TEGU stores messages with CRLF line endings, and Postfix accepts
 *   bare LF and stores CRLF too; the count lets the server refuse such
 *   messages instead (as Postfix's `smtpd_forbid_bare_newline = reject`). A
 *   line after a bare LF is a line for dot-unstuffing (it will be one in the
 *   stored message), but never the start of the end-of-data sequence.
 * - Bare CR (a CR not followed by LF) is kept as received and counted in
 *   `bareCr`: turning it into a line break would invent a line the sender did
 *   not write, and RFC 5321 2.3.8 forbids it on the wire anyway.
 * - NUL bytes are kept and counted in `nulBytes` (RFC 5321 4.1.1.4 allows only
 *   US-ASCII text without 8BITMIME, RFC 6152 still excludes NUL; the server
 *   may answer 554, or accept as Postfix and others do).
 * - Lines longer than 1000 octets including CRLF, not counting a transparency
 *   dot (RFC 5321 4.5.3.1.6), are counted in `longLines`, not refused.
 * - Size: `size` counts the decoded bytes (what would be stored, CRLF line
 *   endings). When it exceeds `maxBytes`, `tooBig` is set, the output stops at
 *   exactly `maxBytes` bytes, and decoding goes on to the end of data so the
 *   server can answer 552 in step (RFC 5321 4.5.3.1.10) and keep reading
 *   pipelined commands from `remainder`.
 *
 * Memory: besides the state, at most 2 input bytes (`.` and `.CR` at a line
 * start, which may begin the terminator) are held across chunks; output
 * buffers share memory with the input chunk where no byte changed.
 */
import { CRLF_BYTES, CR_BYTES, EMPTY, checkByteCount, joinPieces } from './bytes.ts';

// Local, not imported: see bytes.ts.
const NUL = 0x00;
const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;

/** RFC 5321 4.5.3.1.6: a text line is at most 1000 octets including CRLF. */
export const SMTP_MAX_TEXT_LINE = 1000;

export interface DataDecoderOptions {
  /** Largest message in decoded octets; beyond it `tooBig` is set (default: no limit). */
  maxBytes?: number;
}

export interface DataStats {
  /** Decoded body octets, including those past `maxBytes`. */
  size: number;
  /** `size` exceeded `maxBytes`: the output was cut at `maxBytes`; answer 552. */
  tooBig: boolean;
  /** NUL octets in the body (kept in the output). */
  nulBytes: number;
  /** LFs without CR before them (each decoded as CRLF). */
  bareLf: number;
  /** CRs without LF after them (kept in the output). */
  bareCr: number;
  /** Lines longer than 1000 octets including CRLF (RFC 5321 4.5.3.1.6). */
  longLines: number;
  /** Octets of the longest line, without its line ending. */
  longestLine: number;
}

export interface DataPushResult {
  /** Decoded body bytes from this push (may be empty; read-only, may share memory with the input). */
  body: Buffer;
  /** The end of data was found in this push. */
  done: boolean;
  /** Input bytes after the terminating CRLF.CRLF (pipelined commands); empty unless `done`. */
  remainder: Buffer;
}

// Decoder states.
/** At the start of the body or after CRLF: a '.' may begin the end of data. */
const LINE_START = 0;
/** After a bare LF: a '.' is a transparency dot, never the end of data. */
const LINE_START_AFTER_LF = 1;
const TEXT = 2;
/** A CR was just decoded (and emitted); LF makes it a CRLF. */
const AFTER_CR = 3;
/** '.' at LINE_START, held. */
const DOT_HELD = 4;
/** '.' CR at LINE_START, held. */
const DOT_CR_HELD = 5;
const DONE = 6;
type State = 0 | 1 | 2 | 3 | 4 | 5 | 6;

const MAX_LINE_CONTENT = SMTP_MAX_TEXT_LINE - 2;

export class DataDecoder {
  readonly maxBytes: number;
  private state: State = LINE_START;
  private lineLen = 0;
  private emitted = 0;
  private readonly counts: DataStats = {
    size: 0,
    tooBig: false,
    nulBytes: 0,
    bareLf: 0,
    bareCr: 0,
    longLines: 0,
    longestLine: 0,
  };

  constructor(options: DataDecoderOptions = {}) {
    const max = options.maxBytes ?? Number.POSITIVE_INFINITY;
    checkByteCount('maxBytes', max, true);
    this.maxBytes = max;
  }

  /** Decodes the next bytes of the DATA stream. Throws once the end of data was found. */
  push(chunk: Buffer): DataPushResult {
    if (this.state === DONE) throw new Error('DataDecoder: push after the end of data');
    const out: Buffer[] = [];
    const n = chunk.length;
    /** Start of the run of input bytes that pass through unchanged. */
    let run = 0;
    let i = 0;
    // Positions of the next LF, CR and NUL at or after i (n: none), found with
    // indexOf (memchr) and searched again only once passed, so plain text is
    // skipped in runs and each byte value is scanned for once per chunk.
    let nextLf = -1;
    let nextCr = -1;
    let nextNul = -1;
    while (i < n) {
      if (this.state === TEXT) {
        if (nextLf < i) nextLf = indexOrEnd(chunk, LF, i);
        if (nextCr < i) nextCr = indexOrEnd(chunk, CR, i);
        if (nextNul < i) nextNul = indexOrEnd(chunk, NUL, i);
        const stop = Math.min(nextLf, nextCr, nextNul);
        if (stop > i) {
          this.lineLen += stop - i;
          i = stop;
          continue;
        }
      }
      const b = chunk[i]!;
      switch (this.state) {
        case LINE_START:
          if (b === DOT) {
            this.emit(out, chunk, run, i);
            run = i + 1;
            this.state = DOT_HELD;
            i++;
            continue;
          }
          this.state = TEXT;
          continue; // same byte as text
        case LINE_START_AFTER_LF:
          if (b === DOT) {
            this.emit(out, chunk, run, i);
            run = i + 1;
            i++;
          }
          this.state = TEXT;
          continue;
        case DOT_HELD:
          if (b === CR) {
            run = i + 1;
            this.state = DOT_CR_HELD;
            i++;
            continue;
          }
          this.state = TEXT; // the dot was a transparency dot: dropped
          continue;
        case DOT_CR_HELD:
          if (b === LF) {
            this.state = DONE;
            return { body: joinPieces(out), done: true, remainder: chunk.subarray(i + 1) };
          }
          // '.' CR x: the dot is dropped, the CR is line content.
          this.emitBytes(out, CR_BYTES);
          this.lineLen = 1;
          this.state = AFTER_CR;
          continue;
        case AFTER_CR:
          if (b === LF) {
            this.endLine(this.lineLen - 1);
            this.state = LINE_START;
            i++;
            continue;
          }
          this.counts.bareCr++;
          this.state = TEXT;
          continue;
        case TEXT:
          if (b === LF) {
            // Bare LF: decoded as CRLF.
            this.emit(out, chunk, run, i);
            this.emitBytes(out, CRLF_BYTES);
            run = i + 1;
            this.counts.bareLf++;
            this.endLine(this.lineLen);
            this.state = LINE_START_AFTER_LF;
            i++;
            continue;
          }
          if (b === CR) this.state = AFTER_CR;
          else if (b === NUL) this.counts.nulBytes++;
          this.lineLen++;
          i++;
          continue;
      }
    }
    this.emit(out, chunk, run, n);
    return { body: joinPieces(out), done: false, remainder: EMPTY };
  }

  /** The end of data was found. */
  get done(): boolean {
    return this.state === DONE;
  }

  /** Input bytes held across chunks (0, or 1-2 for a '.' / '.CR' at a line start). */
  get carryBytes(): number {
    return this.state === DOT_HELD ? 1 : this.state === DOT_CR_HELD ? 2 : 0;
  }

  /** Counts so far (a copy). */
  get stats(): DataStats {
    return { ...this.counts };
  }

  get size(): number {
    return this.counts.size;
  }

  get tooBig(): boolean {
    return this.counts.tooBig;
  }

  private endLine(length: number): void {
    if (length > MAX_LINE_CONTENT) this.counts.longLines++;
    if (length > this.counts.longestLine) this.counts.longestLine = length;
    this.lineLen = 0;
  }

  private emit(out: Buffer[], chunk: Buffer, from: number, to: number): void {
    if (to > from) this.emitBytes(out, chunk.subarray(from, to));
  }

  /** Counts decoded bytes and outputs them, up to `maxBytes` in total. */
  private emitBytes(out: Buffer[], bytes: Buffer): void {
    this.counts.size += bytes.length;
    if (this.counts.size > this.maxBytes) this.counts.tooBig = true;
    const room = this.maxBytes - this.emitted;
    if (room <= 0) return;
    const piece = bytes.length > room ? bytes.subarray(0, room) : bytes;
    out.push(piece);
    this.emitted += piece.length;
  }
}

function indexOrEnd(chunk: Buffer, byte: number, from: number): number {
  const at = chunk.indexOf(byte, from);
  return at < 0 ? chunk.length : at;
}

/** Decodes a complete DATA stream held in memory (tests, tools). */
export function decodeData(
  input: Buffer,
  options: DataDecoderOptions = {},
): { body: Buffer; done: boolean; remainder: Buffer; stats: DataStats } {
  const decoder = new DataDecoder(options);
  const r = decoder.push(input);
  return { body: r.body, done: r.done, remainder: r.remainder, stats: decoder.stats };
}
