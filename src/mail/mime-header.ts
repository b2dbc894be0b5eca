/**
 * A header section (RFC 5322 2.2) as bytes -> fields with unfolded raw values,
 * for the MIME structure parser (the message header and every part header).
 */
import { isUtf8 } from 'node:buffer';

export interface RawHeaderField {
  /** Field name as written, surrounding whitespace removed. */
  name: string;
  /** Unfolded value (RFC 5322 2.2.3: line breaks removed, whitespace kept), trimmed, raw (encoded words kept). */
  value: string;
}

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HTAB = 0x09;

/**
 * Header text as a string: UTF-8 when it is valid UTF-8 (RFC 6532 3.2), else
 * ISO-8859-1 so every octet stays visible (8-bit headers from old mailers).
 * NUL is dropped: PostgreSQL text and jsonb refuse it.
 */
export function headerText(b: Buffer): string {
  const s = isUtf8(b) ? b.toString('utf8') : b.toString('latin1');
  return s.includes('\u0000') ? s.replace(/\u0000/g, '') : s;
}

/**
 * Splits a header section (without the empty line that ends it; CRLF or bare
 * LF line ends) into fields. A line that is neither a field nor a
 * continuation (no colon) is ignored, and so is a continuation after it; the
 * same leniency as headers.ts parseHeaderBlock. Text: see headerText (a
 * section that is not all UTF-8 is decoded line by line).
 */
export function parseHeaderFields(block: Buffer): RawHeaderField[] {
  if (isUtf8(block)) return fieldsOf(block.toString('utf8'));
  const lines: string[] = [];
  for (let pos = 0; pos < block.length; ) {
    const lf = block.indexOf(LF, pos);
    const end = lf < 0 ? block.length : lf;
    lines.push(headerText(block.subarray(pos, end)));
    pos = end + 1;
  }
  return fieldsOf(lines.join('\n'));
}

function fieldsOf(raw: string): RawHeaderField[] {
  const text = raw.includes('\u0000') ? raw.replace(/\u0000/g, '') : raw;
  const fields: RawHeaderField[] = [];
  let name: string | undefined;
  let value = '';
  const n = text.length;
  for (let pos = 0; pos < n; ) {
    let end = text.indexOf('\n', pos);
    const next = end < 0 ? n : end + 1;
    if (end < 0) end = n;
    const lineEnd = end > pos && text.charCodeAt(end - 1) === CR ? end - 1 : end;
    const first = text.charCodeAt(pos);
    if (lineEnd > pos && (first === SP || first === HTAB)) {
      if (name !== undefined) value += text.slice(pos, lineEnd); // unfold: the whitespace stays
    } else {
      if (name !== undefined) fields.push({ name, value: value.trim() });
      name = undefined;
      const colon = text.indexOf(':', pos);
      if (lineEnd > pos && colon > pos && colon < lineEnd) {
        const fieldName = text.slice(pos, colon).trim();
        if (fieldName !== '') {
          name = fieldName;
          value = text.slice(colon + 1, lineEnd);
        }
      }
    }
    pos = next;
  }
  if (name !== undefined) fields.push({ name, value: value.trim() });
  return fields;
}

/** The first field of that name (case-insensitive, RFC 5322 1.2.2), or undefined. */
export function fieldValue(fields: readonly RawHeaderField[], name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const f of fields) if (f.name.length === lower.length && f.name.toLowerCase() === lower) return f.value;
  return undefined;
}
