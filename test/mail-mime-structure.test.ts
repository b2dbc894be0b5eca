import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { structureFromJson, structureToJson } from '../src/mail/mime-json.ts';
import { MAX_PARAMS, paramValue } from '../src/mail/mime-params.ts';
import {
  MAX_DEPTH,
  MAX_PARTS,
  MAX_PART_HEADER_BYTES,
  MimeStructureParser,
  parseMimeStructure,
  type ParsedMessage,
} from '../src/mail/mime-structure.ts';
import { PART_FLAGS, type MimePart } from '../src/mail/mime-types.ts';
import { body, checkTree, crlf, fingerprint, header, lf, parsePieces, shape } from './helpers/mime.ts';
import { mulberry32 } from './helpers/prng.ts';
import { splits } from './helpers/splits.ts';

const parse = (raw: Buffer): ParsedMessage => {
  const m = parseMimeStructure(raw);
  checkTree(raw, m);
  return m;
};
const child = (p: MimePart, ...path: number[]): MimePart => {
  let cur = p;
  for (const i of path) cur = cur.children[i] ?? cur.message?.body ?? assert.fail(`no part ${path.join('.')}`);
  return cur;
};

/** Messages the tests below and the split/fuzz tests share. */
const CORPUS: Record<string, Buffer> = {
  plain: crlf('From: a@example.com', 'Subject: plain', '', 'hello', 'world', ''),
  noBody: crlf('Subject: only a header'),
  empty: Buffer.alloc(0),
  multipart: crlf(
    'Subject: multipart',
    'Content-Type: multipart/mixed; boundary="b1"',
    '',
    'preamble, ignored',
    '--b1',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'hello',
    'world',
    '--b1',
    'Content-Type: application/octet-stream; name*0="a"; name*1="b.txt"',
    'Content-Transfer-Encoding: base64',
    'Content-Disposition: attachment; filename="ab.txt"',
    '',
    'YWJj',
    'ZGVm',
    '--b1--',
    'epilogue, ignored',
    '',
  ),
  nested: crlf(
    'Subject: nested',
    'Content-Type: multipart/mixed; boundary="outer"',
    '',
    '--outer',
    'Content-Type: multipart/alternative; boundary="inner"',
    '',
    '--inner',
    'Content-Type: text/plain',
    '',
    'plain',
    '--inner',
    'Content-Type: text/html',
    '',
    '<p>html</p>',
    '--outer',
    'Content-Type: image/png',
    'Content-Transfer-Encoding: base64',
    '',
    'iVBORw0KGgo=',
    '--outer--',
    '',
  ),
  rfc822: crlf(
    'Subject: forward',
    'Content-Type: multipart/mixed; boundary=zz',
    '',
    '--zz',
    'Content-Type: message/rfc822',
    '',
    'From: Inner Sender <inner@example.org>',
    'Subject: inner',
    'Content-Type: multipart/alternative; boundary=yy',
    '',
    '--yy',
    '',
    'plain',
    '--yy',
    'Content-Type: text/html',
    '',
    '<b>x</b>',
    '--zz',
    'Content-Type: text/plain',
    '',
    'after',
    '',
  ),
  digest: crlf(
    'Subject: digest',
    'Content-Type: multipart/digest; boundary=d',
    '',
    '--d',
    '',
    'Subject: in digest',
    'From: x@y',
    '',
    'hi',
    '--d',
    'Content-Type: text/plain',
    '',
    'not a message',
    '--d--',
    '',
  ),
  rfc2231: crlf(
    'Content-Type: application/x-stuff;',
    ' title*0*=us-ascii\'en\'This%20is%20even%20more%20;',
    ' title*1*=%2A%2A%2Afun%2A%2A%2A%20;',
    ' title*2="isn\'t it!"; charset*=koi8-r\'\'%F0%D2%C9%D7%C5%D4',
    'Content-Disposition: attachment; filename*=utf-8\'\'%D0%B6.pdf',
    '',
    'x',
  ),
  bareLf: lf(
    'Subject: lf',
    'Content-Type: multipart/mixed; boundary=q',
    '',
    '--q',
    'Content-Type: text/plain; charset=koi8-r',
    '',
    'l1',
    'l2',
    '--q',
    'Content-Type: text/html',
    '',
    '<i>x</i>',
    '--q--',
    '',
  ),
  missingClose: crlf('Content-Type: multipart/mixed; boundary=m', '', '--m', '', 'first', '--m', '', 'last part, no close delimiter', ''),
  noBoundaryParam: crlf('Content-Type: multipart/mixed', '', '--x', '', 'text', '--x--', ''),
  boundaryInLeaf: crlf('Content-Type: text/plain', '', '--b1', 'not a delimiter: no multipart here', '--b1--', ''),
  padding: crlf('Content-Type: multipart/mixed; boundary=p', '', '--p \t ', '', 'one', '--p', '', 'two', '--p--   ', 'epilogue'),
  prefix: crlf(
    'Content-Type: multipart/mixed; boundary="ab"',
    '',
    '--ab  ',
    'Content-Type: text/plain',
    '--ab garbage',
    'X: y',
    '',
    'body2',
    '--abc',
    '',
    'body3',
    '--ab--  ',
    'epi',
    '',
  ),
  headerOnlyParts: crlf('Content-Type: multipart/mixed; boundary=h', '', '--h', 'Content-Type: text/plain', '--h', '', '--h--'),
  eightBit: Buffer.concat([
    Buffer.from('Subject: Привет, мир\r\nFrom: Иван <ivan@пример.рф>\r\nX-Latin1: caf', 'utf8'),
    Buffer.from([0xe9]),
    Buffer.from('\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\ncaf', 'latin1'),
    Buffer.from([0xe9, 0x0d, 0x0a]),
  ]),
  qp: crlf(
    'Content-Type: text/html; charset=utf-8',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    '<p>=C3=A9t=C3=A9 =',
    'soft</p><script>var hidden =3D 1;</script>&amp; done  ',
  ),
};

describe('MIME structure: RFC 2045/2046 parts and offsets', () => {
  test('a message without Content-Type is one text/plain body (RFC 2045 5.2)', () => {
    const raw = CORPUS.plain!;
    const m = parse(raw);
    assert.equal(shape(m.root), 'text/plain');
    assert.equal(header(raw, m.root), 'From: a@example.com\r\nSubject: plain\r\n\r\n');
    assert.equal(body(raw, m.root), 'hello\r\nworld\r\n');
    assert.equal(m.root.lines, 2);
    assert.equal(m.root.encoding, null);
    assert.deepEqual(m.root.params, []);
  });

  test('only a header, and an empty message: an empty body at the end', () => {
    const m = parse(CORPUS.noBody!);
    assert.equal(m.root.bodyStart, CORPUS.noBody!.length);
    assert.equal(m.envelope.subject, 'only a header');
    const e = parse(CORPUS.empty!);
    assert.deepEqual([e.root.headerStart, e.root.bodyStart, e.root.bodyEnd, e.size], [0, 0, 0, 0]);
  });

  test('RFC 2046 5.1.1: preamble and epilogue are no part; the CRLF before a delimiter belongs to it', () => {
    const raw = CORPUS.multipart!;
    const m = parse(raw);
    assert.equal(shape(m.root), 'multipart/mixed[text/plain,application/octet-stream]');
    const [text, bin] = m.root.children as [MimePart, MimePart];
    assert.equal(header(raw, text), 'Content-Type: text/plain; charset=utf-8\r\n\r\n', 'BODY[1.MIME]');
    assert.equal(body(raw, text), 'hello\r\nworld', 'BODY[1]: the last CRLF is the delimiter\'s');
    assert.equal(text.lines, 1, 'line feeds in the body, as Dovecot counts them');
    assert.equal(body(raw, bin), 'YWJj\r\nZGVm');
    assert.equal(bin.binarySize, 6, 'BINARY.SIZE: "abcdef"');
    assert.deepEqual(bin.params, [['name', 'ab.txt']], 'RFC 2231 continuations merged');
    assert.deepEqual(bin.disposition, { type: 'attachment', params: [['filename', 'ab.txt']] });
    assert.equal(m.root.flags, 0);
  });

  test('nested multiparts: the outer delimiter ends the inner multipart that never closed (RFC 2046 5.1.2)', () => {
    const raw = CORPUS.nested!;
    const m = parse(raw);
    assert.equal(shape(m.root), 'multipart/mixed[multipart/alternative[text/plain,text/html],image/png]');
    const alt = child(m.root, 0);
    assert.equal(body(raw, child(alt, 1)), '<p>html</p>');
    assert.equal(alt.flags & PART_FLAGS.unterminated, PART_FLAGS.unterminated);
    assert.equal(m.root.flags & PART_FLAGS.unterminated, 0);
    assert.equal(child(m.root, 1).binarySize, 8, 'PNG signature');
  });

  test('message/rfc822 in a multipart: envelope and structure of the encapsulated message (RFC 2046 5.2.1)', () => {
    const raw = CORPUS.rfc822!;
    const m = parse(raw);
    assert.equal(shape(m.root), 'multipart/mixed[message/rfc822{multipart/alternative[text/plain,text/html]},text/plain]');
    const msg = child(m.root, 0);
    assert.ok(msg.message);
    assert.equal(msg.message.envelope.subject, 'inner');
    assert.deepEqual(msg.message.envelope.from, [['Inner Sender', null, 'inner', 'example.org']]);
    assert.ok(header(raw, msg.message.body).startsWith('From: Inner Sender'), 'BODY[1.HEADER]');
    assert.equal(body(raw, child(msg.message.body, 1)), '<b>x</b>', 'the inner multipart ends at the outer delimiter');
    assert.equal(msg.lines, 10);
    assert.equal(body(raw, child(m.root, 1)), 'after\r\n', 'no close delimiter: the last part runs to the end');
  });

  test('RFC 2046 5.1.5: a body part of multipart/digest defaults to message/rfc822', () => {
    const m = parse(CORPUS.digest!);
    assert.equal(shape(m.root), 'multipart/digest[message/rfc822{text/plain},text/plain]');
    assert.equal(child(m.root, 0).message?.envelope.subject, 'in digest');
  });

  test('RFC 2231: continuations merged, charset values kept encoded under name* and decoded by paramValue', () => {
    const m = parse(CORPUS.rfc2231!);
    assert.deepEqual(m.root.params, [
      ['title*', "us-ascii'en'This%20is%20even%20more%20%2A%2A%2Afun%2A%2A%2A%20isn%27t%20it!"],
      ['charset*', "koi8-r''%F0%D2%C9%D7%C5%D4"],
    ]);
    assert.equal(paramValue(m.root.params, 'title'), "This is even more ***fun*** isn't it!");
    assert.equal(paramValue(m.root.params, 'charset'), 'Привет');
    assert.equal(paramValue(m.root.disposition!.params, 'filename'), 'ж.pdf');
  });

  test('bare LF line ends give the same structure as CRLF', () => {
    const a = parse(CORPUS.bareLf!);
    const b = parse(Buffer.from(CORPUS.bareLf!.toString('latin1').replace(/\n/g, '\r\n'), 'latin1'));
    assert.equal(shape(a.root), 'multipart/mixed[text/plain,text/html]');
    assert.equal(shape(a.root), shape(b.root));
    assert.equal(body(CORPUS.bareLf!, child(a.root, 0)), 'l1\nl2');
    assert.deepEqual(a.root.children.map((c) => c.lines), b.root.children.map((c) => c.lines));
  });

  test('missing close delimiter: the last part ends with the message, the multipart is marked', () => {
    const raw = CORPUS.missingClose!;
    const m = parse(raw);
    assert.equal(m.root.children.length, 2);
    assert.equal(body(raw, child(m.root, 1)), 'last part, no close delimiter\r\n');
    assert.equal(m.root.flags, PART_FLAGS.unterminated);
  });

  test('a multipart without boundary parameter has no parts; a boundary in a non-multipart body is text', () => {
    assert.equal(shape(parse(CORPUS.noBoundaryParam!).root), 'multipart/mixed');
    const leaf = parse(CORPUS.boundaryInLeaf!);
    assert.equal(shape(leaf.root), 'text/plain');
    assert.equal(body(CORPUS.boundaryInLeaf!, leaf.root), '--b1\r\nnot a delimiter: no multipart here\r\n--b1--\r\n');
  });

  test('RFC 2046 5.1.1: transport padding after a delimiter; a delimiter only at the start of a line', () => {
    const raw = CORPUS.padding!;
    const m = parse(raw);
    assert.deepEqual(m.root.children.map((c) => body(raw, c)), ['one', 'two']);
    const mid = crlf('Content-Type: multipart/mixed; boundary=p', '', '--p', '', 'text --p', ' --p', 'x--p--', '--p--');
    const n = parse(mid);
    assert.equal(n.root.children.length, 1);
    assert.equal(body(mid, child(n.root, 0)), 'text --p\r\n --p\r\nx--p--');
  });

  test('leniently, like Dovecot, a line starting with the delimiter is one even with trailing text; an exact match wins', () => {
    const raw = CORPUS.prefix!;
    const m = parse(raw);
    assert.deepEqual(m.root.children.map((c) => body(raw, c)), ['', 'body2', 'body3']);
    assert.equal(header(raw, child(m.root, 0)), 'Content-Type: text/plain', 'header ended by the delimiter, its CRLF included there');
    // Boundaries "abc" (outer) and "ab" (inner): "--abc" is the outer one, exactly.
    const two = crlf(
      'Content-Type: multipart/mixed; boundary=abc', '', '--abc', 'Content-Type: multipart/mixed; boundary=ab', '',
      '--ab', '', 'inner', '--abc', '', 'outer 2', '--abc--',
    );
    const t = parse(two);
    assert.equal(shape(t.root), 'multipart/mixed[multipart/mixed[text/plain],text/plain]');
    assert.equal(body(two, child(t.root, 1)), 'outer 2');
  });

  test('parts closed while still in their header section: empty bodies', () => {
    const raw = CORPUS.headerOnlyParts!;
    const m = parse(raw);
    assert.equal(m.root.children.length, 2);
    assert.deepEqual(m.root.children.map((c) => [header(raw, c), body(raw, c)]), [['Content-Type: text/plain', ''], ['\r\n', '']]);
    // Two delimiter lines in a row: an empty part between them, and the parts around it end where it starts.
    const twice = crlf('Content-Type: multipart/mixed; boundary=o', '', '--o', 'Content-Type: multipart/mixed; boundary=i', '', '--i', '--o', '', 'x', '--o--');
    const t = parse(twice);
    assert.equal(shape(t.root), 'multipart/mixed[multipart/mixed[text/plain],text/plain]');
    const empty = child(t.root, 0, 0);
    assert.equal(empty.headerStart, twice.indexOf('--i\r\n--o') + 5, 'the empty part is where the delimiter starts');
    assert.equal(child(t.root, 0).bodyEnd, empty.bodyEnd);
  });

  test('8-bit headers: UTF-8 kept (RFC 6532 3.2), other 8-bit octets read as ISO-8859-1', () => {
    const m = parse(CORPUS.eightBit!);
    assert.equal(m.envelope.subject, 'Привет, мир');
    assert.deepEqual(m.envelope.from, [['Иван', null, 'ivan', 'пример.рф']]);
    assert.equal(m.header.find((f) => f.name === 'X-Latin1')?.value, 'café');
    assert.equal(m.bodyText, 'café', 'the body converted from its charset');
  });

  test('Content-ID, -Description, -MD5, -Language, -Location, -Disposition and the encoding as written', () => {
    const m = parse(crlf(
      'Content-Type: text/plain; charset=us-ascii (plain text)',
      'Content-Transfer-Encoding: Quoted-Printable (comment)',
      'Content-ID: <id1@example.com>',
      'Content-Description: a  description',
      'Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==',
      'Content-Language: en (English), fr',
      'Content-Location: http://example.com/x',
      'Content-Disposition: INLINE; size=3',
      '', 'x=3D'));
    const p = m.root;
    assert.deepEqual([p.id, p.description, p.md5, p.location], ['<id1@example.com>', 'a  description', 'Q2hlY2sgSW50ZWdyaXR5IQ==', 'http://example.com/x']);
    assert.equal(p.encoding, 'Quoted-Printable');
    assert.deepEqual(p.params, [['charset', 'us-ascii']]);
    assert.deepEqual(p.language, ['en', 'fr']);
    assert.deepEqual(p.disposition, { type: 'INLINE', params: [['size', '3']] });
    assert.equal(p.binarySize, 2);
  });

  test('an invalid Content-Type is text/plain (RFC 2045 5.2)', () => {
    for (const ct of ['text', 'foo', '/plain', '', '; charset=utf-8']) {
      const m = parse(crlf(`Content-Type: ${ct}`, '', 'x'));
      assert.equal(shape(m.root), 'text/plain', ct);
    }
  });

  test('search text: decoded text/plain and text/html parts, charset converted, scripts and tags gone', () => {
    assert.equal(parse(CORPUS.qp!).bodyText, 'été soft & done');
    assert.equal(parse(CORPUS.multipart!).bodyText, 'hello\r\nworld', 'the attachment is not text');
    assert.equal(parse(CORPUS.rfc822!).bodyText, 'plain x after');
    const koi = Buffer.concat([Buffer.from('Content-Type: text/plain; charset=koi8-r\r\nContent-Transfer-Encoding: base64\r\n\r\n'),
      Buffer.from(Buffer.from([0xf0, 0xd2, 0xc9, 0xd7, 0xc5, 0xd4]).toString('base64'))]);
    assert.equal(parse(koi).bodyText, 'Привет');
  });

  test('search text is bounded by the budget across parts, whatever the message size', () => {
    const part = (i: number): string => `--b\r\nContent-Type: text/plain\r\n\r\n${`word${i} `.repeat(5000)}\r\n`;
    const raw = Buffer.from(`Content-Type: multipart/mixed; boundary=b\r\n\r\n${[0, 1, 2, 3].map(part).join('')}--b--\r\n`);
    const m = parseMimeStructure(raw, { textBudget: 50_000 });
    assert.ok(Buffer.byteLength(m.bodyText) <= 50_000, `${Buffer.byteLength(m.bodyText)}`);
    assert.ok(m.bodyText.includes('word0') && m.bodyText.includes('word1') && !m.bodyText.includes('word2'));
  });

  test('the stored JSON reads back to the same tree; other shapes are refused', () => {
    for (const [name, raw] of Object.entries(CORPUS)) {
      const m = parseMimeStructure(raw);
      const json = JSON.parse(JSON.stringify(structureToJson(m.root))) as unknown;
      const back = structureFromJson(json);
      assert.ok(back, name);
      assert.deepEqual(structureToJson(back), structureToJson(m.root), name);
      assert.equal(shape(back), shape(m.root));
    }
    for (const bad of [null, 1, 'x', {}, { v: 2, o: [0, 0, 0], t: ['a', 'b'] }, { v: 1, o: [0, -1, 0], t: ['a', 'b'] },
      { v: 1, o: [0, 0, 0], t: ['a'] }, { v: 1, o: [0, 0, 0], t: ['a', 'b'], parts: [{}] }, { v: 1, o: [0, 0, 0], t: ['a', 'b'], p: [[1, 2]] }]) {
      assert.equal(structureFromJson(bad), undefined, JSON.stringify(bad));
    }
  });
});

describe('MIME structure: limits (broken MIME never throws, never hangs)', () => {
  const timed = (what: string, ms: number, f: () => void): void => {
    const t0 = performance.now();
    f();
    const took = performance.now() - t0;
    assert.ok(took < ms, `${what} took ${took.toFixed(0)} ms`);
  };

  test(`a part header past ${MAX_PART_HEADER_BYTES} octets: the rest is body, marked; later parts are still found`, () => {
    const raw = crlf('Content-Type: multipart/mixed; boundary=x', '', '--x', ...Array.from({ length: 20_000 }, (_, i) => `X-Filler-${i}: ${'a'.repeat(60)}`),
      '', 'body', '--x', 'Content-Type: text/html', '', '<b>hi</b>', '--x--', '');
    timed('huge header', 2000, () => {
      const m = parse(raw);
      assert.equal(m.root.children.length, 2);
      const [big, html] = m.root.children as [MimePart, MimePart];
      assert.equal(big.flags, PART_FLAGS.headerTruncated);
      assert.ok(big.bodyStart - big.headerStart <= MAX_PART_HEADER_BYTES);
      assert.equal(shape(html), 'text/html');
    });
  });

  test('pathological parameter lists: linear, at most MAX_PARAMS kept, the boundary still found', () => {
    for (const junk of ['; a', '; a=1', ';a="', '; a*0=x', ' (', '; a=(', '=', '"']) {
      const ct = `multipart/mixed${junk.repeat(Math.floor(50_000 / junk.length))}`;
      timed(JSON.stringify(junk), 2000, () => {
        const m = parse(crlf(`Content-Type: ${ct}`, '', 'x'));
        assert.ok(m.root.params.length <= MAX_PARAMS);
      });
    }
    const m = parse(crlf(`Content-Type: multipart/mixed${'; a=1'.repeat(5000)}; boundary=zz`, '', '--zz', '', 'part', '--zz--'));
    assert.equal(m.root.params.length, MAX_PARAMS + 1);
    assert.equal(shape(m.root), 'multipart/mixed[text/plain]');
  });

  test('a 4 MB line in the message header: taken as body, bounded work', () => {
    const raw = Buffer.concat([Buffer.from('Subject: '), Buffer.alloc(4 * 1024 * 1024, 0x61)]);
    timed('one long line', 3000, () => {
      const m = parse(raw);
      assert.equal(m.root.flags, PART_FLAGS.headerTruncated);
      assert.equal(m.root.bodyStart, 0);
    });
  });

  test(`nesting bomb: ${MAX_DEPTH} levels parsed, the rest left as a body`, () => {
    let s = 'Subject: deep\r\n';
    for (let i = 0; i < 5000; i++) s += `Content-Type: multipart/mixed; boundary="level${i}x"\r\n\r\n--level${i}x\r\n`;
    s += 'Content-Type: text/plain\r\n\r\nleaf\r\n';
    for (let i = 4999; i >= 0; i--) s += `--level${i}x--\r\n`;
    const raw = Buffer.from(s);
    timed('nesting bomb', 5000, () => {
      const m = parse(raw);
      let depth = 0;
      let p: MimePart | undefined = m.root;
      while (p) {
        depth++;
        if (p.flags & PART_FLAGS.tooDeep) break;
        p = p.children[0];
      }
      assert.equal(depth, MAX_DEPTH + 1);
    });
    let msgs = 'Subject: deep\r\n';
    for (let i = 0; i < 20_000; i++) msgs += 'Content-Type: message/rfc822\r\n\r\n';
    timed('message/rfc822 bomb', 5000, () => {
      const m = parse(Buffer.from(msgs));
      let depth = 0;
      for (let p: MimePart | undefined = m.root; p; p = p.message?.body) depth++;
      assert.equal(depth, MAX_DEPTH + 1);
    });
  });

  test(`parts bomb: ${MAX_PARTS} parts, then the rest is skipped and marked`, () => {
    const raw = Buffer.from(`Content-Type: multipart/mixed; boundary=x\r\n\r\n${'--x\r\n\r\na\r\n'.repeat(50_000)}--x--\r\n`);
    timed('parts bomb', 8000, () => {
      const m = parseMimeStructure(raw);
      assert.equal(checkTree(raw, m, false), MAX_PARTS);
      assert.equal(m.root.flags, PART_FLAGS.tooManyParts);
      assert.ok(m.root.flags & PART_FLAGS.tooManyParts);
    });
  });

  test('many open boundaries and a flood of lines starting with "--": linear', () => {
    let s = '';
    for (let i = 0; i < MAX_DEPTH; i++) s += `Content-Type: multipart/mixed; boundary="a${'x'.repeat(i)}"\r\n\r\n--a${'x'.repeat(i)}\r\n`;
    s += `\r\n${`--a${'x'.repeat(120)}y\r\n`.repeat(50_000)}${'--\r\n'.repeat(200_000)}`;
    timed('delimiter flood', 8000, () => checkTree(Buffer.from(s), parseMimeStructure(Buffer.from(s)), false));
  });
});

describe('MIME structure: streaming', () => {
  test('the same result however the input is cut (every split point, byte by byte, 3-way for short ones)', () => {
    for (const [name, raw] of Object.entries(CORPUS)) {
      const want = fingerprint(parseMimeStructure(raw));
      for (const pieces of splits(raw)) {
        const got = fingerprint(parsePieces(pieces));
        if (got !== want) assert.fail(`${name} cut at ${pieces.map((p) => p.length).join('+')}:\n${got}\n${want}`);
      }
    }
  });

  test('push after finish is an error; finish twice gives the same result', () => {
    const p = new MimeStructureParser();
    p.push(CORPUS.plain!);
    const a = p.finish();
    assert.equal(p.finish(), a, 'the same object');
    assert.throws(() => p.push(Buffer.from('x')));
  });

  test('fuzz: 100,000 seeded MIME-shaped and random inputs, invariants hold, cuts do not matter', () => {
    const rand = mulberry32(0x2046);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const tokens = [
      '--b', '--b--', '--c', '--c--', '--', '-', '\r\n', '\n', '\r', '\r\n\r\n', ' ', '\t', 'text', 'x'.repeat(50),
      'Content-Type: multipart/mixed; boundary=b', 'Content-Type: multipart/alternative; boundary="c"',
      'Content-Type: message/rfc822', 'Content-Type: multipart/digest; boundary=b', 'Content-Type: text/html; charset=utf-8',
      'Content-Transfer-Encoding: base64', 'Content-Transfer-Encoding: quoted-printable', 'YWJj', '=C3=A9', '=\r\n', '=',
      'Subject: s', 'From: "A" <a@b>', 'To: g: a@b, c;', 'X:', ' folded', '\u0000', 'ж', '<p>', '</p>', '<script>',
      "name*0*=utf-8''%D0", 'boundary=', ';', '"',
    ];
    const corpus = Object.values(CORPUS);
    const t0 = performance.now();
    for (let i = 0; i < 100_000; i++) {
      let raw: Buffer;
      const kind = rand();
      if (kind < 0.6) {
        const n = Math.floor(rand() * 40);
        let s = '';
        for (let k = 0; k < n; k++) s += pick(tokens) + (rand() < 0.5 ? '\r\n' : '');
        raw = Buffer.from(s);
      } else if (kind < 0.9) {
        // A corpus message, mutated: octets changed, cut, or a slice repeated.
        raw = Buffer.from(pick(corpus));
        const edits = 1 + Math.floor(rand() * 4);
        for (let e = 0; e < edits && raw.length; e++) {
          const at = Math.floor(rand() * raw.length);
          const r = rand();
          if (r < 0.4) raw[at] = Math.floor(rand() * 256);
          else if (r < 0.6) raw = raw.subarray(0, at);
          else raw = Buffer.concat([raw.subarray(0, at), raw.subarray(Math.floor(rand() * raw.length)), raw.subarray(at)]).subarray(0, 4096);
        }
      } else {
        raw = Buffer.alloc(Math.floor(rand() * 300));
        for (let k = 0; k < raw.length; k++) raw[k] = rand() < 0.3 ? pick([0x2d, 0x0d, 0x0a, 0x3a]) : Math.floor(rand() * 256);
      }
      const whole = parseMimeStructure(raw);
      checkTree(raw, whole, i % 10 === 0);
      if (i % 25 === 0) {
        const a = Math.floor(rand() * (raw.length + 1));
        const b = a + Math.floor(rand() * (raw.length - a + 1));
        const got = fingerprint(parsePieces([raw.subarray(0, a), raw.subarray(a, b), raw.subarray(b)]));
        if (got !== fingerprint(whole)) assert.fail(`input #${i} cut at ${a},${b}: ${JSON.stringify(raw.toString('latin1'))}`);
      }
    }
    const took = performance.now() - t0;
    assert.ok(took < 30_000, `${took.toFixed(0)} ms`);
  });

  test('a 25 MB message in 64 KiB pieces: the parser holds a bounded number of octets', () => {
    const head = Buffer.from(
      'From: a@example.com\r\nSubject: big\r\nContent-Type: multipart/mixed; boundary="XYZ"\r\n\r\n--XYZ\r\n' +
        'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n' +
        `${'caf=C3=A9 au lait, '.repeat(20_000)}\r\n--XYZ\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n`,
    );
    const line = Buffer.from(`${Buffer.alloc(57, 0x41).toString('base64')}\r\n`); // 57 octets per 76-character line
    const piece = Buffer.concat(Array.from({ length: Math.floor(65_536 / line.length) }, () => line));
    const parser = new MimeStructureParser();
    let size = 0;
    let maxHeld = 0;
    let pieces = 0;
    const t0 = performance.now();
    parser.push(head);
    size += head.length;
    while (size < 25 * 1024 * 1024) {
      parser.push(piece);
      size += piece.length;
      pieces++;
      maxHeld = Math.max(maxHeld, parser.heldBytes());
    }
    parser.push(Buffer.from('--XYZ--\r\n'));
    const m = parser.finish();
    const took = performance.now() - t0;
    assert.ok(maxHeld < 256 * 1024, `parser held up to ${maxHeld} octets`);
    assert.ok(took < 15_000, `${took.toFixed(0)} ms`);
    const [text, bin] = m.root.children as [MimePart, MimePart];
    assert.equal(bin.binarySize, pieces * (piece.length / line.length) * 57);
    assert.ok(m.bodyText.startsWith('café au lait'));
    assert.equal(text.flags | bin.flags | m.root.flags, 0);
  });
});
