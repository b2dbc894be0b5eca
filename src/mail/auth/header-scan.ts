/**
 * A linear, byte-level scan of a message's header section (RFC 5322 2.2):
 * where each field starts and ends, its name and its unfolded value, without
 * copying the fields. Message authentication uses it instead of mailauth's
 * own parser to bound the work before mailauth sees anything.
 */

export interface RawField {
  /** Lower-case field name, '' for a line without a colon. */
  name: string;
  /** Offset of the first byte of the field. */
  start: number;
  /** Offset after its last line terminator. */
  end: number;
  /** Offset after the colon (== end when there is none). */
  valueStart: number;
}

export interface HeaderScan {
  fields: RawField[];
  /** Offset of the first body byte (raw.length when there is no body). */
  bodyStart: number;
  /** Lines in the header section. */
  lines: number;
  /** The scan stopped at maxBytes / maxLines: `fields` is incomplete. */
  truncated: boolean;
  /**
   * The header section ended with its empty line within `raw`. When `raw` is
   * only the first part of a message (a spooled message's head), false means
   * the section may go on after it, and its last field may be cut.
   */
  terminated: boolean;
}

const LF = 0x0a;
const CR = 0x0d;

/**
 * Walks the header section field by field, calling `onField` for each
 * complete field. The section ends at the first empty line (LF LF or
 * LF CR LF, the same rule as src/mail/headers.ts and mailauth; a bare LF is a
 * line end), or at the end of the message. A line that starts with SP or HT
 * continues the field before it (RFC 5322 2.2.3). Linear in the input, and
 * keeps nothing itself.
 */
export function walkHeader(
  raw: Buffer,
  onField: (f: RawField) => void,
  maxBytes = Infinity,
  maxLines = Infinity,
): Omit<HeaderScan, 'fields'> {
  let lines = 0;
  let pos = 0;
  let current: RawField | undefined;
  const done = (bodyStart: number, truncated: boolean, terminated = false) => {
    if (current) onField(current);
    return { bodyStart, lines, truncated, terminated };
  };
  while (pos < raw.length) {
    if (raw[pos] === LF) return done(pos + 1, false, true);
    if (raw[pos] === CR && raw[pos + 1] === LF) return done(pos + 2, false, true);
    if (lines >= maxLines) return done(raw.length, true);
    const nl = raw.indexOf(LF, pos);
    const end = nl === -1 ? raw.length : nl + 1;
    if (end > maxBytes) return done(raw.length, true);
    lines++;
    const first = raw[pos];
    if ((first === 0x20 || first === 0x09) && current) {
      current.end = end;
    } else {
      if (current) onField(current);
      const colon = raw.subarray(pos, end).indexOf(0x3a);
      current = {
        name: colon >= 0 ? raw.toString('latin1', pos, pos + colon).trim().toLowerCase() : '',
        start: pos,
        end,
        valueStart: colon >= 0 ? pos + colon + 1 : end,
      };
    }
    pos = end;
  }
  return done(raw.length, false);
}

export function scanHeader(raw: Buffer, maxBytes = Infinity, maxLines = Infinity): HeaderScan {
  const fields: RawField[] = [];
  const rest = walkHeader(raw, (f) => fields.push(f), maxBytes, maxLines);
  return { fields, ...rest };
}

/** The unfolded value of a field (line breaks removed, whitespace kept). */
export function fieldValue(raw: Buffer, f: RawField, encoding: BufferEncoding = 'utf8'): string {
  return raw.toString(encoding, f.valueStart, f.end).replace(/\r?\n/g, '');
}

/** Value bytes of all fields with that (lower-case) name. */
export function fieldBytes(fields: RawField[], name: string): number {
  return fields.reduce((n, f) => (f.name === name ? n + (f.end - f.valueStart) : n), 0);
}
