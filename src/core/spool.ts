/**
 * Receiving a message without holding it in memory: bytes are written to the
 * database spool in chunks as they arrive (store/spool.ts), the SHA-256 is
 * computed and the MIME structure parsed on the way (each chunk is fed to the
 * streaming parser as it is written, so nothing is read back for it), and
 * only the head (for verifying headers) stays in memory. deliverMessage()
 * then assembles the blob in the database.
 */
import { createHash, randomUUID, type Hash } from 'node:crypto';
import { MAX_HEADER_BYTES, messageParser } from '../mail/headers.ts';
import type { MimeStructureParser, ParsedMessage } from '../mail/mime-structure.ts';
import type { Database, Queryable } from '../store/db.ts';
import { deleteSpool, insertSpoolChunk, readSpoolChunk, replaceSpoolChunk } from '../store/spool.ts';

export const SPOOL_CHUNK_BYTES = 1024 * 1024;

export interface SpooledMessage {
  spoolId: string;
  size: number;
  sha256: Buffer;
  /** The first MAX_HEADER_BYTES of the message: its header section, for verification (DKIM, ARC) and edits. */
  head: Buffer;
  /** The message's MIME structure, envelope and search text, parsed as it was spooled (headers.ts summarizeParsed). */
  parsed: ParsedMessage;
}

export class MessageSpool {
  readonly spoolId = randomUUID();
  private readonly hash: Hash = createHash('sha256');
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private headParts: Buffer[] = [];
  private headBytes = 0;
  /** Fed each chunk as it goes to the database; a message that stays in memory is parsed by the deliverer instead. */
  private parser: MimeStructureParser | undefined;
  private seq = 0;
  private written = 0;
  private size = 0;

  constructor(
    private readonly db: Database,
    private readonly chunkBytes = SPOOL_CHUNK_BYTES,
  ) {}

  get bytes(): number {
    return this.size;
  }

  /** Adds bytes; writes a chunk to the database whenever a chunk's worth is pending. */
  async write(data: Buffer): Promise<void> {
    if (data.length === 0) return;
    this.hash.update(data);
    this.size += data.length;
    if (this.headBytes < MAX_HEADER_BYTES) {
      const take = data.subarray(0, MAX_HEADER_BYTES - this.headBytes);
      this.headParts.push(Buffer.from(take)); // a copy: `data` may be a view into a larger socket buffer
      this.headBytes += take.length;
    }
    this.pending.push(data);
    this.pendingBytes += data.length;
    if (this.pendingBytes >= this.chunkBytes) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const chunk = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    (this.parser ??= messageParser()).push(chunk);
    await insertSpoolChunk(this.db, this.spoolId, this.seq++, chunk);
    this.written += chunk.length;
  }

  /**
   * The message: in memory when it never reached a chunk's size (most mail;
   * no spool rows were written, saving two round trips), else spooled.
   */
  async finish(): Promise<Buffer | SpooledMessage> {
    if (this.seq === 0) {
      const whole = Buffer.concat(this.pending, this.pendingBytes);
      this.pending = [];
      this.pendingBytes = 0;
      this.headParts = [];
      return whole;
    }
    await this.flush();
    const head = Buffer.concat(this.headParts, this.headBytes);
    this.headParts = [];
    const parsed = this.parser!.finish();
    this.parser = undefined;
    return { spoolId: this.spoolId, size: this.size, sha256: this.hash.digest(), head, parsed };
  }

  /** Drops what was written (the transaction failed or was reset). */
  async discard(): Promise<void> {
    this.pending = [];
    this.pendingBytes = 0;
    this.headParts = [];
    this.parser = undefined;
    if (this.seq > 0) await deleteSpool(this.db, this.spoolId);
  }
}

/**
 * A spooled message read back from the database in order, one chunk (1 MiB)
 * per query, the next one read while the caller works on the current one: at
 * most two chunks in memory, whatever the message's size. Throws when the
 * chunks do not add up to `size` (the receiver's count). Stopping early
 * (break, return()) is fine.
 */
export async function* readSpooledMessage(db: Queryable, msg: Pick<SpooledMessage, 'spoolId' | 'size'>): AsyncGenerator<Buffer> {
  let total = 0;
  let next = readSpoolChunk(db, msg.spoolId, 0);
  try {
    for (let seq = 1; ; seq++) {
      const chunk = await next;
      if (chunk === undefined) break;
      next = readSpoolChunk(db, msg.spoolId, seq);
      total += chunk.length;
      if (total > msg.size) break;
      yield chunk;
    }
  } finally {
    next.catch(() => undefined); // read ahead when the caller stopped: nobody waits for it
  }
  if (total !== msg.size) throw new Error(`spool ${msg.spoolId}: the chunks do not add up to ${msg.size} octets`);
}

/**
 * Replaces the first `length` octets of a spooled message with `replacement`
 * (an edit of the header section, such as removing forged
 * Authentication-Results fields; `length` is at most the head's). The chunks
 * holding those octets are rewritten in one transaction (chunk 0 gets the
 * replacement, so chunks may now be of any size, even empty); then the
 * message is read back once for its new SHA-256 (the blob's identity, see
 * store/spool.ts assembleBlob), head and MIME structure (its offsets moved).
 * The spool id stays the same.
 */
export async function replaceSpooledPrefix(db: Database, msg: SpooledMessage, length: number, replacement: Buffer): Promise<SpooledMessage> {
  if (!Number.isSafeInteger(length) || length < 0 || length > msg.head.length) throw new RangeError(`cannot replace ${length} octets of the head`);
  await db.transaction(async (tx) => {
    let offset = 0;
    for (let seq = 0; seq === 0 || offset < length; seq++) {
      const chunk = await readSpoolChunk(tx, msg.spoolId, seq);
      if (chunk === undefined) throw new Error(`spool ${msg.spoolId} is incomplete`);
      const keep = chunk.subarray(Math.min(chunk.length, Math.max(0, length - offset)));
      await replaceSpoolChunk(tx, msg.spoolId, seq, seq === 0 ? Buffer.concat([replacement, keep]) : keep);
      offset += chunk.length;
    }
  });
  const size = msg.size - length + replacement.length;
  const hash = createHash('sha256');
  const parser = messageParser();
  const headParts: Buffer[] = [];
  let headBytes = 0;
  for await (const chunk of readSpooledMessage(db, { spoolId: msg.spoolId, size })) {
    hash.update(chunk);
    parser.push(chunk);
    if (headBytes < MAX_HEADER_BYTES) {
      const take = Buffer.from(chunk.subarray(0, MAX_HEADER_BYTES - headBytes)); // a copy: not the whole chunk kept
      headParts.push(take);
      headBytes += take.length;
    }
  }
  return { spoolId: msg.spoolId, size, sha256: hash.digest(), head: Buffer.concat(headParts, headBytes), parsed: parser.finish() };
}

/** Spool rows older than this belong to sessions that died mid-message. */
export const STALE_SPOOL_HOURS = 24;
