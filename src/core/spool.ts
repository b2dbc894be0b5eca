/**
 * Receiving a message without holding it in memory: bytes are written to the
 * database spool in chunks as they arrive (store/spool.ts), the SHA-256 is
 * computed on the way, and only the head (for parsing headers) stays in
 * memory. deliverMessage() then assembles the blob in the database.
 */
import { createHash, randomUUID, type Hash } from 'node:crypto';
import { MAX_HEADER_BYTES } from '../mail/headers.ts';
import type { Database } from '../store/db.ts';
import { deleteSpool, insertSpoolChunk, purgeStaleSpool } from '../store/spool.ts';

export const SPOOL_CHUNK_BYTES = 1024 * 1024;

export interface SpooledMessage {
  spoolId: string;
  size: number;
  sha256: Buffer;
  /** The first MAX_HEADER_BYTES of the message: enough for the header summary and the search text. */
  head: Buffer;
}

export class MessageSpool {
  readonly spoolId = randomUUID();
  private readonly hash: Hash = createHash('sha256');
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private headParts: Buffer[] = [];
  private headBytes = 0;
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
    return { spoolId: this.spoolId, size: this.size, sha256: this.hash.digest(), head };
  }

  /** Drops what was written (the transaction failed or was reset). */
  async discard(): Promise<void> {
    this.pending = [];
    this.pendingBytes = 0;
    this.headParts = [];
    if (this.seq > 0) await deleteSpool(this.db, this.spoolId);
  }
}

/** Spool rows older than this belong to sessions that died mid-message. */
export const STALE_SPOOL_HOURS = 24;

/**
 * Removes stale spool rows now and then every hour. Every node may run it:
 * the DELETE is idempotent. Returns a stop function.
 */
export function startSpoolJanitor(db: Database, onError: (err: unknown) => void): () => void {
  const run = (): void => {
    purgeStaleSpool(db, STALE_SPOOL_HOURS).catch(onError);
  };
  run();
  const timer = setInterval(run, 3_600_000);
  timer.unref();
  return () => clearInterval(timer);
}
