/**
 * The last bytes of a line that is being skipped without being kept (the
 * rest of a refused command): enough to see whether it ends in a literal
 * announcement, whose bytes must then be skipped too (RFC 7888 4).
 */
import { literalAnnouncementAt, type LiteralAnnouncement } from './raw-command.ts';

/** `~{` + 20 digits + `+}` fits, with room to spare. */
const TAIL = 32;
const CR = 0x0d;

export class LineTail {
  private readonly bytes = Buffer.alloc(TAIL);
  private length = 0;
  /** Bytes of the line fell out of the window. */
  private truncated = false;

  reset(): void {
    this.length = 0;
    this.truncated = false;
  }

  push(chunk: Buffer): void {
    if (chunk.length >= TAIL) {
      if (chunk.length > TAIL || this.length > 0) this.truncated = true;
      chunk.copy(this.bytes, 0, chunk.length - TAIL);
      this.length = TAIL;
      return;
    }
    const keep = Math.min(this.length, TAIL - chunk.length);
    if (keep < this.length) this.truncated = true;
    this.bytes.copy(this.bytes, 0, this.length - keep, this.length);
    chunk.copy(this.bytes, keep);
    this.length = keep + chunk.length;
  }

  /** The announcement the line (without its CR) ends with; size Infinity if its digits ran out of the window. */
  announcement(): LiteralAnnouncement | null {
    let line = this.bytes.subarray(0, this.length);
    if (line.length > 0 && line[line.length - 1] === CR) line = line.subarray(0, line.length - 1);
    return literalAnnouncementAt(line, this.truncated);
  }
}
