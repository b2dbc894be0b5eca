/**
 * A message as message authentication (authentication.ts) reads it: in
 * memory, or from a MessageSource (a spooled message, read piece by piece),
 * and the stream of its octets handed to mailauth, with the work per
 * event-loop turn and the memory mailauth may need bounded.
 */
import { Readable } from 'node:stream';

const LF = 0x0a;
const CR = 0x0d;

/**
 * A message too large to be handed over as one Buffer (a spooled message),
 * verified while it is read: DKIM and ARC need every octet once, in order,
 * and nothing is kept but one piece at a time.
 */
export interface MessageSource {
  /** Octets in the message. */
  size: number;
  /**
   * The first octets (the whole message when shorter). The header section
   * must end within them to be verified, like MAX_AUTH_HEADER_BYTES for a
   * Buffer; a spooled message keeps MAX_HEADER_BYTES, the same 256 KiB.
   */
  head: Buffer;
  /**
   * The message from its first octet, in pieces of any size, adding up to
   * `size` octets (it should throw if they do not). Called at most once;
   * the iteration is stopped early (return()) when time runs out.
   */
  read(): AsyncIterable<Buffer>;
}

/**
 * Longest line, and longest run of empty lines, handed to mailauth's DKIM
 * body canonicalization, which keeps each until it ends (a line is
 * concatenated with every further piece of it: quadratic) and the empty lines
 * at the end of a body until something else follows. RFC 5322 2.1.1 allows
 * 998 octets; a body going beyond this (only a spooled message can) is not
 * verified (permerror), so a 50 MB message without a line end does not end
 * up in memory several times over.
 */
export const MAX_BODY_LINE_BYTES = 1024 * 1024;

/** Octets handed to mailauth per event-loop turn. */
const CHUNK_BYTES = 64 * 1024;

/** The message as evaluateDkim reads it: a Buffer, or a MessageSource. */
export interface MessageInput {
  /** The whole message, or its first octets (see MessageSource.head). */
  head: Buffer;
  size: number;
  pieces(): AsyncIterable<Buffer> | Iterable<Buffer>;
}

function isMessageSource(value: unknown): value is MessageSource {
  const v = value as Partial<MessageSource> | null;
  return (
    typeof v === 'object' && v !== null && Buffer.isBuffer(v.head) && typeof v.read === 'function' &&
    Number.isSafeInteger(v.size) && (v.size as number) >= v.head.length
  );
}

export function messageInput(raw: unknown): MessageInput {
  if (isMessageSource(raw)) return { head: raw.head, size: raw.size, pieces: () => raw.read() };
  const whole = Buffer.isBuffer(raw) ? raw : Buffer.alloc(0);
  return { head: whole, size: whole.length, pieces: () => [whole] };
}

/** Why the stream to mailauth stopped before the end of the message. */
export interface StreamStop {
  comment: string;
  /** Might work on a later attempt (the message could not be read). */
  temporary: boolean;
}

/**
 * The octets of the message in `segments` (sorted, disjoint [start, end)
 * offsets into the message, whose pieces `pieces` yields in order), handed to
 * mailauth in chunks of at most CHUNK_BYTES. Each chunk is pushed from
 * setImmediate: stream plumbing alone runs on process.nextTick and promise
 * jobs, which would hash a whole 50 MB message without ever letting a timer
 * (our deadline) or another connection's I/O run. The stream is destroyed,
 * which makes mailauth's dkimVerify reject, when the deadline passes, when
 * reading a piece fails (`stopped.temporary`), and at a line or a run of
 * empty lines longer than MAX_BODY_LINE_BYTES. The source is closed
 * (return()) when the stream ends early.
 */
export function segmentStream(
  pieces: AsyncIterable<Buffer> | Iterable<Buffer>,
  segments: Array<[number, number]>,
  signal: AbortSignal,
  stopped: { stop?: StreamStop },
): Readable {
  const iterator: AsyncIterator<Buffer> | Iterator<Buffer> =
    Symbol.asyncIterator in pieces ? pieces[Symbol.asyncIterator]() : pieces[Symbol.iterator]();
  let piece: Buffer = Buffer.alloc(0);
  let pieceStart = 0; // offset of piece[0] in the message
  let pos = 0; // next octet of `piece` to look at
  let seg = 0;
  let lineRun = 0; // octets since the last LF
  let blankRun = 0; // octets since the last octet other than CR and LF
  let exhausted = false;

  const stop = (comment: string, temporary: boolean): Error => {
    stopped.stop ??= { comment, temporary };
    return new Error(comment);
  };
  const pull = async (): Promise<boolean> => {
    let r: IteratorResult<Buffer>;
    try {
      r = await iterator.next();
    } catch {
      throw stop('message could not be read', true);
    }
    if (r.done) {
      exhausted = true;
      return false;
    }
    pieceStart += piece.length;
    piece = r.value;
    pos = 0;
    return true;
  };
  const track = (chunk: Buffer): void => {
    const last = chunk.lastIndexOf(LF);
    if (last === -1) {
      lineRun += chunk.length;
    } else {
      if (lineRun + chunk.indexOf(LF) > MAX_BODY_LINE_BYTES) throw stop('line too long: not verified', false);
      lineRun = chunk.length - last - 1;
    }
    if (lineRun > MAX_BODY_LINE_BYTES) throw stop('line too long: not verified', false);
    const eol = (c: number | undefined): boolean => c === LF || c === CR;
    let lead = 0;
    while (lead < chunk.length && eol(chunk[lead])) lead++;
    if (blankRun + lead > MAX_BODY_LINE_BYTES) throw stop('too many empty lines: not verified', false);
    if (lead === chunk.length) {
      blankRun += chunk.length;
    } else {
      let i = chunk.length;
      while (eol(chunk[i - 1])) i--;
      blankRun = chunk.length - i;
    }
  };
  const next = async (): Promise<Buffer | null> => {
    for (;;) {
      const s = segments[seg];
      if (!s) {
        // Once more to the end of the source, so that it can check what it read.
        if (!exhausted && (await pull())) await iterator.return?.();
        return null;
      }
      const at = pieceStart + pos;
      if (at >= s[1]) {
        seg++;
      } else if (pos >= piece.length) {
        if (!(await pull())) return null;
      } else if (at < s[0]) {
        pos = Math.min(piece.length, s[0] - pieceStart);
      } else {
        const end = Math.min(piece.length, s[1] - pieceStart, pos + CHUNK_BYTES);
        const chunk = piece.subarray(pos, end);
        pos = end;
        track(chunk);
        return chunk;
      }
    }
  };

  const stream = new Readable({
    read() {
      setImmediate(() => {
        if (this.destroyed) return;
        next().then(
          (chunk) => {
            if (!this.destroyed) this.push(chunk);
          },
          (err: unknown) => this.destroy(err instanceof Error ? err : new Error(String(err))),
        );
      });
    },
    destroy(err, callback) {
      if (!exhausted) {
        exhausted = true;
        // An async generator runs return() after a pending next(): the source stops at its next piece.
        Promise.resolve()
          .then(() => iterator.return?.())
          .catch(() => undefined);
      }
      callback(err);
    },
  });
  const abort = () => stream.destroy(new Error('authentication time limit reached'));
  if (signal.aborted) abort();
  else signal.addEventListener('abort', abort, { once: true });
  stream.once('close', () => signal.removeEventListener('abort', abort));
  return stream;
}

