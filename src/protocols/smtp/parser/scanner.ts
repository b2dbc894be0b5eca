/**
 * A cursor over one decoded command line, and the one way out of a failed
 * parse: `ParseFailure` carrying the reply to send. The grammar functions in
 * path.ts, domain.ts and params.ts are built from these primitives.
 */
import { withText, type SmtpReply } from '../replies.ts';

/** Thrown by the grammar functions; `parseCommand` turns it into `{ ok: false, reply }`. */
export class ParseFailure extends Error {
  override readonly name = 'ParseFailure';
  constructor(readonly reply: SmtpReply) {
    super(typeof reply.text === 'string' ? reply.text : reply.text.join(' '));
  }
}

/** Throws a ParseFailure with `base`'s codes and `text`. */
export function fail(base: SmtpReply, text: string): never {
  throw new ParseFailure(withText(base, text));
}

/** A function that fails with a context-specific reply (sender vs recipient address, argument syntax). */
export type Fail = (text: string) => never;

export class Scanner {
  pos: number;

  constructor(
    readonly text: string,
    start = 0,
  ) {
    this.pos = start;
  }

  done(): boolean {
    return this.pos >= this.text.length;
  }

  /** The next character (a whole code point), or '' at the end. */
  peek(): string {
    const cp = this.text.codePointAt(this.pos);
    return cp === undefined ? '' : String.fromCodePoint(cp);
  }

  /** Consumes and returns the next character, '' at the end. */
  next(): string {
    const ch = this.peek();
    this.pos += ch.length;
    return ch;
  }

  /** Consumes `literal` if it comes next, ASCII case-insensitively (RFC 5321 2.4). */
  literal(literal: string): boolean {
    const s = this.text.slice(this.pos, this.pos + literal.length);
    if (s.length !== literal.length || asciiUpper(s) !== asciiUpper(literal)) return false;
    this.pos += literal.length;
    return true;
  }

  /** Consumes characters while `pred` holds; returns them. */
  takeWhile(pred: (ch: string) => boolean): string {
    const start = this.pos;
    while (!this.done()) {
      const ch = this.peek();
      if (!pred(ch)) break;
      this.pos += ch.length;
    }
    return this.text.slice(start, this.pos);
  }

  /**
   * SP. We accept one or more spaces wherever the ABNF has one SP (a common
   * client mistake, harmless); returns how many were consumed.
   */
  spaces(): number {
    return this.takeWhile((ch) => ch === ' ').length;
  }

  /** The rest of the line, consumed. */
  rest(): string {
    const s = this.text.slice(this.pos);
    this.pos = this.text.length;
    return s;
  }
}

/**
 * Upper case for ASCII letters only. String.prototype.toUpperCase would turn
 * 'ſ' (U+017F) into 'S' and 'ı' into 'I', so "LAſT" would pass for "LAST".
 */
export function asciiUpper(s: string): string {
  return s.replace(/[a-z]+/g, (m) => m.toUpperCase());
}

// Character classes named after the ABNF of RFC 5234 B.1 and RFC 5321 4.1.2.

export const isALPHA = (ch: string): boolean => /^[A-Za-z]$/.test(ch);
export const isDIGIT = (ch: string): boolean => ch >= '0' && ch <= '9' && ch.length === 1;
/** RFC 6531 3.3 UTF8-non-ascii (the line is already known to be valid UTF-8). */
export const isNonAscii = (ch: string): boolean => (ch.codePointAt(0) ?? 0) > 0x7f;
/** RFC 5322 3.2.3 atext (ASCII part). */
export const isAtext = (ch: string): boolean => /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]$/.test(ch);
