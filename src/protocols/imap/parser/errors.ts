/**
 * The one way out of a failed command: `ParseError`, carrying what the session
 * answers. The reader (framing: line length, literal sizes) and the grammar
 * functions both produce it, so the session has one reply path:
 *
 *     `${tag ?? '*'} ${status} ${code ? `[${code}] ` : ''}${reason}`
 *
 * and, when `fatal`, `* BYE` and close (RFC 9051 7.1.5).
 */

/**
 * Response codes a parse error may carry (RFC 9051 7.1; TOOBIG: RFC 4469 5,
 * RFC 7888 4-5, RFC 7889 3; BADCHARSET: RFC 9051 6.4.4).
 */
export type ParseErrorCode = 'TOOBIG' | 'BADCHARSET' | 'CLIENTBUG';

export class ParseError extends Error {
  override readonly name = 'ParseError';
  constructor(
    /** The command's tag, or null when it is unreadable: answer untagged (`* BAD`, RFC 9051 7.1.3). */
    readonly tag: string | null,
    /** Human-readable reason, safe to send (ASCII, no CR/LF). */
    readonly reason: string,
    /** BAD for syntax errors (RFC 9051 7.1.3); NO for refusals (TOOBIG over APPENDLIMIT, BADCHARSET). */
    readonly status: 'BAD' | 'NO' = 'BAD',
    readonly code: ParseErrorCode | null = null,
    /** The reader cannot find the next command (an unskippable literal): send BYE and close. */
    readonly fatal = false,
  ) {
    // An expected outcome, not a bug: no stack trace (capturing one costs ten
    // times the rest of a failed parse, and a client can make many).
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(reason);
    Error.stackTraceLimit = limit;
    // The reason may quote client input (a charset name): keep the reply one printable line.
    this.reason = reason.replace(/[^\x20-\x7e]/g, '?');
  }

  /** The same error for another tag (the tag became known after the error was made). */
  withTag(tag: string | null): ParseError {
    return tag === this.tag ? this : new ParseError(tag, this.reason, this.status, this.code, this.fatal);
  }
}
