import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  MAX_HEADER_BYTES,
  MAX_SEARCH_BODY_BYTES,
  headerValue,
  parseHeaderBlock,
  summarizeMessage,
  type MessageSummary,
} from '../src/mail/headers.ts';
import { mulberry32 as prng } from './helpers/prng.ts';

const crlf = (...lines: string[]): Buffer => Buffer.from(lines.join('\r\n'));
const lf = (...lines: string[]): Buffer => Buffer.from(lines.join('\n'));
const body = (raw: Buffer, offset: number): string => raw.subarray(offset).toString('utf8');


/** Everything a summary must satisfy to be stored (PostgreSQL text/jsonb refuse NUL). */
function assertStorable(s: MessageSummary, context: string): void {
  assert.equal(typeof s.subject, 'string', context);
  assert.equal(typeof s.fromAddress, 'string', context);
  assert.equal(typeof s.searchText, 'string', context);
  assert.ok(s.messageId === null || typeof s.messageId === 'string', context);
  assert.ok(s.sentAt === null || (s.sentAt instanceof Date && !Number.isNaN(s.sentAt.getTime())), context);
  const json = JSON.stringify(s);
  assert.ok(!json.includes('\\u0000'), `${context}: NUL in summary ${json.slice(0, 200)}`);
  assert.doesNotThrow(() => JSON.parse(JSON.stringify(s.envelope)), context);
}

describe('parseHeaderBlock', () => {
  test('CRLF line ends: fields and body offset (RFC 5322 2.1, 2.2)', () => {
    const raw = crlf('From: a@example.com', 'To: b@example.com', 'Subject: Hi', '', 'Body line 1', 'Body line 2');
    const block = parseHeaderBlock(raw);
    assert.deepEqual(block.fields, [
      { name: 'From', value: 'a@example.com' },
      { name: 'To', value: 'b@example.com' },
      { name: 'Subject', value: 'Hi' },
    ]);
    assert.equal(body(raw, block.bodyOffset), 'Body line 1\r\nBody line 2');
  });

  test('bare LF line ends are accepted too', () => {
    const raw = lf('From: a@example.com', 'Subject: Hi', '', 'Body');
    const block = parseHeaderBlock(raw);
    assert.deepEqual(block.fields.map((f) => f.name), ['From', 'Subject']);
    assert.equal(body(raw, block.bodyOffset), 'Body');
  });

  test('mixed line ends: LF then CRLF also ends the header section', () => {
    const raw = Buffer.from('Subject: x\n\r\nBody');
    const block = parseHeaderBlock(raw);
    assert.equal(headerValue(block, 'subject'), 'x');
    assert.equal(body(raw, block.bodyOffset), 'Body');
  });

  test('body offset points at the first body byte, even when the body is empty', () => {
    const raw = crlf('Subject: x', '', '');
    const block = parseHeaderBlock(raw);
    assert.equal(block.bodyOffset, raw.length);
    const raw2 = crlf('Subject: x', '', '', 'after empty line');
    assert.equal(body(raw2, parseHeaderBlock(raw2).bodyOffset), '\r\nafter empty line');
  });

  test('only the first empty line ends the header section; later ones are body', () => {
    const raw = crlf('Subject: x', '', 'Not-A-Header: in body', '', 'more');
    const block = parseHeaderBlock(raw);
    assert.deepEqual(block.fields, [{ name: 'Subject', value: 'x' }]);
    assert.equal(body(raw, block.bodyOffset), 'Not-A-Header: in body\r\n\r\nmore');
  });

  test('no body at all: bodyOffset is raw.length', () => {
    for (const raw of [crlf('Subject: x', 'From: a@b.example'), crlf('Subject: x', ''), lf('Subject: x', '')]) {
      const block = parseHeaderBlock(raw);
      assert.equal(block.bodyOffset, raw.length);
      assert.equal(headerValue(block, 'Subject'), 'x');
    }
  });

  test('empty input', () => {
    assert.deepEqual(parseHeaderBlock(Buffer.alloc(0)), { fields: [], bodyOffset: 0 });
  });

  test('empty header section: a message that opens with the empty line is all body (RFC 5322 3.5)', () => {
    const raw = crlf('', 'From: spoofed@example.com', 'Subject: not a header');
    const block = parseHeaderBlock(raw);
    assert.deepEqual(block.fields, []);
    assert.equal(block.bodyOffset, 2);
    const raw2 = lf('', 'Subject: not a header');
    assert.deepEqual(parseHeaderBlock(raw2), { fields: [], bodyOffset: 1 });
  });

  test('folded fields are unfolded: the CRLF goes, the whitespace stays (RFC 5322 2.2.3)', () => {
    const raw = crlf('Subject: This is', ' a folded', '\tsubject', 'To: a@example.com,', '  b@example.com', '', 'x');
    const block = parseHeaderBlock(raw);
    assert.equal(headerValue(block, 'Subject'), 'This is a folded\tsubject');
    assert.equal(headerValue(block, 'To'), 'a@example.com,  b@example.com');
    assert.equal(block.fields.length, 2);
  });

  test('folding with bare LF unfolds the same way', () => {
    const block = parseHeaderBlock(lf('Subject: a', ' b', '', 'x'));
    assert.equal(headerValue(block, 'subject'), 'a b');
  });

  test('a value that starts on the next line is trimmed like a one-line value (RFC 5322 2.2.3)', () => {
    const block = parseHeaderBlock(crlf('Message-ID:', ' <abc@example.com>', 'Subject:', '\tHello  ', '', ''));
    assert.equal(headerValue(block, 'Message-ID'), '<abc@example.com>');
    assert.equal(headerValue(block, 'Subject'), 'Hello');
  });

  test('field names keep their spelling; lookup is case-insensitive (RFC 5322 1.2.2)', () => {
    const block = parseHeaderBlock(crlf('SUBJECT: up', 'x-custom-header: v', '', ''));
    assert.equal(block.fields[0]?.name, 'SUBJECT');
    assert.equal(headerValue(block, 'subject'), 'up');
    assert.equal(headerValue(block, 'X-Custom-Header'), 'v');
    assert.equal(headerValue(block, 'missing'), undefined);
  });

  test('whitespace before the colon is tolerated (RFC 5322 4.5 obsolete syntax)', () => {
    const block = parseHeaderBlock(crlf('Subject : old style', '', ''));
    assert.equal(headerValue(block, 'Subject'), 'old style');
  });

  test('empty values and values containing colons', () => {
    const block = parseHeaderBlock(crlf('Subject:', 'X-Time: 10:20:30', 'X-Url: http://example.com/a', '', ''));
    assert.equal(headerValue(block, 'Subject'), '');
    assert.equal(headerValue(block, 'X-Time'), '10:20:30');
    assert.equal(headerValue(block, 'X-Url'), 'http://example.com/a');
  });

  test('repeated fields are all kept, in order; headerValue returns the first', () => {
    const block = parseHeaderBlock(crlf('Received: one', 'Received: two', '', ''));
    assert.deepEqual(block.fields.map((f) => f.value), ['one', 'two']);
    assert.equal(headerValue(block, 'received'), 'one');
  });

  test('a line without a colon is ignored (RFC 5322 2.2 / 3.6.8 field-name)', () => {
    const raw = crlf('Subject: kept', 'this line has no colon', 'From: a@example.com', ': empty name', '', 'body');
    const block = parseHeaderBlock(raw);
    assert.deepEqual(block.fields, [
      { name: 'Subject', value: 'kept' },
      { name: 'From', value: 'a@example.com' },
    ]);
    assert.equal(body(raw, block.bodyOffset), 'body');
  });

  test('a continuation after an ignored line does not attach to the field before it', () => {
    const block = parseHeaderBlock(crlf('Subject: kept', 'garbage', ' continued', '', ''));
    assert.deepEqual(block.fields, [{ name: 'Subject', value: 'kept' }]);
  });

  test('8-bit UTF-8 in header values is kept (RFC 6532 3.2)', () => {
    const block = parseHeaderBlock(crlf('Subject: Привет', '', ''));
    assert.equal(headerValue(block, 'Subject'), 'Привет');
  });

  test(`a header section larger than MAX_HEADER_BYTES is bounded: fields from the first ${MAX_HEADER_BYTES} bytes only`, () => {
    const lines = ['Subject: first'];
    let size = 0;
    let i = 0;
    while (size < 300 * 1024) {
      const l = `X-Filler-${i++}: ${'a'.repeat(100)}`;
      lines.push(l);
      size += l.length + 2;
    }
    lines.push('X-Late: beyond the limit');
    while (size < 1024 * 1024) {
      const l = `X-More-${i++}: ${'b'.repeat(100)}`;
      lines.push(l);
      size += l.length + 2;
    }
    const raw = crlf(...lines, '', 'BODYMARK');
    assert.ok(raw.length > MAX_HEADER_BYTES * 4);
    const t0 = performance.now();
    const block = parseHeaderBlock(raw);
    assert.ok(performance.now() - t0 < 2000, 'bounded work');
    assert.equal(headerValue(block, 'Subject'), 'first');
    assert.equal(headerValue(block, 'X-Late'), undefined);
    assert.ok(block.fields.every((f) => !f.name.startsWith('X-More')));
    const consumed = block.fields.reduce((n, f) => n + Buffer.byteLength(`${f.name}: ${f.value}\r\n`), 0);
    // + 2: the last field is cut at the limit and has no CRLF of its own
    assert.ok(consumed <= MAX_HEADER_BYTES + 2, `${consumed} bytes of fields`);
    assert.ok(block.bodyOffset >= 0 && block.bodyOffset <= raw.length);
    // The summary does not reach into the part that was not looked at.
    const s = summarizeMessage(raw);
    assert.equal(s.subject, 'first');
    assert.ok(!s.searchText.includes('BODYMARK'));
  });

  test('one 4 MB line without any line break is bounded too', () => {
    const raw = Buffer.concat([Buffer.from('Subject: '), Buffer.alloc(4 * 1024 * 1024, 0x61)]);
    const t0 = performance.now();
    const block = parseHeaderBlock(raw);
    const s = summarizeMessage(raw);
    assert.ok(performance.now() - t0 < 3000, 'bounded work');
    assert.equal(block.fields.length, 1);
    assert.ok((block.fields[0]?.value.length ?? 0) <= MAX_HEADER_BYTES);
    assert.ok(s.searchText.length <= MAX_HEADER_BYTES + 16);
  });

  test('an empty line just past MAX_HEADER_BYTES is not found', () => {
    const filler = `X-Filler: ${'a'.repeat(MAX_HEADER_BYTES)}`;
    const raw = crlf('Subject: s', filler, '', 'BODY');
    const block = parseHeaderBlock(raw);
    assert.equal(headerValue(block, 'Subject'), 's');
    assert.equal(block.bodyOffset, raw.length);
  });
});

describe('summarizeMessage', () => {
  const sample = crlf(
    'Date: Tue, 1 Jul 2003 10:52:37 +0200',
    'From: "Ivan Petrov" <Ivan.Petrov@Example.RU>',
    'To: Bob <bob@example.com>, carol@example.com',
    'Cc: =?UTF-8?B?0JjQstCw0L0g0J/QtdGC0YDQvtCy?= <ivan2@example.ru>',
    'Reply-To: replies@example.com',
    'Sender: list@example.com',
    'Subject: Quarterly report',
    'Message-ID: <abc.123@mail.example.com>',
    'In-Reply-To: <parent@mail.example.com>',
    '',
    'Hello Bob,',
    'the numbers are in.',
  );

  test('plain message: all fields', () => {
    const s = summarizeMessage(sample);
    assert.equal(s.subject, 'Quarterly report');
    assert.equal(s.fromAddress, 'ivan.petrov@example.ru');
    assert.equal(s.messageId, 'abc.123@mail.example.com');
    assert.deepEqual(s.sentAt, new Date(Date.UTC(2003, 6, 1, 8, 52, 37)));
    assertStorable(s, 'sample');
  });

  test('envelope in the raw form of IMAP ENVELOPE (RFC 9051 7.5.2): values as written, addresses as (name adl mailbox host)', () => {
    const e = summarizeMessage(sample).envelope;
    assert.equal(e.date, 'Tue, 1 Jul 2003 10:52:37 +0200', 'date is the raw field');
    assert.equal(e.subject, 'Quarterly report');
    assert.deepEqual(e.from, [['Ivan Petrov', null, 'Ivan.Petrov', 'Example.RU']]);
    assert.deepEqual(e.to, [
      ['Bob', null, 'bob', 'example.com'],
      [null, null, 'carol', 'example.com'],
    ]);
    assert.deepEqual(e.cc, [['=?UTF-8?B?0JjQstCw0L0g0J/QtdGC0YDQvtCy?=', null, 'ivan2', 'example.ru']], 'encoded words stay encoded');
    assert.deepEqual(e.replyTo, [[null, null, 'replies', 'example.com']]);
    assert.deepEqual(e.sender, [[null, null, 'list', 'example.com']]);
    assert.equal(e.bcc, null, 'no Bcc: NIL');
    assert.equal(e.inReplyTo, '<parent@mail.example.com>');
    assert.equal(e.messageId, '<abc.123@mail.example.com>', 'envelope keeps the msg-id as written');
  });

  test('RFC 9051 7.5.2: Sender and Reply-To default to From when absent or empty', () => {
    const e = summarizeMessage(crlf('From: a@example.com', 'Reply-To:', '', '')).envelope;
    assert.deepEqual(e.sender, [[null, null, 'a', 'example.com']]);
    assert.deepEqual(e.replyTo, [[null, null, 'a', 'example.com']]);
  });

  test('RFC 2047 B-encoded UTF-8 subject is decoded (RFC 2047 4.1)', () => {
    const s = summarizeMessage(crlf('Subject: =?UTF-8?B?w4lsw6h2ZSDDoCBQYXJpcw==?=', '', ''));
    assert.equal(s.subject, 'Élève à Paris');
    assert.equal(s.envelope.subject, '=?UTF-8?B?w4lsw6h2ZSDDoCBQYXJpcw==?=', 'the envelope keeps the encoded word (RFC 9051 7.5.2)');
  });

  test('RFC 2047 Q-encoded subject: underscore is space (RFC 2047 4.2)', () => {
    const s = summarizeMessage(crlf('Subject: =?utf-8?Q?caf=C3=A9_cr=C3=A8me?=', '', ''));
    assert.equal(s.subject, 'café crème');
  });

  test('RFC 2047 koi8-r subject is decoded, B and Q (RFC 2047 2, charset)', () => {
    assert.equal(summarizeMessage(crlf('Subject: =?koi8-r?B?8NLJ18XULCDtydIh?=', '', '')).subject, 'Привет, Мир!');
    assert.equal(summarizeMessage(crlf('Subject: =?KOI8-R?Q?=F4=C5=D3=D4?=', '', '')).subject, 'Тест');
  });

  test('whitespace between adjacent encoded words is dropped (RFC 2047 6.2); around plain text it is kept', () => {
    assert.equal(summarizeMessage(crlf('Subject: =?utf-8?q?a?= =?utf-8?q?b?=', '', '')).subject, 'ab');
    assert.equal(summarizeMessage(crlf('Subject: Re: =?utf-8?q?caf=C3=A9?= today', '', '')).subject, 'Re: café today');
  });

  test('an encoded subject folded over two lines (RFC 5322 2.2.3 + RFC 2047 2)', () => {
    const s = summarizeMessage(crlf('Subject: =?UTF-8?B?0J/RgNC40LLQtdGCLCA=?=', ' =?UTF-8?B?0JzQuNGAIQ==?=', '', ''));
    assert.equal(s.subject, 'Привет, Мир!');
  });

  test('a malformed or unknown-charset encoded word does not throw', () => {
    for (const subj of ['=?utf-8?B?####?=', '=?x-unknown-charset?Q?abc?=', '=?utf-8?X?abc?=', '=?utf-8?Q?=ZZ?=', '=?', '=?utf-8?B?']) {
      const s = summarizeMessage(crlf(`Subject: ${subj}`, '', ''));
      assertStorable(s, subj);
    }
  });

  test('8-bit UTF-8 subject without encoded words (RFC 6532 3.2)', () => {
    assert.equal(summarizeMessage(crlf('Subject: Grüße aus München', '', '')).subject, 'Grüße aus München');
  });

  test('from address is lower-cased; the search text has decoded display names (RFC 2047 5(3))', () => {
    const s = summarizeMessage(crlf('From: =?UTF-8?B?0JjQstCw0L0g0J/QtdGC0YDQvtCy?= <IVAN@Example.RU>', '', ''));
    assert.equal(s.fromAddress, 'ivan@example.ru');
    assert.ok(s.searchText.includes('Иван Петров'));
    assert.equal(s.envelope.from?.[0]?.[0], '=?UTF-8?B?0JjQstCw0L0g0J/QtdGC0YDQvtCy?=');
    const q = summarizeMessage(crlf('From: =?iso-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>', '', ''));
    assert.ok(q.searchText.includes('André Pirard'));
    assert.deepEqual(q.envelope.from, [['=?iso-8859-1?Q?Andr=E9?= Pirard', null, 'PIRARD', 'vm1.ulg.ac.be']]);
    assert.equal(q.fromAddress, 'pirard@vm1.ulg.ac.be');
  });

  test('quoted display names and bare addresses (RFC 5322 3.4)', () => {
    const s = summarizeMessage(crlf('From: "Doe, John" <John@Example.com>', 'To: plain@example.com', '', ''));
    assert.deepEqual(s.envelope.from, [['Doe, John', null, 'John', 'Example.com']]);
    assert.equal(s.fromAddress, 'john@example.com');
    assert.deepEqual(s.envelope.to, [[null, null, 'plain', 'example.com']]);
  });

  test('group syntax: start and end markers around the members (RFC 5322 3.4, RFC 9051 7.5.2)', () => {
    const s = summarizeMessage(crlf('To: Team: a@example.com, b@example.com;', 'Cc: undisclosed-recipients:;', '', ''));
    assert.deepEqual(s.envelope.to, [
      [null, null, 'Team', null],
      [null, null, 'a', 'example.com'],
      [null, null, 'b', 'example.com'],
      [null, null, null, null],
    ]);
    assert.deepEqual(s.envelope.cc, [[null, null, 'undisclosed-recipients', null], [null, null, null, null]]);
  });

  test('Message-ID without angle brackets (RFC 5322 3.6.4 msg-id)', () => {
    assert.equal(summarizeMessage(crlf('Message-ID: <id-1@example.com>', '', '')).messageId, 'id-1@example.com');
    assert.equal(summarizeMessage(crlf('Message-Id:   <id-2@example.com>  (comment)', '', '')).messageId, 'id-2@example.com');
    assert.equal(summarizeMessage(crlf('Message-ID: no-brackets@example.com', '', '')).messageId, 'no-brackets@example.com');
    assert.equal(summarizeMessage(crlf('Message-ID:', ' <folded@example.com>', '', '')).messageId, 'folded@example.com');
    assert.equal(summarizeMessage(crlf('Message-ID: <>', '', '')).messageId, null);
    assert.equal(summarizeMessage(crlf('Message-ID:', '', '')).messageId, null);
  });

  test('Date is parsed (RFC 5322 3.3), with zone offsets and comments', () => {
    const d = (v: string): Date | null => summarizeMessage(crlf(`Date: ${v}`, '', '')).sentAt;
    assert.deepEqual(d('Tue, 1 Jul 2003 10:52:37 +0200'), new Date(Date.UTC(2003, 6, 1, 8, 52, 37)));
    assert.deepEqual(d('1 Jul 2003 10:52:37 -0130'), new Date(Date.UTC(2003, 6, 1, 12, 22, 37)));
    assert.deepEqual(d('Tue, 1 Jul 2003 10:52:37 +0200 (CEST)'), new Date(Date.UTC(2003, 6, 1, 8, 52, 37)));
    // obsolete zone names (RFC 5322 4.3)
    assert.deepEqual(d('Fri, 21 Nov 1997 09:55:06 GMT'), new Date(Date.UTC(1997, 10, 21, 9, 55, 6)));
    assert.deepEqual(d('Fri, 21 Nov 1997 09:55:06 EST'), new Date(Date.UTC(1997, 10, 21, 14, 55, 6)));
  });

  test('an invalid Date gives sentAt null; the envelope keeps the raw value', () => {
    for (const v of ['not a date', 'Mon, 32 Jan 2024 10:00:00 +0000', '']) {
      const s = summarizeMessage(crlf(`Date: ${v}`, '', ''));
      assert.equal(s.sentAt, null, JSON.stringify(v));
      assertStorable(s, v);
    }
    assert.equal(summarizeMessage(crlf('Date: not a date', '', '')).envelope.date, 'not a date');
  });

  test('missing headers: subject "" but envelope.subject null (RFC 9051 7.5.2 NIL), everything else empty', () => {
    const s = summarizeMessage(crlf('X-Other: 1', '', 'just a body'));
    assert.equal(s.subject, '');
    assert.equal(s.fromAddress, '');
    assert.equal(s.messageId, null);
    assert.equal(s.sentAt, null);
    assert.deepEqual(s.envelope, {
      date: null,
      subject: null,
      from: null,
      sender: null,
      replyTo: null,
      to: null,
      cc: null,
      bcc: null,
      inReplyTo: null,
      messageId: null,
    });
    assert.match(s.searchText, /just a body/);
  });

  test('an empty Subject field is "" in the envelope, not NIL', () => {
    const s = summarizeMessage(crlf('Subject:', 'From: a@example.com', '', ''));
    assert.equal(s.subject, '');
    assert.equal(s.envelope.subject, '');
  });

  test('the first of repeated fields is used', () => {
    const s = summarizeMessage(crlf('Subject: first', 'Subject: second', '', ''));
    assert.equal(s.subject, 'first');
  });

  test('LF-only messages summarize like CRLF ones', () => {
    const a = summarizeMessage(sample);
    const b = summarizeMessage(Buffer.from(sample.toString('utf8').replace(/\r\n/g, '\n')));
    assert.equal(b.subject, a.subject);
    assert.equal(b.fromAddress, a.fromAddress);
    assert.equal(b.messageId, a.messageId);
    assert.deepEqual(b.sentAt, a.sentAt);
    assert.deepEqual(b.envelope, a.envelope);
  });

  test('searchText includes subject, people and body text', () => {
    const s = summarizeMessage(sample).searchText;
    for (const w of ['Quarterly report', 'Ivan Petrov', 'Ivan.Petrov@Example.RU', 'bob@example.com', 'carol@example.com',
      'Иван Петров', 'Hello Bob', 'numbers are in']) {
      assert.ok(s.includes(w), `searchText lacks ${JSON.stringify(w)}: ${s}`);
    }
    const enc = summarizeMessage(crlf('Subject: =?koi8-r?B?8NLJ18XULCDtydIh?=', '', 'тело письма')).searchText;
    assert.ok(enc.includes('Привет, Мир!'), 'decoded subject');
    assert.ok(enc.includes('тело письма'));
  });

  test('searchText is bounded by MAX_SEARCH_BODY_BYTES for a 1 MB body', () => {
    const head = 'Subject: big\r\nFrom: a@example.com\r\n\r\n';
    const bigBody = `START ${'x'.repeat(1024 * 1024)} END_OF_BODY`;
    const s = summarizeMessage(Buffer.from(head + bigBody));
    assert.ok(s.searchText.includes('START'));
    assert.ok(!s.searchText.includes('END_OF_BODY'));
    assert.ok(s.searchText.length <= MAX_SEARCH_BODY_BYTES + 100, `${s.searchText.length} characters`);
    assert.ok(s.searchText.length >= MAX_SEARCH_BODY_BYTES, 'the whole allowance is used');
    // multi-byte text: the limit is in bytes, so fewer characters fit
    const cyr = summarizeMessage(Buffer.from(`${head}${'ж'.repeat(512 * 1024)}`));
    assert.ok(Buffer.byteLength(cyr.searchText) <= MAX_SEARCH_BODY_BYTES + 100 + 3);
  });

  test('NUL bytes are removed from searchText', () => {
    const raw = Buffer.concat([
      Buffer.from('Subject: a\u0000b\r\nFrom: x@example.com\r\n\r\nbe'),
      Buffer.from([0, 0, 0]),
      Buffer.from('fore\u0000after'),
    ]);
    const s = summarizeMessage(raw);
    assert.ok(!s.searchText.includes('\u0000'));
    assert.ok(s.searchText.includes('before'));
    assert.ok(s.searchText.includes('after'));
  });

  test('no NUL reaches any summary string, raw or from an encoded word (PostgreSQL text/jsonb refuse U+0000)', () => {
    const raw = crlf(
      'Subject: raw\u0000nul =?utf-8?Q?enc=00oded?= =?utf-8?B?AEEA?=',
      'From: =?utf-8?Q?Na=00me?= <Us\u0000er@Example.com>',
      'To: "T\u0000o" <t@example.com>',
      'Date: Tue, 1 Jul 2003 10:52:37 +0200\u0000',
      'Message-ID: <id\u0000x@example.com>',
      'In-Reply-To: <p\u0000@example.com>',
      '',
      'body',
    );
    const s = summarizeMessage(raw);
    assertStorable(s, 'NUL message');
    assert.equal(s.subject, 'rawnul encodedA');
    assert.equal(s.messageId, 'idx@example.com');
  });

  test('broken MIME never throws: fuzz with seeded random bytes', () => {
    const rand = prng(0x7e9);
    for (let i = 0; i < 300; i++) {
      const len = Math.floor(rand() * 4096);
      const buf = Buffer.alloc(len);
      for (let j = 0; j < len; j++) buf[j] = Math.floor(rand() * 256);
      const s = summarizeMessage(buf);
      assertStorable(s, `random buffer #${i}`);
      const b = parseHeaderBlock(buf);
      assert.ok(b.bodyOffset >= 0 && b.bodyOffset <= buf.length);
    }
  });

  test('broken MIME never throws: fuzz with header-shaped garbage (seeded)', () => {
    const rand = prng(2047);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const names = ['Subject', 'From', 'To', 'Cc', 'Bcc', 'Reply-To', 'Sender', 'Date', 'Message-ID', 'In-Reply-To',
      'Content-Type', 'X-Junk', ' Subject', 'From ', ''];
    const tokens = ['=?', '?=', '?B?', '?Q?', '?b?', 'utf-8', 'koi8-r', 'x-bogus', 'iso-8859-1', 'utf-16', '*en',
      '=C3', '=A9', '=00', '_', '<', '>', '"', '\\', '@', ',', ':', ';', '(', ')', ' ', '\t', '\r\n ', '\n\t', '\r\n',
      '\n', '\r', '\u0000', '\uFFFD', 'Привет', 'a', 'example.com', 'Mon, 1 Jan 2024 00:00:00 +0000', '+9999',
      'AAAA', '====', '%', '\u200b', '😀'];
    for (let i = 0; i < 300; i++) {
      const parts: string[] = [];
      const fieldCount = Math.floor(rand() * 12);
      for (let f = 0; f < fieldCount; f++) {
        let v = '';
        const n = Math.floor(rand() * 30);
        for (let t = 0; t < n; t++) v += pick(tokens);
        parts.push(`${pick(names)}:${v}`);
      }
      const sep = pick(['\r\n', '\n', '\r']);
      const text = parts.join(sep) + pick(['\r\n\r\n', '\n\n', '', '\r\n']) + pick(['', 'body', '\u0000\u0000', 'ж'.repeat(10)]);
      const raw = Buffer.from(text);
      // sprinkle some invalid UTF-8
      for (let k = 0; k < 3 && raw.length; k++) if (rand() < 0.3) raw[Math.floor(rand() * raw.length)] = 0x80 + Math.floor(rand() * 128);
      let s: MessageSummary | undefined;
      assert.doesNotThrow(() => {
        s = summarizeMessage(raw);
      }, `structured fuzz #${i}: ${JSON.stringify(text.slice(0, 200))}`);
      assertStorable(s!, `structured fuzz #${i}: ${JSON.stringify(text.slice(0, 200))}`);
    }
  });

  test('pathological address lists stay fast', () => {
    for (const v of [',', '<', '"a', '(', 'a@', 'g:']) {
      const raw = Buffer.from(`From: ${v.repeat(Math.floor(100_000 / v.length))}\r\n\r\n`);
      const t0 = performance.now();
      assertStorable(summarizeMessage(raw), JSON.stringify(v));
      assert.ok(performance.now() - t0 < 5000, `${JSON.stringify(v)} took ${performance.now() - t0} ms`);
    }
  });
});
