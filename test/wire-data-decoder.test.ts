import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { DataDecoder, decodeData, type DataDecoderOptions, type DataStats } from '../src/wire/data-decoder.ts';
import { DotStuffer, dotStuff } from '../src/wire/dot-stuff.ts';
import { LineSplitter } from '../src/wire/line-splitter.ts';
import { mulberry32 as prng } from './helpers/prng.ts';
import { bytes, splits, text } from './helpers/splits.ts';

/** Random cuts, for longer fuzz inputs. */
function randomSplit(input: Buffer, rand: () => number): Buffer[] {
  const chunks: Buffer[] = [];
  let at = 0;
  while (at < input.length) {
    const n = Math.floor(rand() * 8);
    chunks.push(input.subarray(at, at + n));
    at += n;
  }
  return chunks;
}

const label = (chunks: Buffer[]): string => JSON.stringify(chunks.map(text));

interface Decoded {
  body: string;
  done: boolean;
  remainder: string;
  stats: DataStats;
}

/** Feeds the chunks in order; after the end of data the rest of the input belongs to the remainder. */
function run(chunks: Buffer[], options: DataDecoderOptions = {}): Decoded & { maxCarry: number } {
  const d = new DataDecoder(options);
  const body: Buffer[] = [];
  const rest: Buffer[] = [];
  let maxCarry = 0;
  for (const chunk of chunks) {
    if (d.done) {
      rest.push(chunk);
      continue;
    }
    const r = d.push(chunk);
    body.push(r.body);
    if (r.done) rest.push(r.remainder);
    else assert.equal(r.remainder.length, 0);
    assert.equal(r.done, d.done);
    maxCarry = Math.max(maxCarry, d.carryBytes);
  }
  return { body: text(Buffer.concat(body)), done: d.done, remainder: text(Buffer.concat(rest)), stats: d.stats, maxCarry };
}

function assertEverySplit(input: string, expected: Partial<Decoded>, options: DataDecoderOptions = {}): void {
  const whole = run([bytes(input)], options);
  for (const [key, value] of Object.entries(expected)) {
    const got = whole[key as keyof Decoded];
    if (key === 'stats') assert.deepEqual({ ...got as DataStats, ...value as object }, got, 'stats');
    else assert.deepEqual(got, value, key);
  }
  for (const chunks of splits(bytes(input))) {
    const got = run(chunks, options);
    assert.ok(got.maxCarry <= 2, label(chunks));
    assert.deepEqual({ ...got, maxCarry: 0 }, { ...whole, maxCarry: 0 }, label(chunks));
  }
}

const noStats: DataStats = { size: 0, tooBig: false, nulBytes: 0, bareLf: 0, bareCr: 0, longLines: 0, longestLine: 0 };

/**
 * The specification, written the obvious way on a whole buffer: the body ends
 * at the first CRLF.CRLF (the DATA command's CRLF counts as the first CRLF),
 * each line loses a leading dot, a bare LF becomes CRLF.
 */
function reference(input: Buffer): Decoded | null {
  const framed = Buffer.concat([bytes('\r\n'), input]);
  const end = framed.indexOf('\r\n.\r\n');
  if (end < 0) return null;
  const raw = input.subarray(0, end);
  const stats = { ...noStats };
  const lines: Buffer[] = [];
  let start = 0;
  while (start < raw.length) {
    const lf = raw.indexOf(0x0a, start);
    let line = raw.subarray(start, lf);
    const bare = line.length === 0 || line[line.length - 1] !== 0x0d;
    if (bare) stats.bareLf++;
    else line = line.subarray(0, line.length - 1);
    if (line[0] === 0x2e) line = line.subarray(1);
    if (line.length > 998) stats.longLines++;
    stats.longestLine = Math.max(stats.longestLine, line.length);
    for (let i = 0; i < line.length; i++) {
      if (line[i] === 0) stats.nulBytes++;
      if (line[i] === 0x0d) stats.bareCr++;
    }
    lines.push(line, bytes('\r\n'));
    start = lf + 1;
  }
  const body = Buffer.concat(lines);
  stats.size = body.length;
  return { body: text(body), done: true, remainder: text(input.subarray(end + 3)), stats };
}

describe('DataDecoder', () => {
  test('RFC 5321 4.1.1.4: the body ends at CRLF.CRLF; the final CRLF belongs to the body', () => {
    assertEverySplit('Subject: x\r\n\r\nhello\r\n.\r\n', {
      body: 'Subject: x\r\n\r\nhello\r\n',
      done: true,
      remainder: '',
      stats: { ...noStats, size: 21, longestLine: 10 },
    });
  });

  test('RFC 5321 4.1.1.4: ".CRLF" right after DATA is an empty body', () => {
    assertEverySplit('.\r\n', { body: '', done: true, remainder: '', stats: noStats });
    assertEverySplit('.\r\nQUIT\r\n', { body: '', done: true, remainder: 'QUIT\r\n' });
  });

  test('RFC 5321 4.5.2: a leading dot is removed from every line', () => {
    assertEverySplit('..\r\n..x\r\n.y\r\na.b\r\n...\r\n\r\n.\r\n', {
      body: '.\r\n.x\r\ny\r\na.b\r\n..\r\n\r\n',
      done: true,
      remainder: '',
    });
  });

  test('RFC 5321 4.1.1.4, 2.3.8: only CRLF.CRLF ends the body, not LF.LF, LF.CRLF, CR.CR or CRLF.LF (SMTP smuggling)', () => {
    const input = 'a\n.\nb\n.\r\nc\r.\rd\r\n.\ne\r\n.\r\nMAIL FROM:<x@y>\r\n';
    assertEverySplit(input, {
      body: 'a\r\n\r\nb\r\n\r\nc\r.\rd\r\n\r\ne\r\n',
      done: true,
      remainder: 'MAIL FROM:<x@y>\r\n',
      stats: { ...noStats, size: 22, bareLf: 4, bareCr: 2, longestLine: 5 },
    });
    assert.equal(run([bytes('a\n.\n')]).done, false);
    assert.equal(run([bytes('a\r.\r\r\n')]).done, false);
  });

  test('RFC 5321 2.3.8: bare LF is stored as CRLF and counted; bare CR is kept and counted', () => {
    assertEverySplit('one\ntwo\r\nthree\rfour\r\r\n\n\r\n.\r\n', {
      body: 'one\r\ntwo\r\nthree\rfour\r\r\n\r\n\r\n',
      done: true,
      stats: { ...noStats, size: 27, bareLf: 2, bareCr: 2, longestLine: 11 },
    });
  });

  test('RFC 5321 4.1.1.4: NUL bytes are kept and counted, the caller decides', () => {
    assertEverySplit('a\0b\r\n\0\r\n.\r\n', {
      body: 'a\0b\r\n\0\r\n',
      done: true,
      stats: { ...noStats, size: 8, nulBytes: 2, longestLine: 3 },
    });
  });

  test('RFC 5321 4.5.3.1.6: lines over 1000 octets with CRLF are counted, not refused; a stuffed dot does not count', () => {
    const ok = 'x'.repeat(998);
    const long = 'y'.repeat(999);
    const input = bytes(`${ok}\r\n.${ok}\r\n${long}\n${long}\r\n.\r\n`);
    const expected = { body: `${ok}\r\n${ok}\r\n${long}\r\n${long}\r\n`, done: true, remainder: '' };
    const stats = { ...noStats, size: 4 * 1000 + 2, bareLf: 1, longLines: 2, longestLine: 999 };
    for (const chunks of splits(input, 0)) {
      const got = run(chunks);
      assert.deepEqual({ body: got.body, done: got.done, remainder: got.remainder }, expected);
      assert.deepEqual(got.stats, stats);
    }
  });

  test('RFC 5321 4.5.3.1.10: past maxBytes tooBig is set, output stops at maxBytes, the end and the remainder are still found', () => {
    // Decoded: "0123456789\r\n.abcdefghij\r\nX\r\n" (28 octets), limit 15.
    assertEverySplit(
      '0123456789\r\n..abcdefghij\nX\r\n.\r\nRSET\r\n',
      {
        body: '0123456789\r\n.ab',
        done: true,
        remainder: 'RSET\r\n',
        stats: { ...noStats, size: 28, tooBig: true, bareLf: 1, longestLine: 11 },
      },
      { maxBytes: 15 },
    );
    assertEverySplit('abc\r\n.\r\n', { body: 'abc\r\n', stats: { ...noStats, size: 5, longestLine: 3 } }, { maxBytes: 5 });
    assertEverySplit('abc\r\n.\r\n', { body: '', stats: { ...noStats, size: 5, tooBig: true, longestLine: 3 } }, { maxBytes: 0 });
  });

  test('RFC 5321 4.1.1.4: fuzz against the reference decoder, random cuts, carry never above 2 bytes', () => {
    const rand = prng(5321);
    const alphabet = ['\r', '\n', '.', 'a', '\0', '\r\n', '\r\n.', '.\r\n'];
    for (let round = 0; round < 3000; round++) {
      let s = '';
      const n = Math.floor(rand() * 30);
      for (let i = 0; i < n; i++) s += alphabet[Math.floor(rand() * alphabet.length)];
      const input = bytes(`${s}\r\n.\r\n${round % 3 === 0 ? 'QUIT\r\n' : ''}`);
      const expected = reference(input);
      assert.ok(expected, JSON.stringify(s));
      const chunkings = input.length <= 14 ? [...splits(input)] : [[input], randomSplit(input, rand), randomSplit(input, rand)];
      for (const chunks of chunkings) {
        const got = run(chunks);
        assert.ok(got.maxCarry <= 2);
        assert.deepEqual({ ...got, maxCarry: 0 }, { ...expected, maxCarry: 0 }, label(chunks));
      }
    }
  });

  test('push() after the end of data throws; decodeData() decodes a whole buffer', () => {
    const d = new DataDecoder();
    assert.equal(d.push(bytes('.\r\n')).done, true);
    assert.throws(() => d.push(bytes('x')), /after the end of data/);
    assert.deepEqual(decodeData(bytes('a\r\n.\r\nb')), {
      body: bytes('a\r\n'),
      done: true,
      remainder: bytes('b'),
      stats: { ...noStats, size: 3, longestLine: 1 },
    });
    assert.throws(() => new DataDecoder({ maxBytes: -1 }), RangeError);
  });

  test('RFC 5321 4.5.3.1.10: a 25 MB body in 64 KB chunks keeps a carry of at most 2 bytes and decodes byte for byte', () => {
    const rand = prng(25);
    const stuffer = new DotStuffer();
    const original = createHash('sha256');
    const decoded = createHash('sha256');
    const decoder = new DataDecoder({ maxBytes: 30 * 1024 * 1024 });
    const limited = new DataDecoder({ maxBytes: 10 * 1024 * 1024 });
    let originalSize = 0;
    let decodedSize = 0;
    let limitedOutput = 0;
    let pending: Buffer[] = [];
    let pendingSize = 0;
    const feed = (chunk: Buffer): void => {
      const r = decoder.push(chunk);
      decoded.update(r.body);
      decodedSize += r.body.length;
      limitedOutput += limited.push(chunk).body.length;
      assert.ok(decoder.carryBytes <= 2 && limited.carryBytes <= 2);
    };
    const line = (): Buffer => {
      const kind = rand();
      const len = Math.floor(rand() * 120);
      const s = kind < 0.1 ? '.' : kind < 0.2 ? `..${'d'.repeat(len)}` : kind < 0.25 ? '' : 'm'.repeat(len);
      return bytes(`${s}\r\n`);
    };
    while (originalSize < 25 * 1024 * 1024) {
      const l = line();
      original.update(l);
      originalSize += l.length;
      const wire = stuffer.push(l);
      pending.push(wire);
      pendingSize += wire.length;
      if (pendingSize >= 64 * 1024) {
        const all = Buffer.concat(pending);
        feed(all.subarray(0, 64 * 1024));
        pending = [all.subarray(64 * 1024)];
        pendingSize = pending[0]!.length;
      }
    }
    const last = Buffer.concat([...pending, stuffer.end(), bytes('QUIT\r\n')]);
    const r = decoder.push(last);
    decoded.update(r.body);
    decodedSize += r.body.length;
    assert.equal(r.done, true);
    assert.equal(text(r.remainder), 'QUIT\r\n');
    assert.equal(decodedSize, originalSize);
    assert.equal(decoder.size, originalSize);
    assert.equal(decoded.digest('hex'), original.digest('hex'));
    assert.equal(decoder.tooBig, false);

    const lr = limited.push(last);
    limitedOutput += lr.body.length;
    assert.equal(lr.done, true);
    assert.equal(text(lr.remainder), 'QUIT\r\n');
    assert.equal(limited.tooBig, true);
    assert.equal(limited.size, originalSize);
    assert.equal(limitedOutput, 10 * 1024 * 1024);
  });
});

describe('DotStuffer', () => {
  test('RFC 5321 4.5.2: leading dots are doubled, the message ends with CRLF.CRLF', () => {
    assert.equal(text(dotStuff(bytes('.\r\n..\r\na.b\r\n.x\r\n'))), '..\r\n...\r\na.b\r\n..x\r\n.\r\n');
    assert.equal(text(dotStuff(bytes(''))), '.\r\n');
    assert.equal(text(dotStuff(bytes('.'))), '..\r\n.\r\n');
    assert.equal(text(dotStuff(bytes('no newline'))), 'no newline\r\n.\r\n');
    assert.equal(text(dotStuff(bytes('ends in CR\r'))), 'ends in CR\r\n.\r\n');
  });

  test('RFC 5321 2.3.8: bare LF is sent as CRLF (and the next line is stuffed); bare CR is sent as is', () => {
    assert.equal(text(dotStuff(bytes('a\n.\nb\rc\r\n'))), 'a\r\n..\r\nb\rc\r\n.\r\n');
  });

  test('RFC 5321 4.5.2: streaming gives the same bytes at every split point', () => {
    const input = bytes('.a\r\n..\nb\r\r\n.\r\n\n.');
    const expected = text(dotStuff(input));
    for (const chunks of splits(input)) {
      const s = new DotStuffer();
      const out = Buffer.concat([...chunks.map((c) => s.push(c)), s.end()]);
      assert.equal(text(out), expected, label(chunks));
    }
    const s = new DotStuffer();
    s.end();
    assert.throws(() => s.push(bytes('x')), /after end/);
    assert.throws(() => s.end(), /twice/);
  });

  test('RFC 5321 4.5.2: fuzz round trip, dot-stuff then decode gives the message with CRLF line endings', () => {
    const rand = prng(3030);
    const alphabet = ['\r', '\n', '.', 'a', '\r\n', '\r\n.', '.\r\n', '\r\n..', '\0'];
    for (let round = 0; round < 3000; round++) {
      let s = '';
      const n = Math.floor(rand() * 24);
      for (let i = 0; i < n; i++) s += alphabet[Math.floor(rand() * alphabet.length)];
      const message = bytes(s);
      // Expected: bare LF -> CRLF; a last line without line ending gets one (a trailing CR just its LF).
      let normalized = s.replace(/(?<!\r)\n/g, '\r\n');
      if (normalized !== '' && !normalized.endsWith('\r\n')) normalized += normalized.endsWith('\r') ? '\n' : '\r\n';

      const stuffer = new DotStuffer();
      const wire = Buffer.concat([...randomSplit(message, rand).map((c) => stuffer.push(c)), stuffer.end()]);
      assert.ok(!/(?<!\r)\n/.test(text(wire)), `bare LF on the wire: ${JSON.stringify(text(wire))}`);
      const pipelined = Buffer.concat([wire, bytes('QUIT\r\n')]);
      const got = run(randomSplit(pipelined, rand));
      assert.equal(got.done, true, JSON.stringify(s));
      assert.equal(got.body, normalized, JSON.stringify(s));
      assert.equal(got.remainder, 'QUIT\r\n', JSON.stringify(s));
      assert.equal(got.stats.bareLf, 0);
    }
  });
});

describe('DATA after the command (RFC 2920 PIPELINING, RFC 5321 4.1.1.4)', () => {
  /** A minimal session loop: commands through LineSplitter, DATA bodies through DataDecoder. */
  function session(chunks: Buffer[]): string[] {
    const events: string[] = [];
    const splitter = new LineSplitter();
    let data: DataDecoder | null = null;
    let body: Buffer[] = [];
    const feed = (chunk: Buffer): void => {
      if (data) {
        const r = data.push(chunk);
        body.push(r.body);
        if (!r.done) return;
        events.push(`body ${JSON.stringify(text(Buffer.concat(body)))}`);
        data = null;
        body = [];
        chunk = r.remainder;
      }
      splitter.push(chunk);
      for (let item = splitter.next(); item; item = splitter.next()) {
        const line = item.kind === 'line' ? text(item.line) : 'too long';
        events.push(line);
        if (line === 'DATA') {
          data = new DataDecoder();
          feed(splitter.drain());
          return;
        }
      }
    };
    for (const chunk of chunks) feed(chunk);
    return events;
  }

  test('the body and the next commands may share a chunk with DATA: same events at every split point', () => {
    const input = bytes('MAIL FROM:<a@b>\r\nDATA\r\nhi\r\n..\r\n.\r\nDATA\r\n.\r\nQUIT\r\n');
    const expected = ['MAIL FROM:<a@b>', 'DATA', 'body "hi\\r\\n.\\r\\n"', 'DATA', 'body ""', 'QUIT'];
    assert.deepEqual(session([input]), expected);
    for (const chunks of splits(input)) assert.deepEqual(session(chunks), expected, label(chunks));
  });
});
