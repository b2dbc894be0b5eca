/**
 * A cursor over one framed command (raw-command.ts): bytes of the text pieces,
 * with each literal a single token between them. The grammar functions
 * (primitives.ts and the command modules) are built on these few operations
 * and never slice the input themselves.
 */
import { asciiUpper, DIGIT, KEYWORD_CHAR } from './chars.ts';
import { ParseError } from './errors.ts';
import type { CommandPiece } from './raw-command.ts';

/** peek() at the end of the command. */
export const END = -1;
/** peek() where a literal stands. */
export const LITERAL = -2;

export interface ParseOptions {
  /**
   * UTF-8 is enabled: ENABLE UTF8=ACCEPT (RFC 6855 3) or ENABLE IMAP4rev2
   * (RFC 9051 6.3.1). 8-bit characters are then allowed in quoted strings
   * (RFC 9051 9 QUOTED-CHAR) and mailbox names are UTF-8; without it mailbox
   * names are modified UTF-7 (RFC 3501 5.1.3) and quoted strings 7-bit.
   */
  readonly utf8: boolean;
}

/** The literal token taken by Scanner.literal(). */
export type LiteralToken = Exclude<CommandPiece, { kind: 'text' }>;

const SP = 0x20;
const EMPTY = Buffer.alloc(0);

export class Scanner {
  private index = 0;
  private text: Buffer;
  pos = 0;
  /** Nesting depth of recursive rules (search keys), so hostile input cannot overflow the stack. */
  depth = 0;

  constructor(
    private readonly pieces: readonly CommandPiece[],
    readonly opts: ParseOptions,
    public tag: string | null = null,
  ) {
    const first = pieces[0];
    this.text = first?.kind === 'text' ? first.bytes : EMPTY;
  }

  /** Throws the ParseError for this command: `tag BAD reason`. */
  fail(reason: string): never {
    throw new ParseError(this.tag, reason);
  }

  /** The next byte, LITERAL where a literal stands, END at the end. */
  peek(): number {
    if (this.pos < this.text.length) return this.text[this.pos]!;
    return this.index + 1 < this.pieces.length ? LITERAL : END;
  }

  /** The byte after the next one within the current text (END if none). */
  peekAt(ahead: number): number {
    const p = this.pos + ahead;
    return p < this.text.length ? this.text[p]! : END;
  }

  atEnd(): boolean {
    return this.peek() === END;
  }

  /** Consumes one byte of text (never a literal). */
  skip(): void {
    if (this.pos < this.text.length) this.pos++;
  }

  /** Consumes `byte` if it comes next. */
  eat(byte: number): boolean {
    if (this.pos < this.text.length && this.text[this.pos] === byte) {
      this.pos++;
      return true;
    }
    return false;
  }

  /** Consumes `byte` or fails with "Expected <what>". */
  expect(byte: number, what: string): void {
    if (!this.eat(byte)) this.fail(`Expected ${what}`);
  }

  /** Exactly one SP (RFC 9051 9: arguments are separated by single spaces). */
  sp(what = 'SP'): void {
    if (!this.eat(SP)) this.fail(`Expected ${what}`);
  }

  /** Bytes of the current text while `table[byte]` is 1 (never crosses a literal). */
  take(table: Uint8Array): Buffer {
    const start = this.pos;
    const t = this.text;
    let p = start;
    while (p < t.length && table[t[p]!] === 1) p++;
    this.pos = p;
    return t.subarray(start, p);
  }

  /** 1*(ALPHA / DIGIT / "." / "-"), upper case; '' when none. */
  keyword(): string {
    return asciiUpper(this.take(KEYWORD_CHAR).toString('latin1'));
  }

  /** Consumes `word` (upper case) if the next keyword is exactly it. */
  eatKeyword(word: string): boolean {
    const start = this.pos;
    if (this.keyword() === word) return true;
    this.pos = start;
    return false;
  }

  /** 1*DIGIT as text ('' when none). */
  digits(): string {
    return this.take(DIGIT).toString('latin1');
  }

  /** Consumes the literal standing here. */
  literal(): LiteralToken {
    if (this.peek() !== LITERAL) this.fail('Expected a literal');
    const token = this.pieces[this.index + 1] as LiteralToken;
    this.index += 2;
    const next = this.pieces[this.index];
    this.text = next?.kind === 'text' ? next.bytes : EMPTY;
    this.pos = 0;
    return token;
  }

  /** Fails unless the whole command was consumed. */
  end(): void {
    const b = this.peek();
    if (b === END) return;
    this.fail(b === SP ? 'Unexpected trailing space' : 'Unexpected characters after the command');
  }

  /** A scanner over `bytes` alone (a value with its own syntax inside a string), failing with this command's tag. */
  sub(bytes: Buffer): Scanner {
    return new Scanner([{ kind: 'text', bytes }], this.opts, this.tag);
  }

  /** Runs a recursive rule with a nesting limit. */
  nested<T>(rule: () => T, limit = 64): T {
    if (++this.depth > limit) this.fail('Too deeply nested');
    try {
      return rule();
    } finally {
      this.depth--;
    }
  }
}
