import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { transferDecoder } from '../src/mail/mime-decode.ts';
import { parseMimeStructure } from '../src/mail/mime-structure.ts';
import { binarySize, decodeBody, decodedSize, UnknownTransferEncodingError } from '../src/protocols/imap/encode/binary.ts';
import { encodeBodyStructure } from '../src/protocols/imap/encode/bodystructure.ts';
import { encodeEnvelope } from '../src/protocols/imap/encode/envelope.ts';
import { imapString, nstring } from '../src/protocols/imap/encode/imap-string.ts';
import { partAt, sectionRange, type SectionText } from '../src/protocols/imap/encode/section-range.ts';
import { crlf } from './helpers/mime.ts';
import { splits } from './helpers/splits.ts';

const bodystructure = (raw: Buffer, opts = {}): string => encodeBodyStructure(parseMimeStructure(raw).root, { extensible: true, ...opts });
const bodyForm = (raw: Buffer): string => encodeBodyStructure(parseMimeStructure(raw).root, { extensible: false });
const envelope = (raw: Buffer, opts = {}): string => encodeEnvelope(parseMimeStructure(raw).envelope, opts);

/** n lines of `width` characters and a CRLF each, then a last line without one, `total` octets in all. */
function lines(n: number, width: number, total: number, ch = 'x'): string {
  const line = `${ch.repeat(width)}\r\n`;
  const last = total - n * line.length;
  assert.ok(last >= 0);
  return line.repeat(n) + ch.repeat(last);
}

describe('IMAP strings (RFC 9051 4.3)', () => {
  test('quoted when safe; literal for 8-bit, CR, LF and quoted-specials; UTF-8 quoted under UTF8=ACCEPT', () => {
    assert.equal(imapString('plain text'), '"plain text"');
    assert.equal(imapString(''), '""');
    assert.equal(imapString('tab\there'), '"tab\there"');
    assert.equal(imapString('say "hi"'), '{8}\r\nsay "hi"');
    assert.equal(imapString('back\\slash'), '{10}\r\nback\\slash');
    assert.equal(imapString('two\r\nlines'), '{10}\r\ntwo\r\nlines');
    assert.equal(imapString('Привет'), '{12}\r\nПривет', 'the literal counts UTF-8 octets');
    assert.equal(imapString('Привет', { utf8: true }), '"Привет"');
    assert.equal(imapString('bell\u0007', { utf8: true }), '{5}\r\nbell\u0007');
    assert.equal(nstring(null), 'NIL');
    assert.equal(nstring('NIL'), '"NIL"');
  });
});

describe('ENVELOPE and BODYSTRUCTURE: the RFC examples', () => {
  test('RFC 3501 8 sample FETCH: ENVELOPE and BODY', () => {
    const raw = crlf(
      'Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)',
      'From: Terry Gray <gray@cac.washington.edu>',
      'Subject: IMAP4rev1 WG mtg summary and minutes',
      'To: imap@cac.washington.edu',
      'cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>',
      'Message-Id: <B27397-0100000@cac.washington.edu>',
      'MIME-Version: 1.0',
      'Content-Type: TEXT/PLAIN; CHARSET=US-ASCII',
      'Content-Transfer-Encoding: 7BIT',
      '',
      `${lines(91, 30, 3028 - 116)}${'y'.repeat(114)}\r\n`,
    );
    assert.equal(
      envelope(raw),
      '("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev1 WG mtg summary and minutes" ' +
        '(("Terry Gray" NIL "gray" "cac.washington.edu")) (("Terry Gray" NIL "gray" "cac.washington.edu")) ' +
        '(("Terry Gray" NIL "gray" "cac.washington.edu")) ((NIL NIL "imap" "cac.washington.edu")) ' +
        '((NIL NIL "minutes" "CNRI.Reston.VA.US")("John Klensin" NIL "KLENSIN" "MIT.EDU")) NIL NIL ' +
        '"<B27397-0100000@cac.washington.edu>")',
    );
    assert.equal(bodyForm(raw), '("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92)');
  });

  test('RFC 3501 7.4.2 BODYSTRUCTURE example (multipart, body-fld-id, body-fld-desc), both forms', () => {
    const raw = crlf(
      'Subject: diff',
      'Content-Type: MULTIPART/MIXED; BOUNDARY="x"',
      '',
      '--x',
      'Content-Type: TEXT/PLAIN; CHARSET=US-ASCII',
      'Content-Transfer-Encoding: 7BIT',
      '',
      lines(23, 46, 1152),
      '--x',
      'Content-Type: TEXT/PLAIN; CHARSET=US-ASCII; NAME=cc.diff',
      'Content-ID: <960723163407.20117h@cac.washington.edu>',
      'Content-Description: Compiler diff',
      'Content-Transfer-Encoding: BASE64',
      '',
      lines(73, 60, 4554, 'A'),
      '--x--',
      '',
    );
    assert.equal(
      bodyForm(raw),
      '(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1152 23)("TEXT" "PLAIN" ("CHARSET" "US-ASCII" "NAME" ' +
        '"cc.diff") "<960723163407.20117h@cac.washington.edu>" "Compiler diff" "BASE64" 4554 73) "MIXED")',
    );
    assert.equal(
      bodystructure(raw),
      '(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1152 23 NIL NIL NIL NIL)("TEXT" "PLAIN" ("CHARSET" "US-ASCII" "NAME" ' +
        '"cc.diff") "<960723163407.20117h@cac.washington.edu>" "Compiler diff" "BASE64" 4554 73 NIL NIL NIL NIL) "MIXED" ' +
        '("BOUNDARY" "x") NIL NIL NIL)',
    );
  });

  test('RFC 9051 7.5.2: encoded words stay encoded; 8-bit values are literals, quoted with UTF8=ACCEPT', () => {
    const raw = crlf('Subject: =?utf-8?b?0JY=?= Привет', 'From: Иван <ivan@example.ru>', '', '');
    assert.equal(envelope(raw), '(NIL {29}\r\n=?utf-8?b?0JY=?= Привет (({8}\r\nИван NIL "ivan" "example.ru")) (({8}\r\nИван NIL "ivan" "example.ru")) (({8}\r\nИван NIL "ivan" "example.ru")) NIL NIL NIL NIL NIL)');
    assert.equal(envelope(raw, { utf8: true }), '(NIL "=?utf-8?b?0JY=?= Привет" (("Иван" NIL "ivan" "example.ru")) (("Иван" NIL "ivan" "example.ru")) (("Иван" NIL "ivan" "example.ru")) NIL NIL NIL NIL NIL)');
  });

  test('message/global is a body-type-msg in IMAP4rev2 only (RFC 9051 media-message; RFC 3501 has RFC822 only)', () => {
    const raw = crlf('Content-Type: message/global', '', 'Subject: inner', '', 'text');
    assert.equal(bodystructure(raw), '("message" "global" NIL NIL NIL "7bit" 22 NIL NIL NIL NIL)');
    assert.equal(
      bodystructure(raw, { imap4rev2: true }),
      '("message" "global" NIL NIL NIL "7bit" 22 (NIL "inner" NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 4 0 NIL NIL NIL NIL) 2 NIL NIL NIL NIL)',
    );
  });
});

/**
 * Messages as Dovecot 2.3.19 (the reference stack) printed them: BODYSTRUCTURE,
 * BODY and ENVELOPE, byte for byte.
 */
const DOVECOT: { name: string; raw: Buffer; bodystructure: string; body: string; envelope: string }[] = [
  {
    name: 'multipart/mixed, RFC 2231 continuation, group syntax, route, comment as name, missing domain',
    raw: crlf(
      'From: "Ivan Petrov" <ivan@example.ru>',
      'To: Team: a@example.com, "x y"@b.example;, c (Carl C)',
      'Cc: <@route1,@route2:x@y>, =?utf-8?q?a?=   =?utf-8?q?b?= <enc@x>, "" <e@x>',
      'Subject: =?utf-8?q?caf=C3=A9?= folded',
      'Date: Tue, 1 Jul 2003 10:52:37 +0200',
      'Message-ID:  <abc@x> (c)',
      'In-Reply-To: <p@x>',
      'Content-Type: multipart/mixed; boundary="b1"',
      '', 'preamble', '--b1', 'Content-Type: text/plain; charset=utf-8', '', 'hello', 'world', '--b1',
      'Content-Type: application/octet-stream; name*0="a"; name*1="b.txt"', 'Content-Transfer-Encoding: base64',
      'Content-Disposition: attachment; filename="ab.txt"', '', 'YWJj', 'ZGVm', '--b1--', 'epilogue', '',
    ),
    bodystructure: '(("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 12 1 NIL NIL NIL NIL)("application" "octet-stream" ("name" "ab.txt") NIL NIL "base64" 10 NIL ("attachment" ("filename" "ab.txt")) NIL NIL) "mixed" ("boundary" "b1") NIL NIL NIL)',
    body: '(("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 12 1)("application" "octet-stream" ("name" "ab.txt") NIL NIL "base64" 10) "mixed")',
    envelope: '("Tue, 1 Jul 2003 10:52:37 +0200" "=?utf-8?q?caf=C3=A9?= folded" (("Ivan Petrov" NIL "ivan" "example.ru")) (("Ivan Petrov" NIL "ivan" "example.ru")) (("Ivan Petrov" NIL "ivan" "example.ru")) ((NIL NIL "Team" NIL)(NIL NIL "a" "example.com")(NIL NIL "x y" "b.example")(NIL NIL NIL NIL)("Carl C" NIL "c" "MISSING_DOMAIN")) ((NIL "@route1,@route2" "x" "y")("=?utf-8?q?a?= =?utf-8?q?b?=" NIL "enc" "x")(NIL NIL "e" "x")) NIL "<p@x>" "<abc@x> (c)")',
  },
  {
    name: 'message/rfc822 holding a multipart whose last part the outer delimiter ends',
    raw: crlf(
      'Subject: x', 'Content-Type: multipart/mixed; boundary=zz', '', '--zz', 'Content-Type: message/rfc822', '',
      'From: a@b.c', 'Subject: inner', 'Content-Type: multipart/alternative; boundary=yy', '', '--yy', '', 'plain', '--yy',
      'Content-Type: text/html', '', '<b>x</b>', '--zz', 'Content-Type: text/plain', '', 'after', '',
    ),
    bodystructure: '(("message" "rfc822" NIL NIL NIL "7bit" 137 (NIL "inner" ((NIL NIL "a" "b.c")) ((NIL NIL "a" "b.c")) ((NIL NIL "a" "b.c")) NIL NIL NIL NIL NIL) (("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 5 0 NIL NIL NIL NIL)("text" "html" ("charset" "us-ascii") NIL NIL "7bit" 8 0 NIL NIL NIL NIL) "alternative" ("boundary" "yy") NIL NIL NIL) 10 NIL NIL NIL NIL)("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 7 1 NIL NIL NIL NIL) "mixed" ("boundary" "zz") NIL NIL NIL)',
    body: '(("message" "rfc822" NIL NIL NIL "7bit" 137 (NIL "inner" ((NIL NIL "a" "b.c")) ((NIL NIL "a" "b.c")) ((NIL NIL "a" "b.c")) NIL NIL NIL NIL NIL) (("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 5 0)("text" "html" ("charset" "us-ascii") NIL NIL "7bit" 8 0) "alternative") 10)("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 7 1) "mixed")',
    envelope: '(NIL "x" NIL NIL NIL NIL NIL NIL NIL NIL)',
  },
  {
    name: 'delimiters with padding and trailing text, a part ended in its header section',
    raw: crlf('Content-Type: multipart/mixed; boundary="ab"', '', '--ab  ', 'Content-Type: text/plain', '--ab garbage', 'X: y', '',
      'body2', '--abc', '', 'body3', '--ab--  ', 'epi', ''),
    bodystructure: '(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL)("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 5 0 NIL NIL NIL NIL)("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 5 0 NIL NIL NIL NIL) "mixed" ("boundary" "ab") NIL NIL NIL)',
    body: '(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0)("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 5 0)("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 5 0) "mixed")',
    envelope: '(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)',
  },
  {
    name: 'parameters without charset, disposition, language and location on a multipart, an empty message/rfc822',
    raw: crlf('Subject: x', 'Content-Type: multipart/alternative; boundary=q; x=1', 'Content-Disposition: inline; a=b', 'Content-Language: de',
      'Content-Location: loc', '', '--q', 'Content-Type: text/plain; format=flowed', '', 'x', '--q',
      'Content-Type: text/html; charset=utf-8; format=flowed', 'Content-Transfer-Encoding: quoted-printable', '',
      '=C3=A9t=C3=A9 =', 'soft', '--q', 'Content-Type: message/rfc822', '', '--q--', ''),
    bodystructure: '(("text" "plain" ("format" "flowed" "charset" "us-ascii") NIL NIL "7bit" 1 0 NIL NIL NIL NIL)("text" "html" ("charset" "utf-8" "format" "flowed") NIL NIL "quoted-printable" 21 1 NIL NIL NIL NIL)("message" "rfc822" NIL NIL NIL "7bit" 0 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL) 0 NIL NIL NIL NIL) "alternative" ("boundary" "q" "x" "1") ("inline" ("a" "b")) ("de") "loc")',
    body: '(("text" "plain" ("format" "flowed" "charset" "us-ascii") NIL NIL "7bit" 1 0)("text" "html" ("charset" "utf-8" "format" "flowed") NIL NIL "quoted-printable" 21 1)("message" "rfc822" NIL NIL NIL "7bit" 0 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0) 0) "alternative")',
    envelope: '(NIL "x" NIL NIL NIL NIL NIL NIL NIL NIL)',
  },
  {
    name: 'multipart/digest',
    raw: crlf('Subject: digest', 'Content-Type: multipart/digest; boundary=d', '', '--d', '', 'Subject: in digest', 'From: x@y', '', 'hi', '--d',
      'Content-Type: text/plain', '', 'not a message', '--d--', ''),
    bodystructure: '(("message" "rfc822" NIL NIL NIL "7bit" 35 (NIL "in digest" ((NIL NIL "x" "y")) ((NIL NIL "x" "y")) ((NIL NIL "x" "y")) NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 2 0 NIL NIL NIL NIL) 3 NIL NIL NIL NIL)("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 13 0 NIL NIL NIL NIL) "digest" ("boundary" "d") NIL NIL NIL)',
    body: '(("message" "rfc822" NIL NIL NIL "7bit" 35 (NIL "in digest" ((NIL NIL "x" "y")) ((NIL NIL "x" "y")) ((NIL NIL "x" "y")) NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 2 0) 3)("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 13 0) "digest")',
    envelope: '(NIL "digest" NIL NIL NIL NIL NIL NIL NIL NIL)',
  },
  {
    name: 'single part with every body field',
    raw: crlf('Subject: plain', 'From: a@b.c', 'Content-Type: text/plain; charset=iso-8859-1', 'Content-Transfer-Encoding: quoted-printable',
      'Content-ID: <id1@x>', 'Content-Description: a description', 'Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==', 'Content-Language: en, fr', '',
      'caf=E9 =', 'cr=E8me', 'line 2', ''),
    bodystructure: '("text" "plain" ("charset" "iso-8859-1") "<id1@x>" "a description" "quoted-printable" 27 3 "Q2hlY2sgSW50ZWdyaXR5IQ==" NIL ("en" "fr") NIL)',
    body: '("text" "plain" ("charset" "iso-8859-1") "<id1@x>" "a description" "quoted-printable" 27 3)',
    envelope: '(NIL "plain" ((NIL NIL "a" "b.c")) ((NIL NIL "a" "b.c")) ((NIL NIL "a" "b.c")) NIL NIL NIL NIL NIL)',
  },
  {
    name: 'nested multiparts with an inline image',
    raw: crlf('Subject: nested', 'Content-Type: multipart/mixed; boundary="outer"', '', '--outer', 'Content-Type: multipart/alternative; boundary="inner"', '',
      '--inner', 'Content-Type: text/plain', '', 'plain', '--inner', 'Content-Type: text/html', '', '<p>html</p>', '--outer',
      'Content-Type: image/png', 'Content-Transfer-Encoding: base64', 'Content-Disposition: inline; filename=x.png', '', 'iVBORw0KGgo=', '--outer--', ''),
    bodystructure: '((("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 5 0 NIL NIL NIL NIL)("text" "html" ("charset" "us-ascii") NIL NIL "7bit" 11 0 NIL NIL NIL NIL) "alternative" ("boundary" "inner") NIL NIL NIL)("image" "png" NIL NIL NIL "base64" 12 NIL ("inline" ("filename" "x.png")) NIL NIL) "mixed" ("boundary" "outer") NIL NIL NIL)',
    body: '((("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 5 0)("text" "html" ("charset" "us-ascii") NIL NIL "7bit" 11 0) "alternative")("image" "png" NIL NIL NIL "base64" 12) "mixed")',
    envelope: '(NIL "nested" NIL NIL NIL NIL NIL NIL NIL NIL)',
  },
  {
    name: 'a multipart whose boundary never comes: one empty text/plain part',
    raw: crlf('Subject: x', 'Content-Type: multipart/mixed; boundary=zz', '', 'no boundary here', ''),
    bodystructure: '(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL) "mixed" ("boundary" "zz") NIL NIL NIL)',
    body: '(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0) "mixed")',
    envelope: '(NIL "x" NIL NIL NIL NIL NIL NIL NIL NIL)',
  },
];

describe('BODYSTRUCTURE, BODY and ENVELOPE as Dovecot prints them', () => {
  for (const m of DOVECOT) {
    test(m.name, () => {
      assert.equal(bodystructure(m.raw), m.bodystructure, 'BODYSTRUCTURE');
      assert.equal(bodyForm(m.raw), m.body, 'BODY');
      assert.equal(envelope(m.raw), m.envelope, 'ENVELOPE');
    });
  }
});

describe('sections (RFC 9051 6.4.5) as octet ranges of header_prefix || blob', () => {
  const blob = crlf(
    'Subject: s', 'Content-Type: multipart/mixed; boundary=zz', '', '--zz', 'Content-Type: text/plain', '', 'one', '--zz',
    'Content-Type: message/rfc822', '', 'Subject: inner', 'Content-Type: multipart/alternative; boundary=yy', '', '--yy', '',
    'inner one', '--yy', 'Content-Type: text/html', '', '<b>two</b>', '--yy--', '--zz--', '',
  );
  const prefix = Buffer.from('Delivered-To: bob@example.test\r\nReceived: by us\r\n');
  const message = Buffer.concat([prefix, blob]);
  const root = parseMimeStructure(blob).root;
  const section = (path: number[], text: SectionText): string | undefined => {
    const r = sectionRange(root, path, text, prefix.length);
    return r && message.subarray(r.start, r.end).toString('latin1');
  };

  test('BODY[], BODY[HEADER], BODY[TEXT]: the prefix is part of the top-level header', () => {
    assert.equal(section([], ''), message.toString('latin1'));
    assert.equal(section([], 'HEADER'), `${prefix.toString()}Subject: s\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n`);
    assert.ok(section([], 'TEXT')!.startsWith('--zz\r\nContent-Type: text/plain'));
    assert.equal(section([], 'MIME'), undefined, 'MIME needs a part number');
  });

  test('part numbers, MIME headers, and HEADER/TEXT of an encapsulated message', () => {
    assert.equal(section([1], ''), 'one');
    assert.equal(section([1], 'MIME'), 'Content-Type: text/plain\r\n\r\n');
    assert.equal(section([2], 'MIME'), 'Content-Type: message/rfc822\r\n\r\n');
    assert.ok(section([2], '')!.startsWith('Subject: inner'), 'BODY[2] is the whole encapsulated message');
    assert.equal(section([2], 'HEADER'), 'Subject: inner\r\nContent-Type: multipart/alternative; boundary=yy\r\n\r\n');
    assert.ok(section([2], 'TEXT')!.startsWith('--yy\r\n'));
    assert.equal(section([2, 1], ''), 'inner one');
    assert.equal(section([2, 2], ''), '<b>two</b>');
    assert.equal(section([2, 2], 'MIME'), 'Content-Type: text/html\r\n\r\n');
    assert.equal(section([1], 'HEADER'), undefined, 'HEADER only of a message/rfc822 part');
    assert.equal(section([3], ''), undefined);
    assert.equal(section([1, 1], ''), undefined, 'a text part has no parts');
  });

  test('a single-part message: part 1 is its body, 1.MIME its header', () => {
    const single = crlf('Subject: one', '', 'the body');
    const r = parseMimeStructure(single).root;
    assert.deepEqual(sectionRange(r, [1], '', 5), { start: 5 + single.indexOf('the body'), end: 5 + single.length });
    assert.deepEqual(sectionRange(r, [1], 'MIME', 5), { start: 0, end: 5 + single.indexOf('the body') });
    assert.equal(partAt(r, [2]), undefined);
    assert.equal(partAt(r, [1, 1]), undefined);
  });
});

describe('BINARY[] and BINARY.SIZE (RFC 3516)', () => {
  const raw = crlf(
    'Content-Type: multipart/mixed; boundary=b', '', '--b', 'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: quoted-printable', '', '=C3=A9t=C3=A9 =', 'soft  ', 'hard=3D', '--b',
    'Content-Transfer-Encoding: base64', '', 'YWJj', 'ZGVm', '--b', 'Content-Transfer-Encoding: x-uuencode', '', 'begin', '--b--', '',
  );
  const root = parseMimeStructure(raw).root;
  const bodyOf = (n: number): Buffer => {
    const p = partAt(root, [n])!;
    return raw.subarray(p.bodyStart, p.bodyEnd);
  };
  const collect = async (it: AsyncIterable<Buffer>): Promise<Buffer> => {
    const out: Buffer[] = [];
    for await (const b of it) out.push(b);
    return Buffer.concat(out);
  };

  test('decoded sizes cached at delivery, and the decoded octets streamed', async () => {
    assert.equal(binarySize(partAt(root, [1])!), Buffer.byteLength('été soft\r\nhard='));
    assert.equal(binarySize(partAt(root, [2])!), 6);
    assert.equal((await collect(decodeBody('quoted-printable', [bodyOf(1)]))).toString(), 'été soft\r\nhard=');
    assert.equal((await collect(decodeBody('base64', [bodyOf(2)]))).toString(), 'abcdef');
    assert.equal(await decodedSize('base64', [bodyOf(2)]), 6);
  });

  test('an encoding we cannot undo is UNKNOWN-CTE (RFC 3516 4.3)', async () => {
    assert.throws(() => binarySize(partAt(root, [3])!), UnknownTransferEncodingError);
    await assert.rejects(collect(decodeBody('x-uuencode', [bodyOf(3)])), UnknownTransferEncodingError);
  });

  test('the decoders give the same octets however the input is cut', () => {
    const cases: [string, string][] = [
      ['base64', 'YWJj\r\nZGVm\r\nZw==\r\nYQ==YQ==\r\n!!!Zm9v'],
      ['quoted-printable', 'a=3Db =\r\nc  \r\nd\t=\r\n=4\r\n=ZZ x= \t\r\nend=\nlf=C3=A9\r=\r\r\n  '],
    ];
    for (const [enc, text] of cases) {
      const input = Buffer.from(text);
      const whole = transferDecoder(enc)!;
      const want = Buffer.concat([whole.push(input), whole.finish()]);
      for (const pieces of splits(input)) {
        const d = transferDecoder(enc)!;
        const c = transferDecoder(enc)!;
        const got = Buffer.concat([...pieces.map((p) => d.push(p)), d.finish()]);
        assert.deepEqual(got, want, `${enc} cut at ${pieces.map((p) => p.length).join('+')}`);
        assert.equal(pieces.reduce((n, p) => n + c.count(p), 0) + c.finishCount(), want.length);
      }
    }
  });

  test('decoding vectors (RFC 2045 6.7, 6.8)', () => {
    const dec = (enc: string, s: string): string => {
      const d = transferDecoder(enc)!;
      return Buffer.concat([d.push(Buffer.from(s)), d.finish()]).toString('latin1');
    };
    assert.equal(dec('base64', 'YQ==YQ=='), 'aa', 'padding ends a quantum');
    assert.equal(dec('base64', 'Y W\r\nJj'), 'abc', 'whitespace and line breaks ignored');
    assert.equal(dec('quoted-printable', 'a  \r\nb'), 'a\r\nb', 'rule 3: trailing whitespace dropped');
    assert.equal(dec('quoted-printable', 'a=\r\nb'), 'ab', 'rule 5: soft line break');
    assert.equal(dec('quoted-printable', 'a= \r\nb'), 'ab', 'soft line break with padding after the "="');
    assert.equal(dec('quoted-printable', '=e9=E9'), '\u00e9\u00e9', 'lower-case hex decoded too');
    assert.equal(dec('quoted-printable', '=G1 =4'), '=G1 =4', 'a bad escape is taken literally');
  });
});
