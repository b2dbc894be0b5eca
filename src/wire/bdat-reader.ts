/**
 * BDAT chunk reader (RFC 3030 CHUNKING, also used by LMTP): after
 * `BDAT <size> [LAST]` the next <size> octets are message data, sent as is (no
 * dot-stuffing, no end marker), and the bytes after them are the next command.
 * A push parser with no I/O; one reader per message, `begin()` per chunk, so
 * the size limit applies to the whole message.
 *
 *     bdat.begin(size);
 *     let r = bdat.push(splitter.drain());   // bytes already read with the command
 *     ... on more data: r = bdat.push(chunk) until r.done, then splitter.push(r.remainder)
 *
 * Size (RFC 3030 2, 4.2; RFC 5321 4.5.3.1.10): past `maxBytes` the reader sets
 * `tooBig`, stops emitting (the output ends at exactly `maxBytes` bytes over
 * the message) but still consumes every octet of the chunk, so the server can
 * answer 552 and stay in step with the client.
 *
 * The bytes are not inspected: BDAT is also how BINARYMIME (RFC 3030 3) is
 * carried, so line endings and NUL are the business of the caller.
 */
import { EMPTY, checkByteCount } from './bytes.ts';

export interface BdatReaderOptions {
  /** Largest message in octets over all its chunks; beyond it `tooBig` is set (default: no limit). */
  maxBytes?: number;
}

export interface BdatPushResult {
  /** Chunk bytes from this push (may be empty; shares memory with the input). */
  body: Buffer;
  /** The chunk's last octet was read: the reader waits for the next `begin()`. */
  done: boolean;
  /** Input bytes after the chunk (the next commands); empty unless `done`. */
  remainder: Buffer;
}

export class BdatReader {
  readonly maxBytes: number;
  private active = false;
  private left = 0;
  private total = 0;
  private emitted = 0;

  constructor(options: BdatReaderOptions = {}) {
    const max = options.maxBytes ?? Number.POSITIVE_INFINITY;
    checkByteCount('maxBytes', max, true);
    this.maxBytes = max;
  }

  /** Starts a chunk of `chunkSize` octets (the BDAT argument; 0 is valid, RFC 3030 2). */
  begin(chunkSize: number): void {
    if (this.active) throw new Error('BdatReader: begin() while a chunk is being read');
    checkByteCount('chunkSize', chunkSize);
    this.active = true;
    this.left = chunkSize;
  }

  /**
   * Reads the chunk's bytes from `chunk`. An empty push is allowed (and
   * completes a 0-octet chunk). Throws when no chunk was begun.
   */
  push(chunk: Buffer): BdatPushResult {
    if (!this.active) throw new Error('BdatReader: push() outside a chunk');
    const take = Math.min(this.left, chunk.length);
    this.left -= take;
    this.total += take;
    const room = Math.max(0, Math.min(take, this.maxBytes - this.emitted));
    this.emitted += room;
    const body = room === 0 ? EMPTY : chunk.subarray(0, room);
    if (this.left > 0) return { body, done: false, remainder: EMPTY };
    this.active = false;
    return { body, done: true, remainder: take === chunk.length ? EMPTY : chunk.subarray(take) };
  }

  /** A chunk is being read. */
  get inChunk(): boolean {
    return this.active;
  }

  /** Octets of the current chunk still to come. */
  get remaining(): number {
    return this.left;
  }

  /** Message octets read so far over all chunks, including those past `maxBytes`. */
  get size(): number {
    return this.total;
  }

  /** `size` exceeded `maxBytes`: the output was cut at `maxBytes`; answer 552. */
  get tooBig(): boolean {
    return this.total > this.maxBytes;
  }
}
