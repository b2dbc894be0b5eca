/**
 * RFC 5322 header section: split, unfold, and the summary TEGU caches per
 * message (subject, sender, Message-ID, date, IMAP envelope, MIME structure,
 * search text), all from one streaming pass of the MIME parser
 * (mime-structure.ts). Bounded: only the first MAX_HEADER_BYTES of the header
 * are looked at, whatever arrives.
 */
import { addressParser, decodeWords } from 'postal-mime';
import { envelopeToJson, structureToJson, type StoredEnvelope } from './mime-json.ts';
import { fieldValue } from './mime-header.ts';
import { MAX_MESSAGE_HEADER_BYTES, MimeStructureParser, type ParsedMessage } from './mime-structure.ts';
import { searchVector } from './search-terms.ts';

export const MAX_HEADER_BYTES = MAX_MESSAGE_HEADER_BYTES;
/** How much decoded body text (text/plain and text/html parts, UTF-8 octets) goes into the full-text index at most. */
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

/**
 * PostgreSQL refuses NUL in text and jsonb, so no summary string may carry one,
 * whether it came raw in the header or out of an encoded word (=?utf-8?q?=00?=).
 */
function noNul(s: string): string {
  return s.replace(/\u0000/g, '');
}

/** Display names (decoded, RFC 2047) and addresses of an address list, for the search text. */
function addresses(value: string | undefined): { name: string; address: string }[] {
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
  /** Decoded subject (RFC 2047), "" when absent. */
  subject: string;
  fromAddress: string;
  messageId: string | null;
  sentAt: Date | null;
  /** IMAP ENVELOPE in raw form (messages.envelope; see mime-json.ts). */
  envelope: StoredEnvelope;
  /** The MIME tree with offsets into the message (messages.bodystructure; see mime-json.ts). */
  bodystructure: unknown;
  searchText: string;
  /** searchText as a tsvector literal (search-terms.ts), built here rather than by the database. */
  searchVector: string;
}

/** A parser for a message arriving in pieces, collecting what summarizeParsed() needs. */
export function messageParser(): MimeStructureParser {
  return new MimeStructureParser({ textBudget: MAX_SEARCH_BODY_BYTES });
}

/** The summary of a message in memory: one parse. */
export function summarizeMessage(raw: Buffer): MessageSummary {
  const parser = messageParser();
  parser.push(raw);
  return summarizeParsed(parser.finish());
}

/** The summary from a parse (of a message in memory, or fed piece by piece as it was spooled). */
export function summarizeParsed(parsed: ParsedMessage): MessageSummary {
  const get = (n: string): string | undefined => fieldValue(parsed.header, n);
  const rawSubject = get('subject');
  const subject = rawSubject === undefined ? '' : noNul(decodeWords(rawSubject));
  const from = addresses(get('from'));
  const date = get('date');
  const parsedDate = date ? new Date(date) : null;
  const people = [...from, ...addresses(get('to')), ...addresses(get('cc'))].map((a) => `${a.name} ${a.address}`).join(' ');
  const searchText = `${subject} ${people} ${parsed.bodyText}`; // none of them holds a NUL
  return {
    subject,
    fromAddress: (from[0]?.address ?? '').toLowerCase(),
    messageId: stripAngles(get('message-id')),
    sentAt: parsedDate && !Number.isNaN(parsedDate.getTime()) ? parsedDate : null,
    envelope: envelopeToJson(parsed.envelope),
    bodystructure: structureToJson(parsed.root),
    searchText,
    searchVector: searchVector(searchText),
  };
}
