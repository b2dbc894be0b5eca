/**
 * Delivery status notifications: the message the outbound queue sends back
 * to the sender when recipients failed, are delayed, or (NOTIFY=SUCCESS) were
 * delivered. RFC 3464 (the format), RFC 3461 (what the sender asked for:
 * RET, ENVID, ORCPT), RFC 6522 (multipart/report), RFC 6533 (non-ASCII
 * addresses), RFC 3834 (Auto-Submitted).
 *
 * The message is a multipart/report; report-type=delivery-status of
 *   1. text/plain, utf-8: what happened, per recipient, with the remote reply;
 *   2. message/delivery-status (RFC 3464 2.2, 2.3), or, when any address in
 *      it is not ASCII, message/global-delivery-status (RFC 6533) with the
 *      "utf-8" address type (RFC 6533 3) for those addresses, 8bit;
 *   3. the original (RFC 3461 4.3, RFC 6522): RET=FULL message/rfc822 (7bit
 *      or 8bit), or message/global (RFC 6532) when its header section is
 *      not ASCII; RET=HDRS, or a message over maxOriginalBytes or one that
 *      cannot travel as 8bit (a line over 998 octets, a NUL), only its header
 *      section: text/rfc822-headers, or message/global-headers (RFC 6533)
 *      when not ASCII, base64 if it has such lines. No third part when the
 *      original is empty.
 *
 * Everything ends lines with CRLF (the original's bare CR and LF become CRLF),
 * no line is longer than 998 octets (header fields are folded at 78 where
 * there is whitespace, and every value that goes into one is capped), and
 * the boundary does not occur in the original. Text that came from a remote
 * server (the diagnostic) or the sender (ENVID, ORCPT) is untrusted: control
 * characters (CR and LF included) become spaces, it is capped in length, and
 * in the ASCII report non-ASCII characters become "?".
 *
 * The result can need 8BITMIME (an 8-bit original, a non-ASCII report) and
 * SMTPUTF8 (a non-ASCII To or report): buildDsnMessage says which, so the
 * queue can pick the transport; the DSN goes out with a null reverse path
 * (RFC 5321 4.5.5), which is the caller's business.
 */
import { randomBytes } from 'node:crypto';
import { domainToASCII } from 'node:url';

export type DsnAction = 'failed' | 'delayed' | 'delivered' | 'relayed' | 'expanded';

export interface DsnRecipient {
  /** The final recipient (RFC 3464 2.3.2). */
  address: string;
  /** ORCPT as `addr-type;address`, xtext already decoded (e.g. 'rfc822;bob@example.org'); a bare address means rfc822. */
  orcpt?: string;
  action: DsnAction;
  /** Enhanced status code (RFC 3463), e.g. '5.1.1'; a wrong one becomes 5.0.0 / 4.0.0 / 2.0.0 by action. */
  status: string;
  /** Host name or [ip] of the server that answered. */
  remoteMta?: string;
  /** The remote reply: `Diagnostic-Code: smtp; <code> <text>`. Untrusted. */
  diagnostic?: { code: number; text: string };
  lastAttempt?: Date;
  /** For 'delayed'. */
  willRetryUntil?: Date;
}

export interface DsnInput {
  /** Our host name (Reporting-MTA). */
  reportingMta: string;
  /** The From address, e.g. MAILER-DAEMON@<host>. */
  from: string;
  /** The original envelope sender. Never empty: nothing is sent to <> (RFC 5321 4.5.5); throws on ''. */
  to: string;
  /** Original-Envelope-Id (RFC 3461 4.4), xtext already decoded. */
  envid?: string;
  arrivalDate: Date;
  recipients: DsnRecipient[];
  /** The original message, header and body. */
  original: Buffer;
  /** RFC 3461 4.3: return the full message or only its header section. */
  ret: 'FULL' | 'HDRS';
  /** Cap on the returned content (default DEFAULT_MAX_ORIGINAL_BYTES); over it, the header section only. */
  maxOriginalBytes?: number;
  now?: Date;
  /** With or without angle brackets; default `<random@reportingMta>`. */
  messageId?: string;
}

export interface BuiltDsn {
  message: Buffer;
  /** Contains 8-bit octets: send with BODY=8BITMIME (RFC 6152). */
  eightBit: boolean;
  /** Has non-ASCII header fields or a message/global* part: send with SMTPUTF8 (RFC 6531). */
  smtpUtf8: boolean;
  /** What the third part holds. */
  returned: 'full' | 'headers' | 'none';
}

export const DEFAULT_MAX_ORIGINAL_BYTES = 10 * 1024 * 1024;
/** Octets of remote diagnostic text kept (an SMTP reply line is at most 512, RFC 5321 4.5.3.1.5). */
export const MAX_DIAGNOSTIC_OCTETS = 800;
/** Octets of an address kept (RFC 5321 4.5.3.1.3: a path is at most 256 octets; utf-8 takes more). */
export const MAX_ADDRESS_OCTETS = 512;
/** RFC 3461 4.4: an ENVID is at most 100 characters. */
const MAX_ENVID_OCTETS = 100;
/** RFC 5322 2.1.1: no line longer than 998 octets (plus CRLF). */
const MAX_LINE = 998;

const CRLF = '\r\n';
const CRLF_BUF = Buffer.from(CRLF);

// ---------------------------------------------------------------------------
// Untrusted text

/** C0, DEL, C1 controls (CR and LF among them), line/paragraph separators, bidi overrides. */
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]+/g;

function isAscii(s: string): boolean {
  return /^[\x00-\x7f]*$/.test(s);
}

/** At most `max` UTF-8 octets, cut between characters, "..." marking the cut. */
function capOctets(s: string, max: number): string {
  if (Buffer.byteLength(s) <= max) return s;
  let out = '';
  let size = 0;
  for (const ch of s) {
    const n = Buffer.byteLength(ch);
    if (size + n > max - 3) break;
    out += ch;
    size += n;
  }
  return out + '...';
}

/** One line of printable text: controls to spaces, spaces collapsed, capped; ASCII only unless `utf8`. */
function oneLine(s: string, max: number, utf8: boolean): string {
  let t = s.replace(CONTROLS, ' ').replace(/\s+/g, ' ');
  if (!utf8) t = t.replace(/[^\x20-\x7e]/g, '?');
  return capOctets(t.trim(), max);
}

/** An address that goes into our own header fields: refused rather than repaired. */
function headerAddress(what: string, value: string): string {
  const a = value.trim();
  if (a === '' || a === '<>') throw new Error(`DSN ${what} address is empty (no DSN is sent to the null reverse path)`);
  if (/[\u0000-\u0020\u007f-\u009f<>]/.test(a) || Buffer.byteLength(a) > MAX_ADDRESS_OCTETS || !a.includes('@')) {
    throw new Error(`DSN ${what} address ${JSON.stringify(a.slice(0, 100))} is not a mail address`);
  }
  return a;
}

/** A host name for "dns;" fields: A-label form; an address literal [...] as is. */
function hostName(value: string): string {
  const v = oneLine(value, 300, true).replace(/\s/g, '');
  if (/^\[[0-9A-Fa-f:.IPv]+\]$/.test(v)) return v;
  const ascii = isAscii(v) ? v : domainToASCII(v);
  return ascii.replace(/[^A-Za-z0-9.\-_[\]:]/g, '') || 'unknown';
}

// ---------------------------------------------------------------------------
// Formatting

/** RFC 5322 3.3 date-time in UTC. */
function rfc5322Date(d: Date): string {
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d.getUTCDay()];
  const mon = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()];
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${day}, ${d.getUTCDate()} ${mon} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

function validDate(d: Date | undefined): d is Date {
  return d instanceof Date && !Number.isNaN(d.getTime());
}

/**
 * A header field folded (RFC 5322 2.2.3) before a space so that lines stay
 * within 78 octets where the value allows it; a single word longer than that
 * stays whole (values are capped well below 998 octets).
 */
function field(name: string, value: string): string {
  const words = value.split(' ');
  const lines: string[] = [];
  let line = `${name}:`;
  for (const word of words) {
    if (Buffer.byteLength(line) + 1 + Buffer.byteLength(word) > 78 && line.trim() !== `${name}:`) {
      lines.push(line);
      line = ` ${word}`;
    } else {
      line += ` ${word}`;
    }
  }
  lines.push(line);
  return lines.join(CRLF) + CRLF;
}

/** A paragraph wrapped at `width` characters, continuation lines indented. */
function wrap(text: string, width = 76, indent = ''): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ').filter((w) => w !== '')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = indent + word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** Base64 in lines of 76 characters (RFC 2045 6.8). */
function base64Lines(data: Buffer): string {
  const b64 = data.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 76) lines.push(b64.slice(i, i + 76));
  return lines.join(CRLF) + CRLF;
}

// ---------------------------------------------------------------------------
// The original message

/** Bare CR and bare LF become CRLF. */
function toCrlf(buf: Buffer): Buffer {
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (c === 0x0d) {
      if (buf[i + 1] === 0x0a) {
        i++;
        continue;
      }
    } else if (c !== 0x0a) {
      continue;
    }
    parts.push(buf.subarray(start, i), CRLF_BUF);
    start = i + 1;
  }
  if (start === 0) return buf;
  parts.push(buf.subarray(start));
  return Buffer.concat(parts);
}

interface Scan {
  eightBit: boolean;
  /** Has a NUL or a line over 998 octets: cannot be sent as 7bit/8bit (RFC 2045 2.7, 2.8). */
  binary: boolean;
}

function scan(buf: Buffer): Scan {
  let eightBit = false;
  let binary = false;
  let lineStart = 0;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i]!;
    if (c === 0x0a) {
      if (i - 1 - lineStart > MAX_LINE) binary = true;
      lineStart = i + 1;
    } else if (c >= 0x80) eightBit = true;
    else if (c === 0) binary = true;
  }
  if (buf.length - lineStart > MAX_LINE) binary = true;
  return { eightBit, binary };
}

/**
 * The header section of a message as received (any line ends) with its last
 * line end, without the empty line; the whole message when there is no
 * empty line.
 */
function headerSection(msg: Buffer): Buffer {
  if (msg[0] === 0x0a || (msg[0] === 0x0d && msg[1] === 0x0a)) return msg.subarray(0, 0);
  for (let i = msg.indexOf(0x0a); i >= 0; i = msg.indexOf(0x0a, i + 1)) {
    if (msg[i + 1] === 0x0a || (msg[i + 1] === 0x0d && msg[i + 2] === 0x0a)) return msg.subarray(0, i + 1);
  }
  return msg;
}

/** At most `max` octets of whole lines. */
function capLines(buf: Buffer, max: number): Buffer {
  if (buf.length <= max) return buf;
  const cut = buf.lastIndexOf(CRLF_BUF, max - 2);
  return buf.subarray(0, cut < 0 ? 0 : cut + 2);
}

interface ReturnedPart {
  headers: string;
  body: Buffer;
  returned: 'full' | 'headers' | 'none';
  eightBit: boolean;
  global: boolean;
  /** Why less than asked for was returned. */
  note?: string;
}

function returnedPart(input: DsnInput): ReturnedPart {
  const max = Math.max(0, Math.floor(input.maxOriginalBytes ?? DEFAULT_MAX_ORIGINAL_BYTES));
  if (input.original.length === 0) return { headers: '', body: Buffer.alloc(0), returned: 'none', eightBit: false, global: false };
  const header = toCrlf(headerSection(input.original));
  const headerScan = scan(header);
  let note: string | undefined;

  if (input.ret === 'FULL') {
    // Normalizing line ends only adds octets: a raw size over the cap stays over it.
    const original = input.original.length > max ? undefined : toCrlf(input.original);
    if (!original || original.length > max) {
      const size = original?.length ?? input.original.length;
      note = `The message is too large to return in full (${size} octets, the limit is ${max}); only its header is attached.`;
    } else {
      const s = scan(original);
      if (s.binary) {
        note = 'The message cannot be returned in full (it has lines longer than 998 octets or NUL characters); only its header is attached.';
      } else {
        // RFC 2046 5.2.1: message/rfc822 only as 7bit or 8bit; RFC 6532: message/global for a UTF-8 header section.
        const type = headerScan.eightBit ? 'message/global' : 'message/rfc822';
        const cte = s.eightBit ? '8bit' : '7bit';
        return {
          headers: field('Content-Type', type) + field('Content-Description', 'Returned message') + field('Content-Transfer-Encoding', cte),
          body: original,
          returned: 'full',
          eightBit: s.eightBit,
          global: headerScan.eightBit,
        };
      }
    }
  }

  // RFC 6522: text/rfc822-headers; RFC 6533: message/global-headers for UTF-8.
  const capped = capLines(header, max);
  const s = capped === header ? headerScan : scan(capped);
  const type = s.eightBit ? 'message/global-headers' : 'text/rfc822-headers';
  const base64 = s.binary;
  return {
    headers:
      field('Content-Type', s.eightBit ? type : `${type}; charset=us-ascii`) +
      field('Content-Description', 'Returned message header') +
      field('Content-Transfer-Encoding', base64 ? 'base64' : s.eightBit ? '8bit' : '7bit'),
    body: base64 ? Buffer.from(base64Lines(capped)) : capped,
    returned: 'headers',
    eightBit: s.eightBit && !base64,
    global: s.eightBit,
    ...(note ? { note } : {}),
  };
}

// ---------------------------------------------------------------------------
// Recipients

interface Rcpt {
  address: string;
  orcpt?: { type: string; address: string };
  action: DsnAction;
  status: string;
  remoteMta?: string;
  diagnostic?: string;
  lastAttempt?: Date;
  willRetryUntil?: Date;
}

const DEFAULT_STATUS: Record<DsnAction, string> = { failed: '5.0.0', delayed: '4.0.0', delivered: '2.0.0', relayed: '2.0.0', expanded: '2.0.0' };

function recipient(r: DsnRecipient, global: boolean): Rcpt {
  const address = oneLine(r.address, MAX_ADDRESS_OCTETS, true).replace(/^<(.*)>$/, '$1') || 'unknown';
  const out: Rcpt = {
    address,
    action: r.action,
    // RFC 3464 2.3.4: status-code = DIGIT "." 1*3DIGIT "." 1*3DIGIT, class 2, 4 or 5 (RFC 3463 2).
    status: /^[245]\.\d{1,3}\.\d{1,3}$/.test(r.status) ? r.status : DEFAULT_STATUS[r.action],
  };
  if (r.orcpt) {
    const o = oneLine(r.orcpt, MAX_ADDRESS_OCTETS + 20, true);
    const m = /^([A-Za-z0-9-]+);(.*)$/.exec(o);
    const type = m?.[1]?.toLowerCase() ?? 'rfc822';
    const addr = (m ? m[2] ?? '' : o).trim();
    if (addr) out.orcpt = { type: isAscii(addr) && type === 'utf-8' ? 'rfc822' : type, address: addr };
  }
  if (r.remoteMta) out.remoteMta = hostName(r.remoteMta);
  if (r.diagnostic) {
    const code = Number.isInteger(r.diagnostic.code) && r.diagnostic.code >= 200 && r.diagnostic.code <= 599 ? `${r.diagnostic.code} ` : '';
    const text = oneLine(r.diagnostic.text, MAX_DIAGNOSTIC_OCTETS, global);
    if (code || text) out.diagnostic = (code + text).trim();
  }
  if (validDate(r.lastAttempt)) out.lastAttempt = r.lastAttempt;
  if (validDate(r.willRetryUntil)) out.willRetryUntil = r.willRetryUntil;
  return out;
}

/** RFC 3464 2.3.2 / RFC 6533 3: "rfc822" for ASCII addresses, "utf-8" (raw, in the global report) otherwise. */
function typedAddress(address: string, type = 'rfc822'): string {
  return `${isAscii(address) ? type : 'utf-8'}; ${address}`;
}

/** RFC 3464 2.2 and 2.3: the per-message fields, then one group per recipient, each after an empty line. */
function deliveryStatus(input: DsnInput, mta: string, rcpts: Rcpt[], global: boolean): string {
  let out = field('Reporting-MTA', `dns; ${mta}`);
  if (input.envid) {
    const envid = oneLine(input.envid, MAX_ENVID_OCTETS, global);
    if (envid) out += field('Original-Envelope-Id', envid);
  }
  out += field('Arrival-Date', rfc5322Date(input.arrivalDate));
  for (const r of rcpts) {
    out += CRLF;
    if (r.orcpt) out += field('Original-Recipient', typedAddress(r.orcpt.address, r.orcpt.type));
    out += field('Final-Recipient', typedAddress(r.address));
    out += field('Action', r.action);
    out += field('Status', r.status);
    if (r.remoteMta) out += field('Remote-MTA', `dns; ${r.remoteMta}`);
    if (r.diagnostic) out += field('Diagnostic-Code', `smtp; ${r.diagnostic}`);
    if (r.lastAttempt) out += field('Last-Attempt-Date', rfc5322Date(r.lastAttempt));
    if (r.willRetryUntil) out += field('Will-Retry-Until', rfc5322Date(r.willRetryUntil));
  }
  return out;
}

// ---------------------------------------------------------------------------
// The human-readable part

/** RFC 3463 3: what the subject and detail digits of a status code mean, in words. */
const STATUS_WORDS: Record<string, string> = {
  '1.1': 'the mailbox does not exist',
  '1.2': 'the destination domain does not exist or takes no mail',
  '1.10': 'the recipient domain takes no mail (null MX)',
  '2.1': 'the mailbox is disabled',
  '2.2': 'the mailbox is full',
  '3.4': 'the message is larger than the receiving system accepts',
  '4.1': 'the receiving server did not answer',
  '4.4': 'no mail server was found for the destination',
  '4.7': 'the message was too long in the queue',
  '7.1': 'the receiving system refused the message (policy)',
};
const STATUS_SUBJECT: Record<string, string> = {
  '1': 'an addressing problem',
  '2': 'a problem with the mailbox',
  '3': 'a problem with the receiving mail system',
  '4': 'a network or routing problem',
  '5': 'a mail protocol problem',
  '6': 'a problem with the message content',
  '7': 'a security or policy problem',
};

function statusWords(status: string): string {
  const [, subject = '0', detail = '0'] = status.split('.');
  return STATUS_WORDS[`${subject}.${detail}`] ?? STATUS_SUBJECT[subject] ?? 'no further detail';
}

const INTRO: Record<DsnAction, string> = {
  failed: 'Your message could not be delivered to the recipients below. The mail system has given up on them; the error is permanent.',
  delayed: 'Your message has not been delivered yet to the recipients below. The mail system is still trying; you do not need to send it again.',
  delivered: 'Your message was delivered to the recipients below. You asked for this notice.',
  relayed: 'Your message was passed on to the recipients below through a mail system that sends no delivery notices, so none will follow.',
  expanded: 'Your message was delivered to the recipients below, which are lists or aliases that pass it on to their members.',
};

function humanText(mta: string, rcpts: Rcpt[], part: ReturnedPart): string {
  const lines: string[] = [`This is the mail system at ${mta}.`, ''];
  for (const action of ['failed', 'delayed', 'delivered', 'relayed', 'expanded'] as const) {
    const group = rcpts.filter((r) => r.action === action);
    if (group.length === 0) continue;
    lines.push(...wrap(INTRO[action]), '');
    for (const r of group) {
      let text = `<${r.address}>:`;
      if (r.diagnostic) text += r.remoteMta ? ` ${r.remoteMta} said: ${r.diagnostic}` : ` ${r.diagnostic}`;
      else text += ` ${statusWords(r.status)}`;
      text += ` (status ${r.status})`;
      if (r.willRetryUntil) text += `; will keep trying until ${rfc5322Date(r.willRetryUntil)}`;
      lines.push(...wrap(text, 76, '    '), '');
    }
  }
  if (part.note) lines.push(...wrap(part.note), '');
  else if (part.returned === 'full') lines.push('Your message is attached.', '');
  else if (part.returned === 'headers') lines.push('The header of your message is attached.', '');
  return lines.join(CRLF);
}

// ---------------------------------------------------------------------------
// The message

const SUBJECTS: ReadonlyArray<[DsnAction, string]> = [
  ['failed', 'Undelivered Mail Returned to Sender'],
  ['delayed', 'Delayed Mail (still being retried)'],
];

function subjectOf(rcpts: Rcpt[]): string {
  for (const [action, subject] of SUBJECTS) if (rcpts.some((r) => r.action === action)) return subject;
  return 'Successful Mail Delivery Report';
}

function messageIdOf(input: DsnInput, mta: string): string {
  if (input.messageId === undefined) return `<${randomBytes(12).toString('hex')}@${mta}>`;
  const id = input.messageId.trim().replace(/^<(.*)>$/, '$1');
  if (!/^[\x21-\x3b\x3d\x3f-\x7e]+@[\x21-\x3b\x3d\x3f-\x7e]+$/.test(id)) throw new Error(`invalid DSN Message-ID ${JSON.stringify(input.messageId)}`);
  return `<${id}>`;
}

/** The DSN for `input`, with what it needs from the transport. See the file comment. */
export function buildDsnMessage(input: DsnInput): BuiltDsn {
  const to = headerAddress('To', input.to);
  const from = headerAddress('From', input.from);
  const mta = hostName(input.reportingMta);
  if (!input.reportingMta.trim() || mta === 'unknown') throw new Error('DSN without a Reporting-MTA host name');
  if (!validDate(input.arrivalDate)) throw new Error('DSN without a valid Arrival-Date');
  if (input.recipients.length === 0) throw new Error('DSN without recipients');

  // RFC 6533: the global report when an address in it is not ASCII.
  const global = input.recipients.some((r) => !isAscii(r.address) || (r.orcpt !== undefined && !isAscii(r.orcpt)));
  const rcpts = input.recipients.map((r) => recipient(r, global));
  const part = returnedPart(input);
  const now = validDate(input.now) ? input.now : new Date();

  const textString = humanText(mta, rcpts, part);
  const statusString = deliveryStatus(input, mta, rcpts, global);
  const textAscii = isAscii(textString);
  const statusEightBit = !isAscii(statusString);
  const text = textAscii ? Buffer.from(textString) : Buffer.from(base64Lines(Buffer.from(textString)));
  const status = Buffer.from(statusString);

  // RFC 2046 5.1.1: the boundary must not occur in the encapsulated parts.
  let boundary = '';
  do boundary = `=_dsn_${randomBytes(12).toString('hex')}`;
  while (part.body.includes(boundary) || text.includes(boundary) || status.includes(boundary));

  const head =
    field('From', `Mail Delivery System <${from}>`) +
    field('To', `<${to}>`) +
    field('Subject', subjectOf(rcpts)) +
    field('Date', rfc5322Date(now)) +
    field('Message-ID', messageIdOf(input, mta)) +
    // RFC 3834 5: an automatic response; nobody should answer it automatically.
    field('Auto-Submitted', 'auto-replied') +
    field('MIME-Version', '1.0') +
    // RFC 6522: multipart/report; report-type names the subtype of the second part.
    field('Content-Type', `multipart/report; report-type=delivery-status; boundary="${boundary}"`) +
    CRLF +
    'This is a MIME-formatted delivery status notification (RFC 3464).' +
    CRLF;

  const chunks: Buffer[] = [Buffer.from(head)];
  const open = (headers: string): void => {
    chunks.push(Buffer.from(`${CRLF}--${boundary}${CRLF}${headers}${CRLF}`));
  };
  open(
    field('Content-Type', 'text/plain; charset=utf-8') +
      field('Content-Description', 'Notification') +
      field('Content-Transfer-Encoding', textAscii ? '7bit' : 'base64'),
  );
  chunks.push(text);
  open(
    field('Content-Type', global ? 'message/global-delivery-status' : 'message/delivery-status') +
      field('Content-Description', 'Delivery report') +
      // RFC 6533: the global report is UTF-8, sent 8bit.
      field('Content-Transfer-Encoding', statusEightBit ? '8bit' : '7bit'),
  );
  chunks.push(status);
  if (part.returned !== 'none') {
    open(part.headers);
    chunks.push(part.body);
  }
  chunks.push(Buffer.from(`${CRLF}--${boundary}--${CRLF}`));

  const headEightBit = !isAscii(head);
  return {
    message: Buffer.concat(chunks),
    eightBit: headEightBit || statusEightBit || part.eightBit,
    smtpUtf8: headEightBit || statusEightBit || part.global,
    returned: part.returned,
  };
}

/** The DSN message for `input` (see buildDsnMessage for the transport it needs). */
export function buildDsn(input: DsnInput): Buffer {
  return buildDsnMessage(input).message;
}
