import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BdatReader, type BdatReaderOptions } from '../src/wire/bdat-reader.ts';
import { LineSplitter } from '../src/wire/line-splitter.ts';
import { bytes, splits, text } from './helpers/splits.ts';

const label = (chunks: Buffer[]): string => JSON.stringify(chunks.map(text));

/** Reads chunks of the given sizes one after the other from the pushed bytes. */
function run(
  chunks: Buffer[],
  sizes: number[],
  options: BdatReaderOptions = {},
): { bodies: string[]; rest: string; size: number; tooBig: boolean } {
  const reader = new BdatReader(options);
  const bodies: string[] = [];
  const rest: Buffer[] = [];
  let current: Buffer[] = [];
  let next = 0;
  const start = (): void => {
    if (next < sizes.length) reader.begin(sizes[next++]!);
  };
  start();
  for (let chunk of chunks) {
    while (reader.inChunk) {
      const r = reader.push(chunk);
      current.push(r.body);
      if (!r.done) break;
      assert.equal(reader.remaining, 0);
      bodies.push(text(Buffer.concat(current)));
      current = [];
      chunk = r.remainder;
      start();
    }
    if (!reader.inChunk) rest.push(chunk);
  }
  return { bodies, rest: text(Buffer.concat(rest)), size: reader.size, tooBig: reader.tooBig };
}

describe('BdatReader', () => {
  test('RFC 3030 2: exactly <size> octets are chunk data, the rest is the next command, at every split point', () => {
    const input = bytes('0123456789QUIT\r\n');
    const expected = { bodies: ['0123456789'], rest: 'QUIT\r\n', size: 10, tooBig: false };
    for (const chunks of splits(input)) assert.deepEqual(run(chunks, [10]), expected, label(chunks));
  });

  test('RFC 3030 2: chunk data is taken as is: CRLF.CRLF, bare LF and NUL are not special', () => {
    const input = bytes('a\r\n.\r\n\n\0b.\r\nRSET\r\n');
    const expected = { bodies: ['a\r\n.\r\n\n\0b.\r\n'], rest: 'RSET\r\n', size: 12, tooBig: false };
    for (const chunks of splits(input)) assert.deepEqual(run(chunks, [12]), expected, label(chunks));
  });

  test('RFC 3030 2: several chunks, including BDAT 0, make one message; the size counts all of them', () => {
    const input = bytes('abcdefXYZ');
    const expected = { bodies: ['abc', '', 'def', ''], rest: 'XYZ', size: 6, tooBig: false };
    for (const chunks of splits(input)) assert.deepEqual(run(chunks, [3, 0, 3, 0]), expected, label(chunks));
  });

  test('RFC 3030 4.2, RFC 5321 4.5.3.1.10: past maxBytes tooBig is set, output stops at maxBytes, every octet is still consumed', () => {
    const input = bytes('0123456789abcdefQUIT\r\n');
    const expected = { bodies: ['012345', '67'], rest: 'QUIT\r\n', size: 16, tooBig: true };
    for (const chunks of splits(input)) assert.deepEqual(run(chunks, [6, 10], { maxBytes: 8 }), expected, label(chunks));
    const exact = { bodies: ['012345', '6789abcdef'], rest: 'QUIT\r\n', size: 16, tooBig: false };
    assert.deepEqual(run([input], [6, 10], { maxBytes: 16 }), exact);
    assert.deepEqual(run([input], [6, 10], { maxBytes: 0 }), { ...expected, bodies: ['', ''] });
  });

  test('a 25 MB chunk in 64 KB pieces is passed through without copying', () => {
    const reader = new BdatReader({ maxBytes: 30 * 1024 * 1024 });
    const total = 25 * 1024 * 1024;
    const piece = Buffer.alloc(64 * 1024, 0x61);
    reader.begin(total);
    let seen = 0;
    while (reader.inChunk) {
      const r = reader.push(piece);
      assert.equal(r.body.buffer, piece.buffer);
      seen += r.body.length;
    }
    assert.equal(seen, total);
    assert.equal(reader.size, total);
  });

  test('misuse throws: push outside a chunk, begin inside one, a size that is not a non-negative integer', () => {
    const reader = new BdatReader();
    assert.throws(() => reader.push(bytes('x')), /outside a chunk/);
    reader.begin(2);
    assert.throws(() => reader.begin(1), /while a chunk/);
    assert.deepEqual(reader.push(bytes('ab')), { body: bytes('ab'), done: true, remainder: Buffer.alloc(0) });
    assert.throws(() => reader.begin(-1), RangeError);
    assert.throws(() => reader.begin(1.5), RangeError);
    assert.throws(() => new BdatReader({ maxBytes: Number.NaN }), RangeError);
  });
});

describe('BDAT after the command (RFC 3030 4.2, RFC 2920 PIPELINING)', () => {
  /** A minimal session loop: commands through LineSplitter, chunk data through BdatReader. */
  function session(chunks: Buffer[]): string[] {
    const events: string[] = [];
    const splitter = new LineSplitter();
    const reader = new BdatReader();
    let body: Buffer[] = [];
    const feed = (chunk: Buffer): void => {
      if (reader.inChunk) {
        const r = reader.push(chunk);
        body.push(r.body);
        if (!r.done) return;
        events.push(`chunk ${JSON.stringify(text(Buffer.concat(body)))}`);
        body = [];
        chunk = r.remainder;
      }
      splitter.push(chunk);
      for (let item = splitter.next(); item; item = splitter.next()) {
        const line = item.kind === 'line' ? text(item.line) : 'too long';
        events.push(line);
        const bdat = /^BDAT (\d+)( LAST)?$/.exec(line);
        if (bdat) {
          reader.begin(Number(bdat[1]));
          if (bdat[2]) events.push(`message size ${reader.size + reader.remaining}`);
          feed(splitter.drain());
          return;
        }
      }
    };
    for (const chunk of chunks) feed(chunk);
    return events;
  }

  test('chunk data and the next commands share chunks with BDAT: same events at every split point', () => {
    const input = bytes('MAIL FROM:<a@b>\r\nBDAT 5\r\nab\r\ncBDAT 0\r\nBDAT 3 LAST\r\nxyzQUIT\r\n');
    const expected = [
      'MAIL FROM:<a@b>',
      'BDAT 5',
      'chunk "ab\\r\\nc"',
      'BDAT 0',
      'chunk ""',
      'BDAT 3 LAST',
      'message size 8',
      'chunk "xyz"',
      'QUIT',
    ];
    assert.deepEqual(session([input]), expected);
    for (const chunks of splits(input, 0)) assert.deepEqual(session(chunks), expected, label(chunks));
  });
});
