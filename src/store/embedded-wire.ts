/**
 * Framing for the embedded database's control socket: one JSON document per
 * line, Buffers (bytea) as {"$b64": "..."}, Dates (timestamptz) as
 * {"$date": "ISO"}, so values arrive with the types store/db.ts promises. Frames are bounded.
 */
import type { Socket } from 'node:net';

/** Largest frame accepted (a message of smtp.maxMessageBytes in base64 fits). */
export const MAX_FRAME_BYTES = 192 * 1024 * 1024;

export function encodeFrame(value: unknown): string {
  return (
    JSON.stringify(value, function (this: unknown, key: string, v: unknown) {
      const raw = (this as Record<string, unknown>)[key];
      if (raw instanceof Uint8Array) return { $b64: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') };
      if (raw instanceof Date) return { $date: Number.isNaN(raw.getTime()) ? null : raw.toISOString() };
      return v;
    }) + '\n'
  );
}

export function decodeFrame(line: string): unknown {
  return JSON.parse(line, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o);
      if (keys.length === 1 && typeof o.$b64 === 'string') return Buffer.from(o.$b64, 'base64');
      if (keys.length === 1 && '$date' in o) return new Date(typeof o.$date === 'string' ? o.$date : NaN);
    }
    return v;
  });
}

/** Calls onFrame for each complete line; destroys the socket on an oversized frame. */
export function readFrames(socket: Socket, onFrame: (value: unknown) => void): void {
  let chunks: Buffer[] = [];
  let size = 0;
  socket.on('data', (data: Buffer) => {
    let start = 0;
    for (let nl = data.indexOf(0x0a); nl !== -1; nl = data.indexOf(0x0a, start)) {
      chunks.push(data.subarray(start, nl));
      const line = Buffer.concat(chunks).toString('utf8');
      chunks = [];
      size = 0;
      start = nl + 1;
      let value: unknown;
      try {
        value = decodeFrame(line);
      } catch {
        socket.destroy(new Error('malformed frame on the control socket'));
        return;
      }
      onFrame(value);
    }
    if (start < data.length) {
      chunks.push(data.subarray(start));
      size += data.length - start;
      if (size > MAX_FRAME_BYTES) socket.destroy(new Error('frame too large on the control socket'));
    }
  });
}
