/**
 * The message literals of one APPEND (MULTIAPPEND: several) while they
 * arrive: each goes into its own sink (services.openUpload(): memory while
 * small, the database spool above 1 MiB), chunk by chunk as the reader hands
 * them out, so a 50 MB upload never sits in memory. The APPEND command, once
 * parsed, takes the finished messages by their ordinal (the placeholder the
 * parser left, parser/append.ts). Whatever happens to the command, the
 * session either hands the upload to it or discards it (spool rows deleted).
 */
import type { SpooledMessage } from '../../../core/spool.ts';
import type { MailboxRef, UploadSink } from '../services.ts';

export class AppendUpload {
  private readonly sinks: UploadSink[] = [];
  private readonly finished: (Buffer | SpooledMessage)[] = [];
  private current: UploadSink | undefined;
  /** Octets announced so far (for the quota check of the next literal). */
  announced = 0;
  /**
   * Writing to a sink failed (the database spool, say): the rest of the
   * literal is still read off the wire and dropped, and the APPEND fails.
   */
  failure: unknown = undefined;

  constructor(
    /** The APPEND's tag. */
    readonly tag: string | null,
    /** The target mailbox, checked to exist before the first literal was accepted. */
    readonly mailbox: string,
    /** What that check found: APPEND stores into it without looking the name up again. */
    readonly found?: MailboxRef,
  ) {}

  /** The next message literal was accepted: its bytes go to `sink`. */
  begin(sink: UploadSink, size: number): void {
    if (this.current) throw new Error('AppendUpload: a message is still being received');
    this.current = sink;
    this.sinks.push(sink);
    this.announced += size;
  }

  async write(chunk: Buffer): Promise<void> {
    if (!this.current) throw new Error('AppendUpload: literal data without a message');
    if (this.failure !== undefined) return;
    try {
      await this.current.write(chunk);
    } catch (err) {
      this.failure = err;
    }
  }

  /** The literal is complete. */
  async end(): Promise<void> {
    const sink = this.current;
    if (!sink) throw new Error('AppendUpload: end of a literal without a message');
    this.current = undefined;
    if (this.failure !== undefined) return;
    try {
      this.finished.push(await sink.finish());
    } catch (err) {
      this.failure = err;
    }
  }

  /** The message streamed as literal `ordinal` (0-based), or undefined. */
  message(ordinal: number): Buffer | SpooledMessage | undefined {
    return this.finished[ordinal];
  }

  get messages(): number {
    return this.finished.length;
  }

  /** Drops every message received or being received (spool rows included). */
  async discard(): Promise<void> {
    this.current = undefined;
    this.finished.length = 0;
    const sinks = this.sinks.splice(0);
    await Promise.all(sinks.map((s) => s.discard()));
  }
}
