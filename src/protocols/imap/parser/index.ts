/**
 * The IMAP command parser (IMAP4rev2 RFC 9051 and IMAP4rev1 RFC 3501, with
 * the extensions the server announces). No I/O, no session state, no store.
 *
 * Two stages:
 *
 *  1. reader.ts, CommandReader: bytes in, framed commands out. It finds line
 *     ends and literals and enforces every size limit; it knows nothing of
 *     the grammar except a command's tag and name (command-head.ts), needed
 *     to answer errors and to stream APPEND data.
 *  2. parseCommand (here): one framed command (raw-command.ts: text pieces
 *     and literals) to a typed command (command.ts) or a ParseError. One
 *     module per command family, grammar functions named after the ABNF
 *     rules of RFC 9051 9 (primitives.ts: atom, astring, quoted, literal,
 *     nstring, number, mailbox; sequence-set.ts; flags.ts; date.ts).
 *
 * Literals and limits (details and RFC citations in reader.ts):
 *
 *  - Every announcement `{n}` / `{n+}` / `~{n}` is checked against the limits
 *    before one byte of the literal is read. Synchronizing literals get a
 *    `literal` item the session answers with accept() (+ `+ Ready`) or
 *    reject() (+ tagged NO/BAD); one over a limit gets an error item instead,
 *    and no `+` is ever sent, so the client never sends it.
 *  - Non-synchronizing literals (LITERAL+ or, by default, LITERAL- with its
 *    4096-octet cap, RFC 7888) over a limit are answered at once and their
 *    bytes skipped without being kept, with the rest of the command, up to
 *    `maxDiscardBytes`; a literal announced beyond that is not read at all:
 *    the error is `fatal` and the session sends BYE and closes.
 *  - APPEND message data (the `message` role) is bounded by APPENDLIMIT
 *    (`maxMessageLiteral`, over it `NO [TOOBIG]`, RFC 7889) and streamed as
 *    `literalData` slices of the pushed buffers: a 50 MB message never sits in
 *    the reader. Other literals (strings) are copied, up to `maxStringLiteral`.
 *  - Line pieces are bounded by `maxLineBytes` (64 KiB), a whole command's
 *    text plus its buffered literals by `maxCommandBytes` (1 MiB), literals
 *    per command by `maxLiterals`. The reader's own memory is therefore at
 *    most about maxCommandBytes per connection, whatever the client sends.
 *
 * Errors: a ParseError carries the tag (null when unreadable: answer
 * `* BAD`), BAD or NO, an optional response code (TOOBIG, BADCHARSET) and a
 * printable reason; the session answers it and goes on with the next
 * command (RFC 9051 7.1.3). parseCommand never throws anything else for any
 * input; an exception is a bug (the fuzz test keeps it so), and recursive
 * rules are depth-limited.
 *
 * Strings: quoted strings are 7-bit unless UTF-8 is enabled (ENABLE
 * UTF8=ACCEPT or IMAP4rev2, `ParseOptions.utf8`; RFC 6855 3); atoms always
 * are. Literals may hold any octet but NUL (literal8 only for APPEND data).
 * Mailbox names come decoded (mailbox-name.ts): modified UTF-7 for rev1
 * clients, UTF-8 once enabled, NFC, "INBOX" in any case as INBOX.
 *
 * Leniency, on purpose: keywords in any case; CHANGEDSINCE 0; a date-time
 * with a one-digit day without its leading space; LIST/SEARCH/STATUS options
 * repeated. Not lenient: spacing (exactly one SP, no trailing SP), empty
 * parenthesized lists where the ABNF wants one item, unknown options and
 * modifiers (RFC 4466 2: BAD).
 *
 * Sequence numbers and UIDs have distinct branded types (src/lib/ids.ts),
 * and so do the sets of a command and its UID form.
 */
import { TAG_CHAR } from './chars.ts';
import type { ImapCommand } from './command.ts';
import { COMMANDS, UID_COMMANDS } from './commands.ts';
import { ParseError } from './errors.ts';
import type { RawCommand } from './raw-command.ts';
import { END, LITERAL, Scanner, type ParseOptions } from './scanner.ts';

export type * from './command.ts';
export { appendTarget } from './append.ts';
export { isIdleDone, parseSaslResponse, type SaslResponse } from './continuation.ts';
export { ParseError, type ParseErrorCode } from './errors.ts';
export { decodeMailboxName, decodeModifiedUtf7, encodeMailboxName, encodeModifiedUtf7 } from './mailbox-name.ts';
export type { CommandPiece, RawCommand } from './raw-command.ts';
export { CommandReader, DEFAULT_READER_LIMITS, LITERAL_MINUS_MAX, type LiteralRequest, type ReaderItem, type ReaderLimits } from './reader.ts';
export type { ParseOptions } from './scanner.ts';

export type ParseResult = { readonly ok: true; readonly command: ImapCommand } | { readonly ok: false; readonly error: ParseError };

const SP = 0x20;

/** Parses one framed command. Never throws for any input (see above). */
export function parseCommand(raw: RawCommand, opts: ParseOptions): ParseResult {
  try {
    return { ok: true, command: parse(raw, opts) };
  } catch (err) {
    if (err instanceof ParseError) return { ok: false, error: err };
    throw err;
  }
}

function parse(raw: RawCommand, opts: ParseOptions): ImapCommand {
  const s = new Scanner(raw.pieces, opts);
  if (s.atEnd()) s.fail('Empty command line');
  // tag = 1*<any ASTRING-CHAR except "+"> (RFC 9051 9)
  const tagBytes = s.take(TAG_CHAR);
  const after = s.peek();
  if (tagBytes.length === 0 || (after !== SP && after !== END && after !== LITERAL)) s.fail('Invalid or missing tag');
  const tag = tagBytes.toString('latin1');
  s.tag = tag;
  if (after === END) s.fail('Missing command name');
  s.sp('SP after the tag');
  const name = s.keyword();
  if (name === '') s.fail('Missing command name');
  let parser = COMMANDS.get(name);
  if (name === 'UID') {
    s.sp('SP after UID');
    const sub = s.keyword();
    parser = UID_COMMANDS.get(sub);
    if (!parser) s.fail(sub ? `Unknown command UID ${sub.slice(0, 32)}` : 'Expected a command after UID');
  }
  if (!parser) return s.fail(`Unknown command ${name.slice(0, 32)}`);
  const command = parser(s, tag);
  s.end();
  return command;
}
