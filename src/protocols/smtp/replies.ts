/**
 * SMTP/LMTP replies: the reply codes of RFC 5321 4.2 with the enhanced status
 * codes of RFC 3463 (ENHANCEDSTATUSCODES, RFC 2034), as named constants, and
 * their wire form.
 *
 * Each constant carries a default text; to say something more specific keep
 * the codes and replace the text: `withText(NO_SUCH_USER, 'No such user here')`.
 * Replies without an enhanced code (greeting, EHLO, 334, 354) are the ones RFC
 * 2034 3 and RFC 4954 4 exempt.
 */

/** A reply as the server sends it; `text` with several entries is a multi-line reply (RFC 5321 4.2.1). */
export interface SmtpReply {
  readonly code: number;
  /** RFC 3463 class.subject.detail, e.g. '2.1.5'. Sent only when ENHANCEDSTATUSCODES is in effect. */
  readonly enhanced?: string;
  readonly text: string | readonly string[];
}

function reply(code: number, enhanced: string | undefined, text: string): SmtpReply {
  return Object.freeze(enhanced === undefined ? { code, text } : { code, enhanced, text });
}

/** The same codes with another text. */
export function withText(base: SmtpReply, text: string | readonly string[]): SmtpReply {
  return base.enhanced === undefined ? { code: base.code, text } : { code: base.code, enhanced: base.enhanced, text };
}

// --- 2xx: positive completion -------------------------------------------------

/** RFC 5321 4.2.3 "211 System status"; RFC 3463 3.1 X.0.0. */
export const SYSTEM_STATUS = reply(211, '2.0.0', 'System status');
/** RFC 5321 4.1.1.8 HELP: "214 Help message". */
export const HELP_MESSAGE = reply(214, '2.0.0', 'See https://www.rfc-editor.org/rfc/rfc5321');
/** RFC 5321 3.1 greeting. No enhanced code on the greeting (RFC 2034 3). */
export const SERVICE_READY = reply(220, undefined, 'ESMTP ready');
/** RFC 3207 4: "220 Ready to start TLS". */
export const READY_TO_START_TLS = reply(220, '2.0.0', 'Ready to start TLS');
/** RFC 5321 4.1.1.10 QUIT: 221. */
export const CLOSING = reply(221, '2.0.0', 'Bye');
/** RFC 4954 6: "235 2.7.0 Authentication Succeeded". */
export const AUTH_OK = reply(235, '2.7.0', 'Authentication succeeded');
/** RFC 5321 4.2.2 "250 Requested mail action okay, completed"; RFC 3463 X.0.0. */
export const OK = reply(250, '2.0.0', 'OK');
/** EHLO/LHLO reply (RFC 5321 4.1.1.1, RFC 2033 4.1): no enhanced code (RFC 2034 3). */
export const HELLO = reply(250, undefined, 'Hello');
/** MAIL accepted; RFC 3463 3.2 X.1.0 "Other address status". */
export const SENDER_OK = reply(250, '2.1.0', 'Sender OK');
/** RCPT accepted; RFC 3463 3.2 X.1.5 "Destination address valid". */
export const RECIPIENT_OK = reply(250, '2.1.5', 'Recipient OK');
/** RFC 5321 4.1.1.4 DATA (and RFC 3030 BDAT LAST) completed: queued or delivered; RFC 3463 X.0.0. */
export const MESSAGE_ACCEPTED = reply(250, '2.0.0', 'Message accepted');
/** RFC 3030 2: a non-LAST BDAT chunk was received. */
export const CHUNK_OK = reply(250, '2.0.0', 'Chunk received');
/** RFC 5321 3.5.3 "252 Cannot VRFY user, but will accept message and attempt delivery". */
export const CANNOT_VRFY = reply(252, '2.0.0', 'Cannot VRFY user, but will accept message and attempt delivery');

// --- 3xx: positive intermediate -----------------------------------------------

/** RFC 4954 4: server challenge, base64 text, no enhanced code. */
export const AUTH_CONTINUE = reply(334, undefined, '');
/** RFC 5321 4.1.1.4: "354 Start mail input; end with <CRLF>.<CRLF>". No enhanced code (RFC 2034 3: 2xx/4xx/5xx only). */
export const START_MAIL = reply(354, undefined, 'Start mail input; end with <CRLF>.<CRLF>');

// --- 4xx: transient negative ----------------------------------------------------

/** RFC 5321 3.8 "421 Service not available, closing transmission channel"; RFC 3463 X.3.2 "System not accepting network messages". */
export const SERVICE_UNAVAILABLE = reply(421, '4.3.2', 'Service not available, closing transmission channel');
/** RFC 5321 4.5.3.2: "421 ... timeout"; RFC 3463 X.4.2 "Bad connection". */
export const TIMEOUT = reply(421, '4.4.2', 'Timeout, closing transmission channel');
/** RFC 5321 4.2.2 "450 Requested mail action not taken: mailbox unavailable (e.g., mailbox busy)"; RFC 3463 X.2.0. */
export const MAILBOX_BUSY = reply(450, '4.2.0', 'Mailbox busy, try again later');
/** RFC 5321 4.2.2 "451 Requested action aborted: local error in processing"; RFC 3463 X.3.0 "Other or undefined mail system status". */
/** Per-IP message rate exceeded (RFC 3463 X.7.1: delivery not authorized, here: not now). */
export const RATE_LIMITED = reply(450, '4.7.1', 'Too much mail from your address, try again later');

export const LOCAL_ERROR = reply(451, '4.3.0', 'Local error in processing, try again later');
/** RFC 5321 4.2.2 "452 Requested action not taken: insufficient system storage"; RFC 3463 X.3.1 "Mail system full". */
export const INSUFFICIENT_STORAGE = reply(452, '4.3.1', 'Insufficient system storage');
/** RFC 5321 4.5.3.1.10 "452 Too many recipients"; RFC 3463 X.5.3 "Too many recipients". */
export const TOO_MANY_RECIPIENTS = reply(452, '4.5.3', 'Too many recipients');
/** Temporary over quota; RFC 3463 X.2.2 "Mailbox full". */
export const OVER_QUOTA_TEMPORARY = reply(452, '4.2.2', 'Mailbox full, try again later');
/** RFC 3207 4: "454 TLS not available due to temporary reason"; RFC 3463 X.7.0. */
export const TLS_NOT_AVAILABLE = reply(454, '4.7.0', 'TLS not available due to temporary reason');
/** RFC 4954 6: "454 4.7.0 Temporary authentication failure". */
export const AUTH_TEMPORARY_FAILURE = reply(454, '4.7.0', 'Temporary authentication failure');

// --- 5xx: permanent negative ------------------------------------------------------

/** RFC 5321 4.2.2 "500 Syntax error, command unrecognized"; RFC 3463 X.5.2 "Syntax error". */
export const SYNTAX = reply(500, '5.5.2', 'Syntax error');
/** RFC 5321 4.2.4: a command we do not know; RFC 3463 X.5.1 "Invalid command". */
export const UNKNOWN_COMMAND = reply(500, '5.5.1', 'Command unrecognized');
/** RFC 5321 4.5.3.1.10 "500 Line too long"; RFC 3463 X.5.2. */
export const LINE_TOO_LONG = reply(500, '5.5.2', 'Line too long');
/** RFC 4954 4: "500 5.5.6 Authentication Exchange line is too long". */
export const AUTH_LINE_TOO_LONG = reply(500, '5.5.6', 'Authentication exchange line is too long');
/** RFC 5321 4.2.2 "501 Syntax error in parameters or arguments"; RFC 3463 X.5.4 "Invalid command arguments". */
export const ARGUMENT_SYNTAX = reply(501, '5.5.4', 'Syntax error in parameters or arguments');
/** A command line that is no text: invalid UTF-8, control characters (RFC 5321 4.1.2, RFC 6531 3.3); RFC 3463 X.5.2. */
export const LINE_SYNTAX = reply(501, '5.5.2', 'Syntax error: invalid characters in command');
/** MAIL with a bad reverse-path; RFC 3463 X.1.7 "Bad sender's mailbox address syntax". */
export const BAD_SENDER_SYNTAX = reply(501, '5.1.7', "Bad sender's mailbox address syntax");
/** RCPT with a bad forward-path; RFC 3463 X.1.3 "Bad destination mailbox address syntax". */
export const BAD_RECIPIENT_SYNTAX = reply(501, '5.1.3', 'Bad destination mailbox address syntax');
/** RFC 4954 4: "501 5.5.2 Cannot Base64-decode Client responses". */
export const BAD_BASE64 = reply(501, '5.5.2', 'Cannot decode base64');
/** RFC 4954 4: the client answered a challenge with "*"; RFC 3463 X.0.0. */
export const AUTH_CANCELLED = reply(501, '5.0.0', 'Authentication cancelled');
/** RFC 5321 4.2.4 "502 Command not implemented"; RFC 3463 X.5.1. */
export const NOT_IMPLEMENTED = reply(502, '5.5.1', 'Command not implemented');
/** RFC 5321 4.2.2 "503 Bad sequence of commands"; RFC 3463 X.5.1. */
export const BAD_SEQUENCE = reply(503, '5.5.1', 'Bad sequence of commands');
/** RFC 5321 4.2.2 "504 Command parameter not implemented"; RFC 3463 X.5.4. */
export const PARAM_NOT_IMPLEMENTED = reply(504, '5.5.4', 'Command parameter not implemented');
/** RFC 4954 4: "504 5.5.4 Unrecognized authentication type". */
export const AUTH_MECHANISM_UNKNOWN = reply(504, '5.5.4', 'Unrecognized authentication type');
/** RFC 4954 6: "530 5.7.0 Authentication required". */
export const AUTH_REQUIRED = reply(530, '5.7.0', 'Authentication required');
/** RFC 3207 4: "530 Must issue a STARTTLS command first"; RFC 3463 X.7.0. */
export const STARTTLS_REQUIRED = reply(530, '5.7.0', 'Must issue a STARTTLS command first');
/** RFC 4954 6: "534 5.7.9 Authentication mechanism is too weak". */
export const AUTH_TOO_WEAK = reply(534, '5.7.9', 'Authentication mechanism is too weak');
/** RFC 4954 6: "535 5.7.8 Authentication credentials invalid". */
export const AUTH_FAILED = reply(535, '5.7.8', 'Authentication credentials invalid');
/** RFC 4954 6: "538 5.7.11 Encryption required for requested authentication mechanism". */
export const ENCRYPTION_REQUIRED = reply(538, '5.7.11', 'Encryption required for requested authentication mechanism');
/** RFC 5321 4.2.2 "550 mailbox unavailable"; RFC 3463 X.1.1 "Bad destination mailbox address". */
export const NO_SUCH_USER = reply(550, '5.1.1', 'No such user');
/** RFC 3463 X.2.1 "Mailbox disabled, not accepting messages". */
export const MAILBOX_DISABLED = reply(550, '5.2.1', 'Mailbox disabled, not accepting messages');
/** RFC 5321 3.6.2/7.1 policy refusal; RFC 3463 X.7.1 "Delivery not authorized, message refused". */
export const ACCESS_DENIED = reply(550, '5.7.1', 'Delivery not authorized');
/** Submission: the envelope sender or From is not one of the user's addresses (RFC 6409 8.1). */
export const SENDER_NOT_OWNED = reply(550, '5.7.1', 'Sender address not owned by the authenticated user');
/** RFC 8689 5: REQUIRETLS could not be honoured; "5.7.30 REQUIRETLS support required". */
export const REQUIRETLS_UNSUPPORTED = reply(550, '5.7.30', 'REQUIRETLS support required');
/** RFC 5321 4.2.2 "552 Requested mail action aborted: exceeded storage allocation"; RFC 3463 X.2.2 "Mailbox full". */
export const OVER_QUOTA = reply(552, '5.2.2', 'Mailbox full');
/** RFC 1870 6, RFC 5321 4.5.3.1.10 "552 Too much mail data"; RFC 3463 X.3.4 "Message too big for system". */
export const MESSAGE_TOO_BIG = reply(552, '5.3.4', 'Message size exceeds fixed maximum message size');
/** RFC 6531 3.5: "553 5.6.7 Non-ASCII addresses not permitted for that sender/recipient". */
export const NON_ASCII_ADDRESS = reply(553, '5.6.7', 'Non-ASCII addresses not permitted without SMTPUTF8');
/** RFC 5321 3.3 "554 Transaction failed"; RFC 3463 X.5.0 "Other or undefined protocol status". */
export const TRANSACTION_FAILED = reply(554, '5.5.0', 'Transaction failed');
/** RFC 5321 3.3: DATA without an accepted recipient ("554 No valid recipients"); RFC 3463 X.5.1. */
export const NO_VALID_RECIPIENTS = reply(554, '5.5.1', 'No valid recipients');
/** RFC 5321 6.3: too many Received fields, a mail loop (RFC 3463 X.4.6 routing loop). */
export const TOO_MANY_HOPS = reply(554, '5.4.6', 'Too many hops: mail loop detected');
/** Relaying refused (RFC 5321 3.6.2; "550" is also allowed there); RFC 3463 X.7.1. */
export const RELAY_DENIED = reply(554, '5.7.1', 'Relay access denied');
/** RFC 5321 4.1.1.11 "555 MAIL FROM/RCPT TO parameters not recognized or not implemented"; RFC 3463 X.5.4. */
export const UNRECOGNIZED_PARAMETER = reply(555, '5.5.4', 'Parameter not recognized or not implemented');

// --- Wire form ------------------------------------------------------------------

export interface FormatOptions {
  /** ENHANCEDSTATUSCODES is in effect (advertised in EHLO/LHLO): prefix every line with the code (RFC 2034 3). */
  enhanced: boolean;
  /** UTF-8 may be sent (SMTPUTF8 in effect, RFC 6531 3.7.4.1). Otherwise non-ASCII characters become '?'. */
  utf8?: boolean;
}

/** RFC 5321 4.5.3.1.5: a reply line is at most 512 octets including CRLF. */
const MAX_REPLY_LINE = 510;

/**
 * RFC 5321 4.2 textstring = 1*(%d09 / %d32-126): every other control character
 * (CR and LF above all: no reply line can be split or smuggled in) becomes a
 * space; non-ASCII is kept only when UTF-8 is allowed.
 */
function textstring(text: string, utf8: boolean): string {
  let out = text.replace(/[\x00-\x08\x0a-\x1f\x7f]/g, ' ');
  // Lone surrogates cannot be encoded; C1 controls are controls too.
  out = out.replace(/[\u0080-\u009f\u2028\u2029]|\p{Cs}/gu, ' ');
  if (!utf8) out = out.replace(/[^\x00-\x7f]/gu, '?');
  return out;
}

/** Cuts `line` to at most `max` UTF-8 octets without splitting a character. */
function truncateOctets(line: string, max: number): string {
  if (Buffer.byteLength(line, 'utf8') <= max) return line;
  let out = '';
  let used = 0;
  for (const ch of line) {
    const n = Buffer.byteLength(ch, 'utf8');
    if (used + n > max) break;
    out += ch;
    used += n;
  }
  return out;
}

/**
 * The reply as sent on the wire (RFC 5321 4.2.1): `250-first` continuation
 * lines, `250 last`, each ending in CRLF, the enhanced code (when in effect)
 * repeated on every line (RFC 2034 3).
 */
export function formatReply(reply: SmtpReply, opts: FormatOptions): string {
  const lines = typeof reply.text === 'string' ? [reply.text] : reply.text.length ? [...reply.text] : [''];
  const code = String(reply.code);
  const prefix = opts.enhanced && reply.enhanced !== undefined ? `${reply.enhanced} ` : '';
  let out = '';
  lines.forEach((text, i) => {
    const sep = i === lines.length - 1 ? ' ' : '-';
    // An empty last line is still sent as "334 " (RFC 5321 4.2.1: clients accept the code with or without SP).
    const line = `${code}${sep}${textstring(prefix + text, opts.utf8 ?? false)}`;
    out += `${truncateOctets(line, MAX_REPLY_LINE)}\r\n`;
  });
  return out;
}
