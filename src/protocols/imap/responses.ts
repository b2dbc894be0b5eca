/**
 * IMAP server responses (RFC 9051 7): their wire form and the response codes
 * (RFC 9051 7.1, RFC 5530) as named constants.
 *
 *   response-tagged = tag SP resp-cond-state CRLF        "A1 OK [code] text"
 *   response-data   = "*" SP (resp-cond-state / ...) CRLF "* OK ...", "* LIST ..."
 *   response-fatal  = "*" SP resp-cond-bye CRLF          "* BYE text"
 *   continue-req    = "+" SP (resp-text / base64) CRLF   "+ Ready"
 *
 * Text after a status is human-readable (resp-text): the helpers keep it one
 * line of printable ASCII, so a reason that quotes client input can never
 * end the line or forge a response.
 */
import { DELIMITER } from '../../core/mailbox-names.ts';
import { imapString } from './encode/imap-string.ts';
import { encodeMailboxName } from './parser/index.ts';

export type Status = 'OK' | 'NO' | 'BAD';

/**
 * Response codes (resp-text-code). The ones with arguments are built by the
 * functions below; the rest are atoms.
 */
export const CODE = {
  /** RFC 9051 7.1: a message the user should see. */
  ALERT: 'ALERT',
  /** RFC 5530 3: wrong user name or password (no hint which). */
  AUTHENTICATIONFAILED: 'AUTHENTICATIONFAILED',
  /** RFC 5530 3: authenticated, but may not act as the requested authorization identity. */
  AUTHORIZATIONFAILED: 'AUTHORIZATIONFAILED',
  /** RFC 5530 3: the operation is not allowed here (and never will be). */
  CANNOT: 'CANNOT',
  /** RFC 5530 3: the client did something it should not have (a command in the wrong place). */
  CLIENTBUG: 'CLIENTBUG',
  /** RFC 5530 3: the mailbox (or what the command names) does not exist. */
  NONEXISTENT: 'NONEXISTENT',
  /** RFC 5530 3: the thing to create exists already. */
  ALREADYEXISTS: 'ALREADYEXISTS',
  /** RFC 9208 4.3 / RFC 5530 3: the account is over its storage quota. */
  OVERQUOTA: 'OVERQUOTA',
  /** RFC 5530 3: the operation needs an encrypted connection (LOGINDISABLED before TLS). */
  PRIVACYREQUIRED: 'PRIVACYREQUIRED',
  /** RFC 5530 3: an internal error (logged on our side). */
  SERVERBUG: 'SERVERBUG',
  /** RFC 7889 4 / RFC 4469 5: the message or literal is too large. */
  TOOBIG: 'TOOBIG',
  /** RFC 9051 7.1: APPEND/COPY to a mailbox that does not exist but could be created. */
  TRYCREATE: 'TRYCREATE',
  /** RFC 5530 3: temporary failure (a limit that will lift, a subsystem down): try again later. */
  UNAVAILABLE: 'UNAVAILABLE',
  /** RFC 6154 5.3: the special-use attribute cannot be given to the mailbox. */
  USEATTR: 'USEATTR',
  /** RFC 5530 3: the object is in use (locked by another session). */
  INUSE: 'INUSE',
} as const;

/** resp-text-code "CAPABILITY" SP capability-data (RFC 9051 7.1). */
export function capabilityCode(caps: readonly string[]): string {
  return `CAPABILITY ${caps.join(' ')}`;
}

/** UIDPLUS "APPENDUID" SP nz-number SP append-uid (RFC 4315 3; RFC 9051 7.1); several UIDs as a uid-set. */
export function appendUidCode(uidValidity: number, uids: readonly number[]): string {
  return `APPENDUID ${uidValidity} ${uidSet(uids)}`;
}

/** uid-set: ascending runs as "a:b", joined by commas (RFC 4315 4, RFC 9051 9). */
export function uidSet(uids: readonly number[]): string {
  const sorted = [...uids].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(j === i ? `${sorted[i]}` : `${sorted[i]}:${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** Printable ASCII on one line; never empty (RFC 9051 9: text = 1*TEXT-CHAR). */
export function safeText(text: string, max = 300): string {
  const t = text.replace(/[^\x20-\x7e]/g, '?').slice(0, max);
  return t === '' ? 'Done' : t;
}

function condition(status: Status | 'BYE', text: string, code?: string): string {
  return code ? `${status} [${code}] ${safeText(text)}` : `${status} ${safeText(text)}`;
}

/** A tagged completion: `tag OK|NO|BAD [code] text`. */
export function tagged(tag: string, status: Status, text: string, code?: string): string {
  return `${tag} ${condition(status, text, code)}\r\n`;
}

/** An untagged status response, `* OK|NO|BAD [code] text` (RFC 9051 7.1.1-7.1.3). */
export function untaggedStatus(status: Status, text: string, code?: string): string {
  return `* ${condition(status, text, code)}\r\n`;
}

/** `* BYE text` (RFC 9051 7.1.5): the server is closing the connection. */
export function bye(text: string, code?: string): string {
  return `* ${condition('BYE', text, code)}\r\n`;
}

/** Untagged data, `* <data>`: the caller builds `data` from the encoders (strings quoted, names encoded). */
export function untagged(data: string): string {
  return `* ${data}\r\n`;
}

/** A command continuation request (RFC 9051 7.5): `+ text`, or `+ ` with an empty SASL challenge. */
export function continuation(text: string): string {
  return text === '' ? '+ \r\n' : `+ ${safeText(text)}\r\n`;
}

/**
 * A mailbox name as a response argument (RFC 9051 9 mailbox): modified UTF-7
 * for IMAP4rev1 clients, UTF-8 once enabled, quoted or as a literal.
 */
export function mailboxArg(name: string, utf8: boolean): string {
  return imapString(encodeMailboxName(name, utf8), { utf8 });
}

/** The hierarchy delimiter as LIST and NAMESPACE send it (quoted: "/" is a QUOTED-CHAR, not an atom). */
export const DELIMITER_ARG = `"${DELIMITER}"`;
