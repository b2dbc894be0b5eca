/**
 * The SMTP/LMTP command parser (RFC 5321 4.1, RFC 2033): one command line in,
 * a typed command or the error reply to send out. No I/O, no session state.
 *
 * Order of checks, each with its reply:
 *   1. empty line                                          500 5.5.2
 *   2. verb unknown (or HELO/EHLO in LMTP, LHLO in SMTP)   500 5.5.1  (RFC 5321 4.2.4, RFC 2033 4.1)
 *   3. non-ASCII in MAIL/RCPT/VRFY/EXPN without SMTPUTF8   553 5.6.7  (RFC 6531 3.5)
 *   4. invalid UTF-8, control characters                   501 5.5.2
 *   5. the command's grammar: 501 5.5.4, bad addresses 501 5.1.7 (MAIL) / 5.1.3 (RCPT),
 *      unknown MAIL/RCPT parameters 555 5.5.4, bad base64 in AUTH 501 5.5.2 (RFC 4954 4),
 *      SIZE beyond 2^53-1 552 5.3.4 (RFC 1870 6.1), a non-ASCII reverse-path without the
 *      SMTPUTF8 parameter 553 5.6.7 (RFC 6531 3.4).
 *
 * Leniency, on purpose: verbs and keywords in any case (RFC 5321 2.4); one
 * trailing CRLF or LF and trailing spaces are dropped; one or more spaces
 * wherever the ABNF has SP; spaces after "MAIL FROM:" / "RCPT TO:"; '_' in
 * the EHLO/HELO/LHLO host name; an address literal after HELO. The 512-octet
 * line limit (RFC 5321 4.5.3.1.4) is the line reader's.
 *
 * Only ParseFailure is caught: any other exception is a bug and goes to the
 * session's recovery point with its stack (the fuzz test keeps it that way).
 */
import { LINE_SYNTAX, NON_ASCII_ADDRESS, SYNTAX, UNKNOWN_COMMAND, type SmtpReply } from '../replies.ts';
import type { ParseOptions, SmtpCommand } from './command.ts';
import { COMMANDS } from './commands.ts';
import { fail, ParseFailure, Scanner } from './scanner.ts';

export type * from './command.ts';

export type ParseResult = { ok: true; command: SmtpCommand } | { ok: false; reply: SmtpReply };

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The line as text, and whether it was valid UTF-8 (a Buffer) or well-formed UTF-16 (a string). */
function decode(line: Buffer | string): { text: string; valid: boolean } {
  // A lone surrogate is what invalid UTF-8 looks like once in a string.
  if (typeof line === 'string') return { text: line, valid: !/\p{Cs}/u.test(line) };
  try {
    return { text: UTF8.decode(line), valid: true };
  } catch {
    // latin1 keeps one character per byte, enough to find the verb and answer 553 or 501.
    return { text: line.toString('latin1'), valid: false };
  }
}

/** Parses one command line (with or without its CRLF). Never throws for any input. */
export function parseCommand(line: Buffer | string, opts: ParseOptions): ParseResult {
  try {
    return { ok: true, command: parseLine(line, opts) };
  } catch (err) {
    if (err instanceof ParseFailure) return { ok: false, reply: err.reply };
    throw err;
  }
}

function parseLine(line: Buffer | string, opts: ParseOptions): SmtpCommand {
  const decoded = decode(line);
  const text = decoded.text.replace(/\r?\n$/, '').replace(/ +$/, '');
  if (text === '') fail(SYNTAX, 'Empty command');

  // RFC 5321 2.4: "Verbs and argument values ... are not case sensitive".
  const sp = text.indexOf(' ');
  const word = sp < 0 ? text : text.slice(0, sp);
  const spec = /^[A-Za-z]{1,16}$/.test(word) ? COMMANDS.get(word.toUpperCase()) : undefined;
  if (!spec) fail(UNKNOWN_COMMAND, 'Command unrecognized');
  if (spec.in !== 'both' && spec.in !== (opts.lmtp ? 'lmtp' : 'smtp')) {
    fail(UNKNOWN_COMMAND, opts.lmtp ? 'This is LMTP: use LHLO (RFC 2033 4.1)' : 'Command unrecognized');
  }

  const args = text.slice(word.length);
  if (spec.addresses && !opts.smtputf8Allowed && /[^\x00-\x7f]/.test(args)) {
    fail(NON_ASCII_ADDRESS, 'Non-ASCII addresses not permitted without SMTPUTF8');
  }
  if (!decoded.valid) fail(LINE_SYNTAX, 'Invalid UTF-8 in command');
  if (/[\x00-\x1f\x7f]/.test(args)) fail(LINE_SYNTAX, 'Control characters in command');

  return spec.parse(new Scanner(text, word.length), opts);
}
