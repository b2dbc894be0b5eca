/**
 * Reply reader for the outbound SMTP client: a push parser with no I/O that
 * turns the bytes a remote server sends into complete replies (RFC 5321 4.2),
 * plus the EHLO keyword table (RFC 5321 4.1.1.1) and the xtext encoding of
 * DSN parameters (RFC 3461 4, RFC 6533 3).
 *
 *     reader.push(chunk);
 *     for (let r = reader.next(); r; r = reader.next()) ... // throws MalformedReplyError
 *
 * Every remote byte is untrusted. Memory stays bounded: a partial line is at
 * most `maxLineBytes`, the lines of one reply together at most
 * `maxReplyBytes`; anything over either, a line without a 3-digit code, a
 * code that changes inside a multi-line reply or a control character is a
 * MalformedReplyError, after which the connection must be dropped (the
 * stream can no longer be trusted to be in step with our commands).
 */
import { LineSplitter } from '../wire/line-splitter.ts';

/** Longest reply line accepted, in octets including CRLF. RFC 5321 4.5.3.1.5 says 512; real servers send longer text. */
export const MAX_REPLY_LINE_BYTES = 2048;
/** Default bound of one reply (all its lines). */
export const DEFAULT_MAX_REPLY_BYTES = 64 * 1024;

/** One complete reply. */
export interface ParsedReply {
  readonly code: number;
  /** RFC 3463 class.subject.detail from the first line, when present and of the same class as `code`. */
  readonly enhanced?: string;
  /** The text of each line, without code, separator and enhanced code. */
  readonly lines: readonly string[];
  /** The lines joined by a space: for logs and DSN diagnostic codes. */
  readonly text: string;
}

/** The remote sent something that is not an SMTP reply. */
export class MalformedReplyError extends Error {
  override readonly name = 'MalformedReplyError';
}

export interface ReplyReaderOptions {
  /** Bound of one reply, all lines with their line endings (default 64 KiB). */
  maxReplyBytes?: number;
  /** Bound of one line including its line ending (default 2,048). */
  maxLineBytes?: number;
}

/** RFC 5321 4.2: Reply-code = %x32-35 %x30-35 %x30-39, then SP, "-" or the end of the line. */
const REPLY_LINE = /^([2-5][0-9][0-9])(?:([ -])(.*))?$/s;
/** RFC 3463 2: class "." subject "." detail, subject and detail 1 to 3 digits. */
const ENHANCED = /^([245])\.(\d{1,3})\.(\d{1,3})(?: +|$)/;

/** True when the line holds a C0 control other than TAB, or DEL (binary junk, or a bare CR). */
function hasControl(line: Buffer): boolean {
  for (let i = 0; i < line.length; i++) {
    const b = line[i]!;
    if ((b < 0x20 && b !== 0x09) || b === 0x7f) return true;
  }
  return false;
}

export class ReplyReader {
  private readonly splitter: LineSplitter;
  private readonly maxReplyBytes: number;
  /** Lines of the reply being read, and their octets so far. */
  private lines: string[] = [];
  private code = 0;
  private replyBytes = 0;

  constructor(options: ReplyReaderOptions = {}) {
    this.maxReplyBytes = options.maxReplyBytes ?? DEFAULT_MAX_REPLY_BYTES;
    this.splitter = new LineSplitter({ maxLineBytes: options.maxLineBytes ?? MAX_REPLY_LINE_BYTES });
  }

  /** Queues bytes; call `next()` until it returns null before the next push. */
  push(chunk: Buffer): void {
    this.splitter.push(chunk);
  }

  /** True when bytes are held that are not part of a returned reply. */
  get hasPendingBytes(): boolean {
    return this.splitter.pendingBytes > 0 || this.lines.length > 0;
  }

  /** The next complete reply, or null when more bytes are needed. Throws MalformedReplyError. */
  next(): ParsedReply | null {
    for (let item = this.splitter.next(); item; item = this.splitter.next()) {
      if (item.kind === 'lineTooLong') {
        throw new MalformedReplyError(`reply line of ${item.length} octets, over ${this.splitter.maxLineBytes}`);
      }
      const raw = item.line;
      this.replyBytes += raw.length + (item.bareLf ? 1 : 2);
      if (this.replyBytes > this.maxReplyBytes) {
        throw new MalformedReplyError(`reply over ${this.maxReplyBytes} octets`);
      }
      if (hasControl(raw)) throw new MalformedReplyError('control characters in reply');
      const m = REPLY_LINE.exec(raw.toString('utf8'));
      if (!m) throw new MalformedReplyError(`not an SMTP reply line: ${printable(raw)}`);
      const code = Number(m[1]);
      // RFC 5321 4.2.1: every line of a multi-line reply carries the same code.
      if (this.lines.length > 0 && code !== this.code) {
        throw new MalformedReplyError(`reply code changed from ${this.code} to ${code} inside a multi-line reply`);
      }
      this.code = code;
      this.lines.push(m[3] ?? '');
      if (m[2] !== '-') return this.finish();
    }
    // The splitter reports an over-long line only at its LF; a remote that never sends one is garbage now.
    if (this.splitter.discardingLine) throw new MalformedReplyError(`reply line over ${this.splitter.maxLineBytes} octets`);
    return null;
  }

  private finish(): ParsedReply {
    const code = this.code;
    const lines = this.lines;
    this.lines = [];
    this.code = 0;
    this.replyBytes = 0;
    return buildReply(code, lines);
  }
}

/**
 * RFC 3463 / RFC 2034 3: the enhanced code starts the text of each line. It
 * is taken (and stripped from every line that has it) when its class is the
 * reply's first digit; a "2.0.0" on a 550 is text, not a status.
 */
function buildReply(code: number, rawLines: readonly string[]): ParsedReply {
  const klass = String(Math.floor(code / 100));
  const first = ENHANCED.exec(rawLines[0] ?? '');
  const enhanced = first && first[1] === klass ? `${first[1]}.${Number(first[2])}.${Number(first[3])}` : undefined;
  const lines = rawLines.map((l) => {
    if (enhanced === undefined) return l;
    const m = ENHANCED.exec(l);
    return m && m[1] === klass ? l.slice(m[0].length) : l;
  });
  const text = lines.map((l) => l.trim()).filter((l) => l !== '').join(' ');
  return enhanced === undefined ? { code, lines, text } : { code, enhanced, lines, text };
}

/** A short, safe rendering of a bad line for an error message. */
function printable(raw: Buffer): string {
  const s = raw.subarray(0, 60).toString('latin1').replace(/[^\x20-\x7e]/g, '?');
  return JSON.stringify(raw.length > 60 ? `${s}...` : s);
}

/**
 * RFC 5321 4.1.1.1: the EHLO reply's first line is the greeting, every other
 * line `ehlo-keyword *(SP ehlo-param)`. Keywords are upper-cased; the old
 * `AUTH=PLAIN LOGIN` form some servers still send counts as AUTH when there is
 * no AUTH line.
 */
export function parseEhloKeywords(reply: ParsedReply): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of reply.lines.slice(1)) {
    const m = /^([A-Za-z0-9][A-Za-z0-9-]*)(?:[ =](.*))?$/.exec(line.trim());
    if (!m) continue;
    const keyword = m[1]!.toUpperCase();
    const params = (m[2] ?? '').trim();
    if (line.trim().charAt(keyword.length) === '=') {
      if (keyword === 'AUTH' && !out.has('AUTH')) out.set('AUTH', params);
      continue;
    }
    out.set(keyword, params);
  }
  return out;
}

/**
 * RFC 3461 4: xtext. Printable ASCII other than "+" and "=" as is, every other
 * octet (of the UTF-8 form) as "+" and two upper-case hex digits.
 */
export function encodeXtext(value: string): string {
  let out = '';
  for (const b of Buffer.from(value, 'utf8')) {
    out += b >= 0x21 && b <= 0x7e && b !== 0x2b && b !== 0x3d ? String.fromCharCode(b) : `+${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * RFC 6533 3 utf-8-addr-unitext, for ORCPT=utf-8;... when SMTPUTF8 is in use:
 * non-ASCII characters as they are, "+", "=", "\", space and controls as
 * \x{HEX}.
 */
export function encodeUtf8AddrUnitext(value: string): string {
  let out = '';
  for (const ch of value) {
    const cp = ch.codePointAt(0)!;
    const escape = cp <= 0x20 || cp === 0x7f || ch === '+' || ch === '=' || ch === '\\';
    out += escape ? `\\x{${cp.toString(16).toUpperCase()}}` : ch;
  }
  return out;
}
