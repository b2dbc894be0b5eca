/**
 * DATA encoder for the outbound SMTP/LMTP client, the inverse of DataDecoder
 * (RFC 5321 4.5.2 transparency, 4.1.1.4 end of data). Streaming: `push()`
 * each piece of the message, then `end()` once.
 *
 * - A '.' at the start of a line is doubled.
 * - A bare LF is sent as CRLF (RFC 5321 2.3.8: no bare LF on the wire; the
 *   same choice DataDecoder makes, so decode(stuff(m)) has CRLF line endings).
 *   The line after it is a line, so its leading '.' is doubled too.
 * - A bare CR inside the message is sent as is (DataDecoder keeps it too).
 * - `end()` completes a last line without line ending (a trailing lone CR
 *   gets its LF, anything else a CRLF) and appends `.CRLF`; for an empty
 *   message that is just `.CRLF`, right after the DATA command's CRLF.
 *
 * Memory: two flags of state, no bytes held; outputs share memory with the
 * input where nothing changed.
 */
import { CR_BYTES, DOT_BYTES, joinPieces } from './bytes.ts';

// Local, not imported: see bytes.ts.
const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;

const END_OF_DATA = Buffer.from('.\r\n');
const CRLF_END_OF_DATA = Buffer.from('\r\n.\r\n');
const LF_END_OF_DATA = Buffer.from('\n.\r\n');

export class DotStuffer {
  /** The next byte starts a line (at the start, and after every LF). */
  private lineStart = true;
  /** The last byte was a CR. */
  private afterCr = false;
  private ended = false;

  /** Encodes the next piece of the message. */
  push(chunk: Buffer): Buffer {
    if (this.ended) throw new Error('DotStuffer: push after end()');
    const out: Buffer[] = [];
    const n = chunk.length;
    /** Start of the run of input bytes that pass through unchanged. */
    let run = 0;
    let i = 0;
    while (i < n) {
      if (this.lineStart && chunk[i] === DOT) {
        if (i > run) out.push(chunk.subarray(run, i));
        out.push(DOT_BYTES);
        run = i; // the dot itself starts the next run
      }
      const lf = chunk.indexOf(LF, i);
      if (lf < 0) {
        this.lineStart = false;
        this.afterCr = chunk[n - 1] === CR;
        break;
      }
      const crlf = lf > i ? chunk[lf - 1] === CR : this.afterCr;
      if (!crlf) {
        if (lf > run) out.push(chunk.subarray(run, lf));
        out.push(CR_BYTES);
        run = lf; // the LF itself starts the next run
      }
      this.lineStart = true;
      this.afterCr = false;
      i = lf + 1;
    }
    if (chunk.length > run) out.push(chunk.subarray(run));
    return joinPieces(out);
  }

  /** Completes the last line and returns the end-of-data sequence. */
  end(): Buffer {
    if (this.ended) throw new Error('DotStuffer: end() twice');
    this.ended = true;
    const tail = this.lineStart ? END_OF_DATA : this.afterCr ? LF_END_OF_DATA : CRLF_END_OF_DATA;
    return Buffer.from(tail);
  }
}

/** Stuffs a complete message held in memory: the bytes to send after `354`. */
export function dotStuff(message: Buffer): Buffer {
  const stuffer = new DotStuffer();
  return Buffer.concat([stuffer.push(message), stuffer.end()]);
}
