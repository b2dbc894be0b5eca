import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LineSplitter, SMTP_MAX_COMMAND_LINE, type LineItem } from '../src/wire/line-splitter.ts';
import { bytes, splits } from './helpers/splits.ts';

const label = (chunks: Buffer[]): string => JSON.stringify(chunks.map((c) => c.toString('latin1')));

type Shown = { line: string; bareLf: boolean } | { tooLong: number };
const show = (item: LineItem): Shown =>
  item.kind === 'line' ? { line: item.line.toString('latin1'), bareLf: item.bareLf } : { tooLong: item.length };

/** Pushes the chunks, pulling every item after each push; returns the items and what drain() gives at the end. */
function run(chunks: Buffer[], maxLineBytes?: number): { items: Shown[]; rest: string; maxBuffered: number } {
  const s = new LineSplitter(maxLineBytes === undefined ? {} : { maxLineBytes });
  const items: Shown[] = [];
  let maxBuffered = 0;
  for (const chunk of chunks) {
    s.push(chunk);
    for (let item = s.next(); item; item = s.next()) items.push(show(item));
    maxBuffered = Math.max(maxBuffered, s.bufferedBytes);
  }
  return { items, rest: s.drain().toString('latin1'), maxBuffered };
}

function assertEverySplit(input: string, expected: ReturnType<typeof run>, maxLineBytes?: number): void {
  for (const chunks of splits(bytes(input))) {
    const got = run(chunks, maxLineBytes);
    assert.deepEqual(got.items, expected.items, label(chunks));
    assert.equal(got.rest, expected.rest, label(chunks));
    if (maxLineBytes !== undefined) assert.ok(got.maxBuffered < maxLineBytes, label(chunks));
  }
}

describe('LineSplitter', () => {
  test('RFC 5321 2.3.8: CRLF ends a line, the same at every split point', () => {
    const input = 'EHLO client.example\r\nMAIL FROM:<a@b.example>\r\n\r\nNOOP\r\nQUI';
    const expected = {
      items: [
        { line: 'EHLO client.example', bareLf: false },
        { line: 'MAIL FROM:<a@b.example>', bareLf: false },
        { line: '', bareLf: false },
        { line: 'NOOP', bareLf: false },
      ],
      rest: 'QUI',
      maxBuffered: 0,
    };
    assert.deepEqual(run([bytes(input)]).items, expected.items);
    assertEverySplit(input, expected);
  });

  test('RFC 5321 2.3.8: bare LF ends a command line and is reported; a lone CR is line content', () => {
    const input = 'NOOP\nRSET\r\nA\rB\r\n\n\r\r\n';
    assertEverySplit(input, {
      items: [
        { line: 'NOOP', bareLf: true },
        { line: 'RSET', bareLf: false },
        { line: 'A\rB', bareLf: false },
        { line: '', bareLf: true },
        { line: '\r', bareLf: false },
      ],
      rest: '',
      maxBuffered: 0,
    });
  });

  test('RFC 5321 4.5.3.1.4: 512 octets including CRLF is the default limit', () => {
    const s = new LineSplitter();
    assert.equal(s.maxLineBytes, SMTP_MAX_COMMAND_LINE);
    const ok = 'A'.repeat(510);
    const long = 'B'.repeat(511);
    const input = `${ok}\r\n${long}\r\n${long}\n${'C'.repeat(512)}\nNOOP\r\n`;
    const expected = {
      items: [
        { line: ok, bareLf: false },
        { tooLong: 513 },
        { line: long, bareLf: true }, // 511 + LF = 512 octets as received
        { tooLong: 513 },
        { line: 'NOOP', bareLf: false },
      ],
      rest: '',
      maxBuffered: 0,
    };
    const whole = run([bytes(input)], 512);
    assert.deepEqual(whole.items, expected.items);
    for (const chunks of splits(bytes(input), 0)) {
      const got = run(chunks, 512);
      assert.deepEqual(got.items, expected.items, `split ${chunks.map((c) => c.length).join('+')}`);
      assert.ok(got.maxBuffered < 512);
    }
  });

  test('RFC 5321 4.5.3.1.4: an over-long line is reported once, at its end, at every split point (maxLineBytes 6)', () => {
    // Limit 6: "abcd\r\n" (6) fits, "abcde\r\n" (7) and "abcdef\n" (7) do not, "abcde\n" (6) fits.
    const input = 'abcd\r\nabcde\r\nabcdefghijklmnop\r\nabcde\nabcdef\n\r\nx\r\r\r\r\r\nyz';
    assertEverySplit(
      input,
      {
        items: [
          { line: 'abcd', bareLf: false },
          { tooLong: 7 },
          { tooLong: 18 },
          { line: 'abcde', bareLf: true },
          { tooLong: 7 },
          { line: '', bareLf: false },
          { tooLong: 7 },
        ],
        rest: 'yz',
        maxBuffered: 0,
      },
      6,
    );
  });

  test('RFC 5321 4.5.3.1.4: a 1 MB line without LF is never buffered, and drain() after it gives nothing back', () => {
    const s = new LineSplitter();
    const chunk = Buffer.alloc(1000, 0x41);
    for (let i = 0; i < 1000; i++) {
      s.push(chunk);
      assert.equal(s.next(), null);
      assert.ok(s.bufferedBytes < 512);
      assert.equal(s.pendingBytes, 0);
    }
    assert.ok(s.discardingLine);
    s.push(bytes('AAA\r\nNOOP\r\n'));
    assert.deepEqual(show(s.next()!), { tooLong: 1_000_005 });
    assert.deepEqual(show(s.next()!), { line: 'NOOP', bareLf: false });
    assert.equal(s.next(), null);
  });

  test('RFC 2920 PIPELINING: drain() after the k-th line returns exactly the bytes after it, at every split point', () => {
    const input = bytes('EHLO x\r\nBDAT 4\nabcdXY\r\nQUIT\r\n\r\npartial');
    // Offsets just after each line ending.
    const ends: number[] = [];
    for (let i = 0; i < input.length; i++) if (input[i] === 0x0a) ends.push(i + 1);
    for (let k = 1; k <= ends.length; k++) {
      const expected = input.subarray(ends[k - 1]).toString('latin1');
      for (const chunks of splits(input)) {
        const s = new LineSplitter();
        let seen = 0;
        let rest: string | null = null;
        for (let c = 0; c < chunks.length && rest === null; c++) {
          s.push(chunks[c]!);
          for (let item = s.next(); item; item = s.next()) {
            if (++seen === k) {
              rest = Buffer.concat([s.drain(), ...chunks.slice(c + 1)]).toString('latin1');
              break;
            }
          }
        }
        assert.equal(rest, expected, `k=${k} ${label(chunks)}`);
        assert.equal(s.pendingBytes, 0);
      }
    }
  });

  test('drain() returns the held partial line and queued chunks in order, and the splitter starts over empty', () => {
    const s = new LineSplitter();
    s.push(bytes('MAIL FR'));
    assert.equal(s.next(), null);
    assert.equal(s.bufferedBytes, 7);
    s.push(bytes('OM:<a@b>'));
    s.push(bytes('\r\nRC'));
    assert.equal(s.pendingBytes, 7 + 8 + 4);
    assert.equal(s.drain().toString('latin1'), 'MAIL FROM:<a@b>\r\nRC');
    assert.equal(s.pendingBytes, 0);
    assert.equal(s.drain().length, 0);
    s.push(bytes('NOOP\r\n'));
    assert.deepEqual(show(s.next()!), { line: 'NOOP', bareLf: false });
  });

  test('returned lines are copies: changing the pushed chunk later does not change them', () => {
    const s = new LineSplitter();
    const chunk = bytes('HELO a\r\n');
    s.push(chunk);
    const item = s.next();
    chunk.fill(0x5a);
    assert.deepEqual(item && show(item), { line: 'HELO a', bareLf: false });
  });

  test('maxLineBytes must be a positive integer', () => {
    assert.throws(() => new LineSplitter({ maxLineBytes: 0 }), RangeError);
    assert.throws(() => new LineSplitter({ maxLineBytes: 1.5 }), RangeError);
    assert.throws(() => new LineSplitter({ maxLineBytes: -1 }), RangeError);
    assert.deepEqual(run([bytes('\n\r\nx\n')], 1).items, [{ line: '', bareLf: true }, { tooLong: 2 }, { tooLong: 2 }]);
  });
});
