/**
 * RFC 5322 header section: split, unfold, and the summary TEGU caches per
 * message (subject, sender, Message-ID, date, envelope fields, search text).
 * Bounded: only the first MAX_HEADER_BYTES are looked at, whatever arrives.
 */
import { addressParser, decodeWords } from 'postal-mime';

export const MAX_HEADER_BYTES = 256 * 1024;
/** How much of the body goes into the full-text index at most. */
export const MAX_SEARCH_BODY_BYTES = 64 * 1024;

export interface HeaderField {
  /** Field name as written. */
  name: string;
  /** Unfolded raw value (RFC 5322 2.2.3), encoded words kept. */
  value: string;
}

export interface HeaderBlock {
  fields: HeaderField[];
  /** Offset of the first body byte (after the empty line), or raw.length when there is none. */
  bodyOffset: number;
}

/** Finds the end of the header section: the first empty line (CRLF CRLF, or bare LF LF). */
function headerEnd(raw: Buffer): { end: number; bodyOffset: number } {
  const limit = Math.min(raw.length, MAX_HEADER_BYTES);
  // An empty header section (RFC 5322 3.5: fields may be absent): the message opens with the empty line.
  if (raw[0] === 0x0a) return { end: 0, bodyOffset: 1 };
  if (raw[0] === 0x0d && raw[1] === 0x0a) return { end: 0, bodyOffset: 2 };
  for (let i = 0; i < limit; i++) {
    if (raw[i] !== 0x0a) continue;
    if (raw[i + 1] === 0x0a) return { end: i + 1, bodyOffset: i + 2 };
    if (raw[i + 1] === 0x0d && raw[i + 2] === 0x0a) return { end: i + 1, bodyOffset: i + 3 };
  }
  if (raw.length <= MAX_HEADER_BYTES) return { end: raw.length, bodyOffset: raw.length };
  return { end: limit, bodyOffset: raw.length };
}

export function parseHeaderBlock(raw: Buffer): HeaderBlock {
  const { end, bodyOffset } = headerEnd(raw);
  const text = raw.subarray(0, end).toString('utf8');
  const fields: HeaderField[] = [];
  let current: HeaderField | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (line === '') continue;
    if ((line[0] === ' ' || line[0] === '\t') && current) {
      current.value += line; // unfold: drop the line break, keep the whitespace
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) {
      current = undefined; // not a field (RFC 5322 3.6.8 ftext); ignore the line
      continue;
    }
    current = { name: line.slice(0, colon).trim(), value: line.slice(colon + 1).trim() };
    fields.push(current);
  }
  // "Subject:" CRLF " text" unfolds to " text"; the value is trimmed like a one-line one.
  for (const f of fields) f.value = f.value.trim();
  return { fields, bodyOffset };
}

export function headerValue(block: HeaderBlock, name: string): string | undefined {
  const lower = name.toLowerCase();
  return block.fields.find((f) => f.name.toLowerCase() === lower)?.value;
}

export interface EnvelopeAddress {
  name: string;
  address: string;
}

/** Parsed header fields in the shape IMAP ENVELOPE (RFC 9051 7.5.2) needs; strings decoded. */
export interface Envelope {
  date: string | null;
  subject: string | null;
  from: EnvelopeAddress[];
  sender: EnvelopeAddress[];
  replyTo: EnvelopeAddress[];
  to: EnvelopeAddress[];
  cc: EnvelopeAddress[];
  bcc: EnvelopeAddress[];
  inReplyTo: string | null;
  messageId: string | null;
}

/**
 * PostgreSQL refuses NUL in text and jsonb, so no summary string may carry one,
 * whether it came raw in the header or out of an encoded word (=?utf-8?q?=00?=).
 */
function noNul(s: string): string {
  return s.replace(/\u0000/g, '');
}

function addresses(value: string | undefined): EnvelopeAddress[] {
  if (!value) return [];
  try {
    return addressParser(value, { flatten: true }).map((a) => ({ name: noNul(a.name), address: noNul(a.address ?? '') }));
  } catch {
    return [];
  }
}

function stripAngles(v: string | undefined): string | null {
  if (!v) return null;
  const m = /<([^>]*)>/.exec(v);
  return (m ? m[1]! : v).trim() || null;
}

export interface MessageSummary {
  subject: string;
  fromAddress: string;
  messageId: string | null;
  sentAt: Date | null;
  envelope: Envelope;
  searchText: string;
}

export function summarizeMessage(raw: Buffer): MessageSummary {
  const block = parseHeaderBlock(raw);
  const get = (n: string): string | undefined => {
    const v = headerValue(block, n);
    return v === undefined ? undefined : noNul(v);
  };
  const rawSubject = get('subject');
  const subject = rawSubject === undefined ? '' : noNul(decodeWords(rawSubject));
  const from = addresses(get('from'));
  const date = get('date');
  const parsedDate = date ? new Date(date) : null;
  const envelope: Envelope = {
    date: date ?? null,
    subject: rawSubject === undefined ? null : subject,
    from,
    sender: addresses(get('sender')),
    replyTo: addresses(get('reply-to')),
    to: addresses(get('to')),
    cc: addresses(get('cc')),
    bcc: addresses(get('bcc')),
    inReplyTo: get('in-reply-to') ?? null,
    messageId: get('message-id') ?? null,
  };
  const people = [...from, ...envelope.to, ...envelope.cc].map((a) => `${a.name} ${a.address}`).join(' ');
  // A first approximation of the text: the leading body bytes as UTF-8. The
  // MIME-aware extraction (decoded text parts) replaces this with the IMAP work.
  const body = raw.subarray(block.bodyOffset, block.bodyOffset + MAX_SEARCH_BODY_BYTES).toString('utf8');
  return {
    subject,
    fromAddress: (from[0]?.address ?? '').toLowerCase(),
    messageId: stripAngles(get('message-id')),
    sentAt: parsedDate && !Number.isNaN(parsedDate.getTime()) ? parsedDate : null,
    envelope,
    searchText: `${subject} ${people} ${body}`.replace(/\u0000/g, ''),
  };
}
