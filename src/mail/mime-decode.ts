/**
 * Undoing a Content-Transfer-Encoding (RFC 2045 6) piece by piece, and
 * character sets. Streaming: a decoder keeps at most a few octets of state
 * between pieces (plus a bounded run of whitespace for quoted-printable), so
 * the output never depends on where the input was cut. Lenient, like the
 * decoders mail clients use: nothing here throws on bad input.
 */
import { isUtf8 } from 'node:buffer';
import { TextDecoder } from 'node:util';

export interface TransferDecoder {
  /** Decoded octets of the next piece. */
  push(chunk: Buffer): Buffer;
  /** Octets the next piece decodes to, without producing them (for BINARY.SIZE). */
  count(chunk: Buffer): number;
  /** What is left at the end of the body. */
  finish(): Buffer;
  /** finish() without producing the octets. */
  finishCount(): number;
}

const B64 = new Int8Array(256).fill(-1);
for (let i = 0; i < 64; i++) B64['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.charCodeAt(i)] = i;
const EQ = 0x3d;

/**
 * Base64 (RFC 2045 6.8). Characters outside the alphabet are ignored (line
 * breaks, whitespace, junk). "=" ends a quantum: a partial one gives its 1 or
 * 2 octets and decoding goes on, so concatenated encodings ("YQ==YQ==")
 * decode like each one alone.
 */
class Base64Decoder implements TransferDecoder {
  private acc = 0;
  private n = 0;

  private run(chunk: Buffer, out: Buffer | null): number {
    let acc = this.acc;
    let n = this.n;
    let w = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      const v = B64[b]!;
      if (v >= 0) {
        acc = (acc << 6) | v;
        if (++n === 4) {
          if (out) {
            out[w] = acc >>> 16;
            out[w + 1] = (acc >>> 8) & 0xff;
            out[w + 2] = acc & 0xff;
          }
          w += 3;
          n = 0;
          acc = 0;
        }
      } else if (b === EQ && n > 0) {
        w += this.partial(acc, n, out, w);
        n = 0;
        acc = 0;
      }
    }
    this.acc = acc;
    this.n = n;
    return w;
  }

  /** The octets of an incomplete quantum of n sextets (2 -> 1, 3 -> 2; 1 is too few for an octet). */
  private partial(acc: number, n: number, out: Buffer | null, w: number): number {
    if (n === 2) {
      if (out) out[w] = (acc >>> 4) & 0xff;
      return 1;
    }
    if (n === 3) {
      if (out) {
        out[w] = (acc >>> 10) & 0xff;
        out[w + 1] = (acc >>> 2) & 0xff;
      }
      return 2;
    }
    return 0;
  }

  push(chunk: Buffer): Buffer {
    const out = Buffer.allocUnsafe(Math.floor(((chunk.length + this.n) * 3) / 4) + 3);
    return out.subarray(0, this.run(chunk, out));
  }

  count(chunk: Buffer): number {
    return this.run(chunk, null);
  }

  finish(): Buffer {
    const out = Buffer.alloc(2);
    const w = this.partial(this.acc, this.n, out, 0);
    this.acc = 0;
    this.n = 0;
    return out.subarray(0, w);
  }

  finishCount(): number {
    return this.finish().length;
  }
}

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;

function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x41 && b <= 0x46) return b - 0x37;
  if (b >= 0x61 && b <= 0x66) return b - 0x57; // lower case: not allowed (RFC 2045 6.7 (1)), but decoded
  return -1;
}

/** Where count() decodes to (output is dropped). */
const SCRATCH = Buffer.allocUnsafe(64 * 1024);

/** Longest run of whitespace held back to see whether a line ends after it; a longer run is data. */
const MAX_WS_RUN = 1024;

const enum Qp {
  Text,
  /** After "=". */
  Eq,
  /** After "=" and one hex digit. */
  EqHex,
  /** After "=" and whitespace: a soft line break if the line ends now. */
  EqWs,
  /** After a CR (with or without "=" and whitespace before it). */
  Cr,
}

/**
 * Quoted-printable (RFC 2045 6.7): "=XX" is an octet, "=" at the end of a
 * line a soft line break, whitespace at the end of a line is dropped (rule
 * 3); line breaks (CRLF or bare LF) are kept as written. A "=" not followed
 * by two hex digits or a line end is taken literally.
 */
class QuotedPrintableDecoder implements TransferDecoder {
  private state = Qp.Text;
  private hex = 0;
  /** Whitespace seen but not written yet (at the end of a line it is dropped). */
  private readonly ws = new Uint8Array(MAX_WS_RUN);
  private wsLen = 0;
  /** The CR in state Cr followed "=" (a soft break if LF comes). */
  private crAfterEq = false;

  private run(chunk: Buffer, out: Buffer): number {
    // State in locals for speed; written back at the end.
    let state = this.state;
    let hex = this.hex;
    let wsLen = this.wsLen;
    let crAfterEq = this.crAfterEq;
    const ws = this.ws;
    let w = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (state === Qp.Text) {
        if (b > SP && b !== EQ) {
          // The common case: a printable octet.
          if (wsLen) {
            for (let k = 0; k < wsLen; k++) out[w + k] = ws[k]!;
            w += wsLen;
            wsLen = 0;
          }
          out[w] = b;
          w++;
        } else if (b === EQ) {
          if (wsLen) {
            for (let k = 0; k < wsLen; k++) out[w + k] = ws[k]!;
            w += wsLen;
            wsLen = 0;
          }
          state = Qp.Eq;
        } else if (b === SP || b === HTAB) {
          if (wsLen === MAX_WS_RUN) {
            for (let k = 0; k < wsLen; k++) out[w + k] = ws[k]!;
            w += wsLen;
            wsLen = 0;
          }
          ws[wsLen++] = b;
        } else if (b === CR) {
          state = Qp.Cr;
          crAfterEq = false;
        } else if (b === LF) {
          wsLen = 0; // trailing whitespace is padding (rule 3)
          out[w] = LF;
          w++;
        } else {
          if (wsLen) {
            for (let k = 0; k < wsLen; k++) out[w + k] = ws[k]!;
            w += wsLen;
            wsLen = 0;
          }
          out[w] = b;
          w++;
        }
        continue;
      }
      switch (state) {
        case Qp.Eq:
          if (hexValue(b) >= 0) {
            hex = b;
            state = Qp.EqHex;
          } else if (b === SP || b === HTAB) {
            ws[wsLen++] = b;
            state = Qp.EqWs;
          } else if (b === CR) {
            state = Qp.Cr;
            crAfterEq = true;
          } else if (b === LF) {
            state = Qp.Text; // soft line break (bare LF)
          } else {
            out[w] = EQ;
            w++;
            state = Qp.Text;
            i--; // the octet again, as text
          }
          break;
        case Qp.EqHex: {
          const lo = hexValue(b);
          if (lo >= 0) {
            out[w] = hexValue(hex) * 16 + lo;
            w++;
          } else {
            out[w] = EQ;
            out[w + 1] = hex;
            w += 2;
            i--;
          }
          state = Qp.Text;
          break;
        }
        case Qp.EqWs:
          if (b === SP || b === HTAB) {
            if (wsLen === MAX_WS_RUN) {
              // Too long for padding: "=" and the whitespace are text.
              out[w] = EQ;
              for (let k = 0; k < wsLen; k++) out[w + 1 + k] = ws[k]!;
              w += 1 + wsLen;
              wsLen = 0;
              state = Qp.Text;
            }
            ws[wsLen++] = b;
          } else if (b === CR) {
            state = Qp.Cr;
            crAfterEq = true;
          } else if (b === LF) {
            wsLen = 0;
            state = Qp.Text;
          } else {
            out[w] = EQ;
            for (let k = 0; k < wsLen; k++) out[w + 1 + k] = ws[k]!;
            w += 1 + wsLen;
            wsLen = 0;
            state = Qp.Text;
            i--;
          }
          break;
        case Qp.Cr:
          if (b === LF) {
            wsLen = 0;
            if (!crAfterEq) {
              out[w] = CR;
              out[w + 1] = LF;
              w += 2;
            }
          } else {
            // A CR on its own is data, and so is what came before it.
            if (crAfterEq) {
              out[w] = EQ;
              w++;
            }
            for (let k = 0; k < wsLen; k++) out[w + k] = ws[k]!;
            w += wsLen;
            wsLen = 0;
            out[w] = CR;
            w++;
            i--;
          }
          state = Qp.Text;
          break;
      }
    }
    this.state = state;
    this.hex = hex;
    this.wsLen = wsLen;
    this.crAfterEq = crAfterEq;
    return w;
  }

  push(chunk: Buffer): Buffer {
    const out = Buffer.allocUnsafe(chunk.length + this.wsLen + 3);
    return out.subarray(0, this.run(chunk, out));
  }

  count(chunk: Buffer): number {
    // Decoded into a scratch buffer, a slice at a time: run() always writes to a Buffer (faster than testing for none).
    let n = 0;
    const step = SCRATCH.length - MAX_WS_RUN - 4;
    for (let i = 0; i < chunk.length; i += step) n += this.run(chunk.subarray(i, i + step), SCRATCH);
    return n;
  }

  finish(): Buffer {
    // The body ends a line: trailing whitespace and a final soft break go.
    let out = Buffer.alloc(0);
    if (this.state === Qp.EqHex) out = Buffer.from([EQ, this.hex]);
    else if (this.state === Qp.Cr && !this.crAfterEq) out = Buffer.concat([this.ws.subarray(0, this.wsLen), Buffer.from([CR])]); // a CR without LF is data
    this.state = Qp.Text;
    this.wsLen = 0;
    return out;
  }

  finishCount(): number {
    return this.finish().length;
  }
}

class IdentityDecoder implements TransferDecoder {
  push(chunk: Buffer): Buffer {
    return chunk;
  }
  count(chunk: Buffer): number {
    return chunk.length;
  }
  finish(): Buffer {
    return Buffer.alloc(0);
  }
  finishCount(): number {
    return 0;
  }
}

/** The decoder class of a Content-Transfer-Encoding, or undefined for one we do not know (RFC 3516 4.3: UNKNOWN-CTE). */
export function transferDecoder(encoding: string | null): TransferDecoder | undefined {
  switch ((encoding ?? '7bit').toLowerCase()) {
    case 'base64':
      return new Base64Decoder();
    case 'quoted-printable':
      return new QuotedPrintableDecoder();
    case '7bit':
    case '8bit':
    case 'binary':
      return new IdentityDecoder();
    default:
      return undefined;
  }
}

/** True when the encoding changes the octets (so BINARY.SIZE differs from the body size). */
export function isEncodingTransformed(encoding: string | null): boolean {
  const e = (encoding ?? '').toLowerCase();
  return e === 'base64' || e === 'quoted-printable';
}

const decoders = new Map<string, TextDecoder | null>();

function decoderFor(label: string): TextDecoder | null {
  let d = decoders.get(label);
  if (d === undefined) {
    try {
      d = new TextDecoder(label);
    } catch {
      d = null; // a label the WHATWG Encoding Standard does not know
    }
    if (decoders.size < 256) decoders.set(label, d);
  }
  return d;
}

/**
 * Text in a MIME charset (RFC 2046 4.1.2) as a string. us-ascii, an
 * unknown or missing charset: UTF-8 when the octets are valid UTF-8 (8-bit
 * text is mislabelled more often than not), else windows-1252 so nothing is
 * lost. Never throws.
 */
export function decodeCharset(bytes: Buffer, charset: string | undefined): string {
  const label = (charset ?? '').trim().toLowerCase().replace(/^"|"$/g, '');
  const known = label === '' || label === 'us-ascii' || label === 'ascii' ? null : decoderFor(label);
  if (known && known.encoding !== 'utf-8') return known.decode(bytes);
  if (known || isUtf8(bytes)) return bytes.toString('utf8');
  return decoderFor('windows-1252')!.decode(bytes);
}
