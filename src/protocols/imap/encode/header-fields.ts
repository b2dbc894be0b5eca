/**
 * BODY[HEADER.FIELDS (...)] and BODY[HEADER.FIELDS.NOT (...)] (RFC 9051
 * 6.4.5): the header fields whose names are (not) in the list, compared
 * case-insensitively, each with its continuation lines, as they are in the
 * message, followed by the blank line that ends a header (RFC 9051 6.4.5:
 * "the subset ... includes the blank line").
 */

/** The fields of a header section (the bytes up to and including its blank line), each with its line ends. */
export function splitHeaderFields(header: Buffer): Buffer[] {
  const fields: Buffer[] = [];
  let start = -1;
  let at = 0;
  while (at < header.length) {
    const nl = header.indexOf(0x0a, at);
    const end = nl < 0 ? header.length : nl + 1;
    const first = header[at]!;
    const blank = first === 0x0d || first === 0x0a;
    if (blank) break;
    const continuation = first === 0x20 || first === 0x09;
    if (!continuation) {
      if (start >= 0) fields.push(header.subarray(start, at));
      start = at;
    }
    at = end;
  }
  if (start >= 0) fields.push(header.subarray(start, at));
  return fields;
}

function fieldName(field: Buffer): string {
  const colon = field.indexOf(0x3a);
  return field
    .subarray(0, colon < 0 ? field.length : colon)
    .toString('latin1')
    .trim()
    .toLowerCase();
}

export function filterHeaderFields(header: Buffer, names: readonly string[], not: boolean): Buffer {
  const wanted = new Set(names.map((n) => n.toLowerCase()));
  const kept = splitHeaderFields(header).filter((f) => wanted.has(fieldName(f)) !== not);
  return Buffer.concat([...kept, Buffer.from('\r\n')]);
}
