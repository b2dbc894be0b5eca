/**
 * Buffers and checks shared by the SMTP/LMTP wire parsers (RFC 5321 2.3.8:
 * lines end in CR LF; 4.5.2: transparency dots).
 *
 * The byte values themselves (CR, LF, ...) are declared again in each parser:
 * under tsx an imported binding is read through a getter, which made the
 * per-byte loops 30 times slower.
 */
const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;

/**
 * Shared buffers for bytes the parsers insert into their output. They only
 * ever reach a caller copied (joinPieces), so a caller cannot change them.
 */
export const CRLF_BYTES: Buffer = Buffer.from([CR, LF]);
export const CR_BYTES: Buffer = Buffer.from([CR]);
export const DOT_BYTES: Buffer = Buffer.from([DOT]);
export const EMPTY: Buffer = Buffer.alloc(0);

const SHARED: ReadonlySet<Buffer> = new Set([CRLF_BYTES, CR_BYTES, DOT_BYTES]);

/** Joins output pieces; a single piece of the input is returned without copying. */
export function joinPieces(pieces: Buffer[]): Buffer {
  if (pieces.length === 0) return Buffer.alloc(0);
  const only = pieces.length === 1 ? pieces[0]! : null;
  if (only && !SHARED.has(only)) return only;
  return Buffer.concat(pieces);
}

/** Throws unless `n` is a non-negative safe integer (or +Infinity when `allowInfinity`). */
export function checkByteCount(name: string, n: number, allowInfinity = false): void {
  if (allowInfinity && n === Number.POSITIVE_INFINITY) return;
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${name} must be a non-negative integer, got ${n}`);
}
