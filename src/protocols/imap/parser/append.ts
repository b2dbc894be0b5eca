/**
 * APPEND (RFC 9051 6.3.12; MULTIAPPEND RFC 3502 6; RFC 4466 2.3; BINARY
 * literal8 RFC 3516 4.2; UTF8 data RFC 6855 4):
 *
 *   append         = "APPEND" SP mailbox 1*append-message
 *   append-message = append-opts SP append-data
 *   append-opts    = [SP flag-list] [SP date-time] *(SP append-ext)
 *   append-data    = literal / literal8 / "UTF8" SP "(" literal8 ")"
 *
 * Message data normally arrives streamed (reader.ts): the command then holds
 * a placeholder with the literal's ordinal and size, and the session has
 * already sent the bytes to its sink. A plain literal must not contain NUL
 * (RFC 9051 9 CHAR8; literal8 may, RFC 3516 4.2). No append-ext is known
 * (CATENATE is not supported): any is a syntax error.
 */
import { TAG_CHAR } from './chars.ts';
import { dateTime, type ImapDateTime } from './date.ts';
import { ParseError } from './errors.ts';
import { flagList } from './flags.ts';
import { mailbox } from './primitives.ts';
import type { RawCommand } from './raw-command.ts';
import { LITERAL, Scanner, type ParseOptions } from './scanner.ts';

export type AppendData =
  /** Handed out as literalData items; `ordinal` counts the streamed literals of the command from 0. */
  | { readonly kind: 'streamed'; readonly ordinal: number; readonly size: number }
  | { readonly kind: 'inline'; readonly bytes: Buffer };

export interface AppendMessage {
  /** flag-list, or null when none was given (the server then sets none, RFC 9051 6.3.12). */
  readonly flags: readonly string[] | null;
  /** INTERNALDATE to set, or null for now. */
  readonly date: ImapDateTime | null;
  readonly data: AppendData;
  /** Sent as literal8 (RFC 3516 4.2): may contain NUL, may be binary content. */
  readonly binary: boolean;
  /** Sent as UTF8 (...) (RFC 6855 4): a message with UTF-8 headers. */
  readonly utf8: boolean;
}

export interface AppendCommand {
  readonly name: 'APPEND';
  readonly tag: string;
  readonly mailbox: string;
  /** One message, or several with MULTIAPPEND (RFC 3502), appended all or none. */
  readonly messages: readonly AppendMessage[];
}

/** The literal standing here as message data. */
function messageData(s: Scanner, utf8: boolean): Pick<AppendMessage, 'data' | 'binary' | 'utf8'> {
  if (s.peek() !== LITERAL) s.fail('Expected the message literal');
  const token = s.literal();
  if (token.kind === 'streamed') {
    if (token.containsNul && !token.binary) s.fail('NUL in message data: use literal8 (RFC 3516)');
    return { data: { kind: 'streamed', ordinal: token.ordinal, size: token.size }, binary: token.binary, utf8 };
  }
  if (!token.binary && token.data.includes(0)) s.fail('NUL in message data: use literal8 (RFC 3516)');
  return { data: { kind: 'inline', bytes: token.data }, binary: token.binary, utf8 };
}

function appendMessage(s: Scanner): AppendMessage {
  s.sp();
  let flags: string[] | null = null;
  let date: ImapDateTime | null = null;
  if (s.peek() === 0x28) {
    flags = flagList(s);
    s.sp();
  }
  if (s.peek() === 0x22) {
    date = dateTime(s);
    s.sp();
  }
  if (s.peek() === LITERAL) return { flags, date, ...messageData(s, false) };
  const word = s.keyword();
  if (word === 'UTF8') {
    if (!s.opts.utf8) s.fail('UTF8 message data needs ENABLE UTF8=ACCEPT (RFC 6855 4)');
    s.sp();
    s.expect(0x28, '"(" after UTF8');
    const data = messageData(s, true);
    s.expect(0x29, '")" after the UTF8 literal');
    return { flags, date, ...data };
  }
  return s.fail(word === 'CATENATE' ? 'CATENATE is not supported' : 'Expected flags, a date-time or the message literal');
}

export function append(s: Scanner, tag: string): AppendCommand {
  s.sp();
  const box = mailbox(s);
  const messages = [appendMessage(s)];
  while (!s.atEnd()) messages.push(appendMessage(s));
  return { name: 'APPEND', tag, mailbox: box, messages };
}

/**
 * The target mailbox of an APPEND whose first message literal is announced
 * (LiteralRequest.partial), so the session can answer `NO [TRYCREATE]` (RFC
 * 9051 6.3.12) before the client sends the message. Null when the text so far
 * does not name one.
 */
export function appendTarget(partial: RawCommand, opts: ParseOptions): string | null {
  const s = new Scanner(partial.pieces, opts, partial.tag);
  try {
    if (s.take(TAG_CHAR).length === 0) return null;
    s.sp();
    if (!s.eatKeyword('APPEND')) return null;
    s.sp();
    return mailbox(s);
  } catch (err) {
    if (err instanceof ParseError) return null;
    throw err;
  }
}
