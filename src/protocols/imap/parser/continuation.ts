/**
 * Lines that are not commands, read with CommandReader.expectLine():
 *
 *  - AUTHENTICATE responses (RFC 9051 6.2.2): base64, or "*" to cancel (the
 *    server then answers the AUTHENTICATE tag with BAD);
 *  - the end of IDLE (RFC 9051 6.3.13, RFC 2177 3): idle = "IDLE" CRLF "DONE".
 */
import { decodeBase64 } from './auth.ts';

export type SaslResponse = { readonly kind: 'cancel' } | { readonly kind: 'data'; readonly data: Buffer } | { readonly kind: 'invalid' };

/** A client's AUTHENTICATE continuation line; `invalid` is answered with BAD (RFC 9051 6.2.2). */
export function parseSaslResponse(line: Buffer): SaslResponse {
  const text = line.toString('latin1');
  if (text === '*') return { kind: 'cancel' };
  const data = decodeBase64(text);
  return data ? { kind: 'data', data } : { kind: 'invalid' };
}

/** True for the line that ends IDLE: "DONE", in any case (RFC 9051 9: literal strings are case-insensitive). */
export function isIdleDone(line: Buffer): boolean {
  return line.length === 4 && line.toString('latin1').toUpperCase() === 'DONE';
}
