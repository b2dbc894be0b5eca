/**
 * BINARY[section] and BINARY.SIZE[section] (RFC 3516, RFC 9051 6.4.5): a
 * part's content with its Content-Transfer-Encoding undone, streamed, and its
 * decoded size (cached at delivery for base64 and quoted-printable leaves).
 */
import { isEncodingTransformed, transferDecoder } from '../../../mail/mime-decode.ts';
import type { MimePart } from '../../../mail/mime-types.ts';

/** RFC 3516 4.3: the server cannot decode this Content-Transfer-Encoding (reply NO [UNKNOWN-CTE]). */
export class UnknownTransferEncodingError extends Error {
  constructor(readonly encoding: string) {
    super(`unknown Content-Transfer-Encoding: ${encoding}`);
  }
}

/**
 * BINARY.SIZE of a part from the tree: the body size for identity encodings,
 * the size cached at delivery for base64/quoted-printable. Undefined when it
 * is not cached (a multipart or message part declaring such an encoding,
 * which RFC 2045 6.4 forbids): then count it with decodedSize(). Throws
 * UnknownTransferEncodingError for an encoding we cannot decode.
 */
export function binarySize(part: MimePart): number | undefined {
  if (!transferDecoder(part.encoding)) throw new UnknownTransferEncodingError(part.encoding ?? '');
  if (!isEncodingTransformed(part.encoding)) return part.bodyEnd - part.bodyStart;
  return part.binarySize;
}

/** The decoded octets of a body given as pieces (any cut), streamed. */
export async function* decodeBody(encoding: string | null, pieces: AsyncIterable<Buffer> | Iterable<Buffer>): AsyncGenerator<Buffer> {
  const decoder = transferDecoder(encoding);
  if (!decoder) throw new UnknownTransferEncodingError(encoding ?? '');
  for await (const piece of pieces) {
    const out = decoder.push(piece);
    if (out.length) yield out;
  }
  const rest = decoder.finish();
  if (rest.length) yield rest;
}

/** How many octets a body decodes to, without keeping them. */
export async function decodedSize(encoding: string | null, pieces: AsyncIterable<Buffer> | Iterable<Buffer>): Promise<number> {
  const decoder = transferDecoder(encoding);
  if (!decoder) throw new UnknownTransferEncodingError(encoding ?? '');
  let n = 0;
  for await (const piece of pieces) n += decoder.count(piece);
  return n + decoder.finishCount();
}
