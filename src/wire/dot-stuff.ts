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
import { CR, CR_BYTES, DOT, DOT_BYTES, LF, joinPieces } from './bytes.ts';

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
    let run = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (b === LF) {
        if (!this.afterCr) {
          if (i > run) out.push(chunk.subarray(run, i));
          out.push(CR_BYTES);
          run = i; // the LF itself stays in the next run
        }
        this.lineStart = true;
        this.afterCr = false;
        continue;
      }
      if (b === DOT && this.lineStart) {
        if (i > run) out.push(chunk.subarray(run, i));
        out.push(DOT_BYTES);
        run = i;
      }
      this.lineStart = false;
      this.afterCr = b === CR;
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
