/**
 * A command as the reader frames it, before the grammar: the line text
 * between literals and the literals themselves (RFC 9051 4.3). A command
 * `A1 LOGIN {5}CRLF alice SP {6+}CRLF secret CRLF` arrives as
 *
 *     text "A1 LOGIN " | literal "alice" | text " " | literal "secret" | text ""
 *
 * Pieces alternate: text, literal, text, ..., text (always odd in number).
 * Text pieces have neither the line ending nor the `{n}` announcement.
 */

export type CommandPiece =
  | {
      readonly kind: 'text';
      readonly bytes: Buffer;
    }
  | {
      /** A literal held in memory (a string argument: RFC 9051 4.3). */
      readonly kind: 'literal';
      readonly data: Buffer;
      /** literal8, `~{n}` (RFC 3516 4.2, RFC 4466 2.1): may contain NUL. */
      readonly binary: boolean;
    }
  | {
      /**
       * A literal the reader handed out as `literalData` items while it
       * arrived (APPEND message data) and did not keep. `ordinal` counts the
       * streamed literals of the command from 0.
       */
      readonly kind: 'streamed';
      readonly ordinal: number;
      readonly size: number;
      readonly binary: boolean;
      /** A NUL octet was seen: not allowed in a plain literal (RFC 9051 9, CHAR8). */
      readonly containsNul: boolean;
    };

export interface RawCommand {
  /** The tag read from the first line, or null when unreadable (answer `* BAD`). */
  readonly tag: string | null;
  readonly pieces: readonly CommandPiece[];
}

/**
 * A literal announcement at the end of a line: `{n}` (synchronizing),
 * `{n+}` (non-synchronizing, RFC 7888), `~{n}` / `~{n+}` (literal8, RFC 3516).
 */
export interface LiteralAnnouncement {
  /** Offset of `{` (or `~`) in the line: the text before it is the command text. */
  readonly start: number;
  /** Octets announced; Infinity when beyond 2^53-1 (never accepted). */
  readonly size: number;
  readonly sync: boolean;
  readonly binary: boolean;
}

const LBRACE = 0x7b;
const RBRACE = 0x7d;
const PLUS = 0x2b;
const TILDE = 0x7e;

/**
 * The announcement the line ends with, if any. A line ending in `{n}` is a
 * literal announcement wherever it appears: `{` is an atom-special and cannot
 * end a quoted string, so in a valid command nothing else ends that way.
 *
 * With `truncated` (the line's head was dropped, only its tail is known), a
 * tail of digits and `}` whose `{` fell off is reported with size Infinity.
 */
export function literalAnnouncementAt(line: Buffer, truncated = false): LiteralAnnouncement | null {
  let i = line.length - 1;
  if (i < 0 || line[i] !== RBRACE) return null;
  i--;
  const sync = line[i] !== PLUS;
  if (!sync) i--;
  const digitsEnd = i + 1;
  while (i >= 0 && line[i]! >= 0x30 && line[i]! <= 0x39) i--;
  const digits = digitsEnd - (i + 1);
  if (i < 0 && truncated && digits > 0) return { start: 0, size: Infinity, sync, binary: false };
  if (digits === 0 || i < 0 || line[i] !== LBRACE) return null;
  const binary = i > 0 && line[i - 1] === TILDE;
  let size = Infinity;
  if (digits <= 16) {
    const n = Number(line.toString('latin1', i + 1, digitsEnd));
    if (Number.isSafeInteger(n)) size = n;
  } else if (/^0*$/.test(line.toString('latin1', i + 1, digitsEnd - 16))) {
    const n = Number(line.toString('latin1', digitsEnd - 16, digitsEnd));
    if (Number.isSafeInteger(n)) size = n;
  }
  return { start: binary ? i - 1 : i, size, sync, binary };
}
