import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SeqNum, Uid } from '../src/lib/ids.ts';
import {
  CommandReader,
  parseCommand,
  type ImapCommand,
  type ParseError,
  type ParseOptions,
  type ParseResult,
  type SearchKey,
  type SequenceSet,
} from '../src/protocols/imap/parser/index.ts';
import { bytes, splits } from './helpers/splits.ts';

const REV1: ParseOptions = { utf8: false };
const UTF8: ParseOptions = { utf8: true };

type Outcome = { result: ParseResult; streamed: string[] };

/** Runs the chunks through a reader (accepting every literal) and parses the one command they hold. */
function run(chunks: Buffer[], opts: ParseOptions): Outcome[] {
  const reader = new CommandReader({ nonSyncLiterals: 'LITERAL+' });
  const out: Outcome[] = [];
  let streamed: string[] = [];
  let current: Buffer[] = [];
  for (const chunk of chunks) {
    reader.push(chunk);
    for (let item = reader.next(); item; item = reader.next()) {
      if (item.kind === 'literal') reader.accept();
      else if (item.kind === 'literalData') current.push(item.chunk);
      else if (item.kind === 'literalEnd') {
        streamed.push(Buffer.concat(current).toString('latin1'));
        current = [];
      } else if (item.kind === 'command') {
        out.push({ result: parseCommand(item.command, opts), streamed });
        streamed = [];
      } else assert.fail(`unexpected reader item ${JSON.stringify(item)}`);
    }
  }
  return out;
}

/**
 * Parses one command (CRLF appended). The reader must give the same result
 * however the bytes are cut: whole, at every offset, byte by byte, and at
 * every pair of offsets for short commands.
 */
function parse(input: string | Buffer, opts: ParseOptions = REV1): Outcome {
  const wire = Buffer.concat([typeof input === 'string' ? bytes(input) : input, bytes('\r\n')]);
  const [first, ...more] = run([wire], opts);
  assert.ok(first, `no command from ${JSON.stringify(wire.toString('latin1'))}`);
  assert.equal(more.length, 0, 'more than one command');
  for (const chunks of splits(wire, 24)) {
    assert.deepEqual(run(chunks, opts), [first], `split ${JSON.stringify(chunks.map((c) => c.toString('latin1')))}`);
  }
  return first;
}

function ok(input: string | Buffer, opts: ParseOptions = REV1): ImapCommand {
  const { result } = parse(input, opts);
  if (!result.ok) assert.fail(`${JSON.stringify(String(input))}: ${result.error.tag ?? '*'} ${result.error.reason}`);
  return result.command;
}

function bad(input: string | Buffer, reason?: RegExp, opts: ParseOptions = REV1): ParseError {
  const { result } = parse(input, opts);
  if (result.ok) assert.fail(`expected ${JSON.stringify(String(input))} to fail, got ${JSON.stringify(result.command, big)}`);
  if (reason) assert.match(result.error.reason, reason);
  return result.error;
}

const big = (_k: string, v: unknown): unknown => (typeof v === 'bigint' ? `${v}n` : v);
const seq = (n: number) => n as SeqNum;
const uid = (n: number) => n as Uid;

function criteria(input: string, opts: ParseOptions = REV1): SearchKey {
  const c = ok(`S SEARCH ${input}`, opts);
  assert.equal(c.name, 'SEARCH');
  return c.name === 'SEARCH' ? c.criteria : assert.fail('not SEARCH');
}

describe('tags, names, errors (RFC 9051 2.2.1, 7.1.3, 9)', () => {
  test('commands without arguments; names in any case', () => {
    for (const name of ['CAPABILITY', 'NOOP', 'LOGOUT', 'STARTTLS', 'NAMESPACE', 'IDLE', 'CLOSE', 'UNSELECT', 'CHECK']) {
      assert.deepEqual(ok(`a1 ${name}`), { name, tag: 'a1' });
      assert.deepEqual(ok(`a.b ${name.toLowerCase()}`), { name, tag: 'a.b' });
      bad(`a1 ${name} x`, /no arguments/);
    }
    assert.deepEqual(ok('x EXPUNGE'), { name: 'EXPUNGE', tag: 'x', uid: false });
  });

  test('RFC 9051 9: tag = 1*<any ASTRING-CHAR except "+">; unreadable tags are answered untagged', () => {
    assert.equal(ok('A]1 NOOP').tag, 'A]1');
    for (const line of ['+ NOOP', '(a NOOP', 'a{ NOOP', 'a% NOOP', 'a* NOOP', 'a"b NOOP', 'a\\ NOOP', '\x80 NOOP', ' NOOP', 'a\x01 NOOP']) {
      assert.equal(bad(line, /tag/).tag, null, line);
    }
    const empty = bad('');
    assert.deepEqual([empty.tag, empty.status, empty.reason], [null, 'BAD', 'Empty command line']);
    assert.equal(bad('A1', /Missing command/).tag, 'A1');
  });

  test('unknown commands are BAD with the tag (the session goes on)', () => {
    const e = bad('A7 FROBNICATE 1', /Unknown command FROBNICATE/);
    assert.deepEqual([e.tag, e.status, e.code, e.fatal], ['A7', 'BAD', null, false]);
    bad('A8 UID NOOP', /Unknown command UID NOOP/);
    bad('A9 UID', /Expected SP after UID/);
    bad('A9 X-LONG' + 'Y'.repeat(100), /Unknown command X-LONGY{26}$/);
  });

  test('RFC 9051 9: exactly one SP between arguments, none trailing', () => {
    bad('A1  NOOP', /Missing command/);
    bad('A1 NOOP ', /no arguments/);
    bad('A1 SELECT  INBOX', /mailbox/);
    bad('A1 SELECT INBOX ', /Expected "\("/);
    bad('A1 FETCH 1 FLAGS ', /Expected "\("/);
    bad('A1 LOGIN a b ', /trailing space/);
  });
});

describe('strings (RFC 9051 4.3, 9)', () => {
  test('astring: atom, quoted with \\" and \\\\, synchronizing and non-synchronizing literals', () => {
    assert.deepEqual(ok('L LOGIN joe "p\\"a\\\\ss"'), { name: 'LOGIN', tag: 'L', userid: 'joe', password: 'p"a\\ss' });
    assert.deepEqual(ok('L LOGIN {3}\r\njoe {4+}\r\n a\rb'), { name: 'LOGIN', tag: 'L', userid: 'joe', password: ' a\rb' });
    assert.deepEqual(ok('L LOGIN "" {0}\r\n'), { name: 'LOGIN', tag: 'L', userid: '', password: '' });
    assert.equal((ok('L LOGIN a] b') as { userid: string }).userid, 'a]', 'resp-specials are ASTRING-CHARs');
  });

  test('quoted strings: no bad escapes, no CR, no NUL; 8-bit only with UTF-8 enabled (RFC 6855 3)', () => {
    bad('L LOGIN "a\\b" x', /escape/);
    bad('L LOGIN "a\rb" x', /Invalid character/);
    bad('L LOGIN "unterminated', /Unterminated/);
    bad(Buffer.from('L LOGIN "j\u00f6rg" x'), /8-bit.*UTF8=ACCEPT/);
    assert.equal((ok(Buffer.from('L LOGIN "j\u00f6rg" x'), UTF8) as { userid: string }).userid, 'j\u00f6rg');
    bad(Buffer.from([...bytes('L LOGIN "j'), 0xf6, ...bytes('rg" x')]), /Invalid UTF-8/, UTF8);
  });

  test('literals: 8-bit allowed (UTF-8 checked where text is meant); NUL only in literal8, and literal8 only for APPEND', () => {
    assert.equal((ok(Buffer.from('L LOGIN {5}\r\nj\u00f6rg x')) as { userid: string }).userid, 'j\u00f6rg');
    bad('L LOGIN {3}\r\na\x00b x', /NUL/);
    bad('L LOGIN ~{3}\r\nabc x', /literal8/);
    bad('L LOGIN a{3}\r\nabc x', /SP/);
  });

  test('atoms are 7-bit and stop at atom-specials', () => {
    bad(Buffer.from('L LOGIN j\u00f6rg x'), /SP/);
    bad('L LOGIN a(b c', /SP/);
  });
});

describe('authentication and ENABLE', () => {
  test('RFC 9051 6.2.2, RFC 4959 3: AUTHENTICATE with and without SASL-IR', () => {
    assert.deepEqual(ok('A AUTHENTICATE plain'), { name: 'AUTHENTICATE', tag: 'A', mechanism: 'PLAIN', initialResponse: null });
    assert.deepEqual(ok('A AUTHENTICATE PLAIN AGpvZQBzZWNyZXQ='), {
      name: 'AUTHENTICATE',
      tag: 'A',
      mechanism: 'PLAIN',
      initialResponse: Buffer.from('\0joe\0secret'),
    });
    assert.deepEqual((ok('A AUTHENTICATE EXTERNAL =') as { initialResponse: Buffer }).initialResponse, Buffer.alloc(0));
    bad('A AUTHENTICATE PLAIN AGpvZQ', /base64/);
    bad('A AUTHENTICATE PLAIN a=b=', /base64/);
    bad('A AUTHENTICATE', /SP/);
  });

  test('RFC 5161 3: ENABLE one or more capabilities, upper-cased', () => {
    assert.deepEqual(ok('E ENABLE utf8=accept CONDSTORE IMAP4rev2'), {
      name: 'ENABLE',
      tag: 'E',
      capabilities: ['UTF8=ACCEPT', 'CONDSTORE', 'IMAP4REV2'],
    });
    bad('E ENABLE', /SP/);
  });

  test('RFC 2971 3.1: ID with a list or NIL', () => {
    assert.deepEqual(ok('I ID ("name" "Thunderbird" "version" NIL "os" {5}\r\nLinux)'), {
      name: 'ID',
      tag: 'I',
      params: [
        ['name', 'Thunderbird'],
        ['version', null],
        ['os', 'Linux'],
      ],
    });
    assert.deepEqual(ok('I ID NIL'), { name: 'ID', tag: 'I', params: null });
    assert.deepEqual(ok('I ID ()'), { name: 'ID', tag: 'I', params: [] });
    bad('I ID ("name")', /SP/);
    bad('I ID (name "x")', /ID field/);
  });
});

describe('mailbox commands', () => {
  test('RFC 9051 5.1: INBOX in any case; names decoded (modified UTF-7 for rev1, UTF-8 when enabled)', () => {
    assert.deepEqual(ok('S SELECT inbox'), { name: 'SELECT', tag: 'S', mailbox: 'INBOX', condstore: false, qresync: null });
    assert.equal((ok('S EXAMINE "Entw&APw-rfe"') as { mailbox: string }).mailbox, 'Entw\u00fcrfe');
    assert.equal((ok(Buffer.from('S EXAMINE "Entw\u00fcrfe"'), UTF8) as { mailbox: string }).mailbox, 'Entw\u00fcrfe');
    assert.equal((ok('S DELETE "A&-B"') as { mailbox: string }).mailbox, 'A&B');
    assert.equal((ok('S DELETE "A&-B"', UTF8) as { mailbox: string }).mailbox, 'A&-B', '"&" is an ordinary character in UTF-8 names');
    bad('S SELECT "Entw&APw"', /modified UTF-7/);
    bad(Buffer.from('S SELECT {9}\r\nEntw\u00fcrfe'), /8-bit/);
  });

  test('RFC 7162 3.1.8, 3.2.5: SELECT (CONDSTORE), (QRESYNC (uidvalidity modseq [known-uids] [seq-match-data]))', () => {
    const c = ok('S SELECT INBOX (CONDSTORE QRESYNC (67890007 90060115194045000 41:211,214:541 (1:5 41:45)))');
    assert.deepEqual(c, {
      name: 'SELECT',
      tag: 'S',
      mailbox: 'INBOX',
      condstore: true,
      qresync: {
        uidValidity: 67890007,
        modseq: 90060115194045000n,
        knownUids: { ranges: [ { first: uid(41), last: uid(211) }, { first: uid(214), last: uid(541) } ], saved: false },
        seqMatch: {
          seqs: { ranges: [{ first: seq(1), last: seq(5) }], saved: false },
          uids: { ranges: [{ first: uid(41), last: uid(45) }], saved: false },
        },
      },
    });
    assert.deepEqual((ok('S EXAMINE x (QRESYNC (1 2 (1 7)))') as { qresync: unknown }).qresync, {
      uidValidity: 1,
      modseq: 2n,
      knownUids: null,
      seqMatch: { seqs: { ranges: [{ first: 1, last: 1 }], saved: false }, uids: { ranges: [{ first: 7, last: 7 }], saved: false } },
    });
    bad('S SELECT x (QRESYNC (1 2 1:*))', /"\*" is not allowed/);
    bad('S SELECT x (QRESYNC (0 2))', /UIDVALIDITY must not be zero/);
    bad('S SELECT x (QRESYNC (1 0))', /mod-sequence must not be zero/);
    bad('S SELECT x (QRESYNC (1 9223372036854775808))', /out of range/);
    bad('S SELECT x (CONDSTORE CONDSTORE)', /twice/);
    bad('S SELECT x (FOO)', /Unknown SELECT parameter/);
    bad('S SELECT x ()', /Empty/);
  });

  test('RFC 6154 3: CREATE with USE; RFC 9051 6.3.4-6.3.8 DELETE RENAME SUBSCRIBE UNSUBSCRIBE', () => {
    assert.deepEqual(ok('C CREATE Sent (USE (\\sent \\X-Custom))'), { name: 'CREATE', tag: 'C', mailbox: 'Sent', specialUse: ['\\Sent', '\\X-Custom'] });
    assert.deepEqual(ok('C CREATE foo/bar'), { name: 'CREATE', tag: 'C', mailbox: 'foo/bar', specialUse: null });
    assert.deepEqual(ok('C RENAME a "b c"'), { name: 'RENAME', tag: 'C', from: 'a', to: 'b c' });
    assert.deepEqual(ok('C SUBSCRIBE a'), { name: 'SUBSCRIBE', tag: 'C', mailbox: 'a' });
    assert.deepEqual(ok('C UNSUBSCRIBE a'), { name: 'UNSUBSCRIBE', tag: 'C', mailbox: 'a' });
    bad('C CREATE x (FOO)', /Unknown CREATE parameter/);
    bad('C CREATE x (USE (Sent))', /special-use/);
    bad('C RENAME a', /SP/);
    bad('C DELETE', /SP/);
    bad('C DELETE a*', /Unexpected characters/);
  });

  test('RFC 9051 6.3.11: STATUS items incl. SIZE (RFC 8438), HIGHESTMODSEQ, APPENDLIMIT, MAILBOXID, DELETED', () => {
    assert.deepEqual(ok('T STATUS INBOX (messages UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE RECENT HIGHESTMODSEQ APPENDLIMIT MAILBOXID MESSAGES)'), {
      name: 'STATUS',
      tag: 'T',
      mailbox: 'INBOX',
      items: ['MESSAGES', 'UIDNEXT', 'UIDVALIDITY', 'UNSEEN', 'DELETED', 'SIZE', 'RECENT', 'HIGHESTMODSEQ', 'APPENDLIMIT', 'MAILBOXID'],
    });
    bad('T STATUS INBOX ()', /Empty/);
    bad('T STATUS INBOX (FOO)', /Unknown STATUS item FOO/);
    bad('T STATUS INBOX MESSAGES', /"\("/);
  });
});

describe('LIST and LSUB (RFC 9051 6.3.9, RFC 5258, RFC 5819, RFC 6154)', () => {
  const basic = { subscribed: false, remote: false, recursiveMatch: false, specialUse: false };
  const noReturn = { subscribed: false, children: false, specialUse: false, status: null };

  test('basic LIST: reference and one pattern with wildcards', () => {
    assert.deepEqual(ok('L LIST "" *'), { name: 'LIST', tag: 'L', reference: '', patterns: ['*'], extended: false, selection: basic, returns: noReturn });
    assert.deepEqual((ok('L LIST ~/Mail/ %]') as { reference: string; patterns: readonly string[] }).patterns, ['%]']);
    assert.deepEqual((ok('L LIST "" ""') as { patterns: readonly string[] }).patterns, ['']);
    assert.deepEqual((ok('L LIST "" "Entw&APw-rfe/%"') as { patterns: readonly string[] }).patterns, ['Entw\u00fcrfe/%']);
  });

  test('LIST-EXTENDED: selection options, several patterns, RETURN with STATUS and SPECIAL-USE', () => {
    const c = ok('L LIST (SUBSCRIBED RECURSIVEMATCH REMOTE) "" ("INBOX" Drafts/%) RETURN (CHILDREN SUBSCRIBED SPECIAL-USE STATUS (MESSAGES UNSEEN))');
    assert.deepEqual(c, {
      name: 'LIST',
      tag: 'L',
      reference: '',
      patterns: ['INBOX', 'Drafts/%'],
      extended: true,
      selection: { subscribed: true, remote: true, recursiveMatch: true, specialUse: false },
      returns: { subscribed: true, children: true, specialUse: true, status: ['MESSAGES', 'UNSEEN'] },
    });
    assert.equal((ok('L LIST () "" %') as { extended: boolean }).extended, true);
    assert.deepEqual((ok('L LIST (SPECIAL-USE) "" *') as { selection: unknown }).selection, { ...basic, specialUse: true });
    assert.deepEqual((ok('L LIST "" % RETURN ()') as { returns: unknown }).returns, noReturn);
    bad('L LIST (RECURSIVEMATCH) "" *', /RECURSIVEMATCH/);
    bad('L LIST (FOO) "" *', /Unknown LIST selection option FOO/);
    bad('L LIST "" * RETURN (FOO)', /Unknown LIST return option/);
    bad('L LIST "" * (CHILDREN)', /RETURN/);
    bad('L LIST "" ()', /Empty mailbox patterns/);
    bad('L LIST ""', /SP/);
  });

  test('RFC 3501 6.3.9 LSUB', () => {
    assert.deepEqual(ok('L LSUB "#news." "comp.mail.*"'), { name: 'LSUB', tag: 'L', reference: '#news.', pattern: 'comp.mail.*' });
  });
});

describe('APPEND (RFC 9051 6.3.12, RFC 3502, RFC 3516, RFC 6855)', () => {
  test('flags, date-time and the message, streamed', () => {
    const { result, streamed } = parse('A APPEND saved-messages (\\Seen $Label1) " 7-Feb-1994 21:52:25 -0800" {11}\r\nHello there');
    assert.ok(result.ok);
    assert.deepEqual(result.command, {
      name: 'APPEND',
      tag: 'A',
      mailbox: 'saved-messages',
      messages: [
        {
          flags: ['\\Seen', '$Label1'],
          date: { date: new Date('1994-02-08T05:52:25Z'), zoneMinutes: -480 },
          data: { kind: 'streamed', ordinal: 0, size: 11 },
          binary: false,
          utf8: false,
        },
      ],
    });
    assert.deepEqual(streamed, ['Hello there']);
  });

  test('the mailbox may be a literal (a buffered string), the message then streams', () => {
    const { result, streamed } = parse('A APPEND {5}\r\nDraft {2+}\r\nhi');
    assert.ok(result.ok && result.command.name === 'APPEND');
    assert.equal(result.command.mailbox, 'Draft');
    assert.deepEqual(streamed, ['hi']);
  });

  test('MULTIAPPEND: several messages, literal8 (BINARY) and UTF8 (~{n}) data', () => {
    const { result, streamed } = parse('A APPEND box {1}\r\na (\\Draft) ~{3}\r\nb\x00c "01-Jan-2024 00:00:00 +0000" UTF8 (~{1}\r\nd)', UTF8);
    assert.ok(result.ok && result.command.name === 'APPEND');
    assert.deepEqual(
      result.command.messages.map((m) => [m.flags, m.date?.date.toISOString() ?? null, m.data, m.binary, m.utf8]),
      [
        [null, null, { kind: 'streamed', ordinal: 0, size: 1 }, false, false],
        [['\\Draft'], null, { kind: 'streamed', ordinal: 1, size: 3 }, true, false],
        [null, '2024-01-01T00:00:00.000Z', { kind: 'streamed', ordinal: 2, size: 1 }, true, true],
      ],
    );
    assert.deepEqual(streamed, ['a', 'b\x00c', 'd']);
  });

  test('bad APPENDs', () => {
    bad('A APPEND box {3}\r\na\x00b', /NUL/);
    bad('A APPEND box UTF8 (~{1}\r\nd)', /UTF8=ACCEPT/);
    bad('A APPEND box', /SP/);
    bad('A APPEND box (\\Seen)', /Expected SP/);
    bad('A APPEND box "1-Jan-2024 00:00:00 +0000" (\\Seen) {1}\r\nx', /message literal/);
    bad('A APPEND box "31-Feb-2024 00:00:00 +0000" {1}\r\nx', /day of month/);
    bad('A APPEND box "1-Foo-2024 00:00:00 +0000" {1}\r\nx', /month/);
    bad('A APPEND box "1-Jan-2024 24:00:00 +0000" {1}\r\nx', /time/);
    bad('A APPEND box "1-Jan-2024 00:00:00 0000" {1}\r\nx', /zone/);
    bad('A APPEND box CATENATE (TEXT {1}\r\nx)', /CATENATE is not supported/);
    bad('A APPEND box {1}\r\nx ', /flags, a date-time or the message/);
  });
});

describe('sequence sets (RFC 9051 9, RFC 5182)', () => {
  test('numbers, ranges, "*", "$"; sequence numbers vs UIDs', () => {
    const f = ok('F FETCH 1,2:4,*:7,$,4294967295 FLAGS');
    assert.ok(f.name === 'FETCH' && !f.uid);
    assert.deepEqual(f.set, {
      ranges: [
        { first: seq(1), last: seq(1) },
        { first: seq(2), last: seq(4) },
        { first: '*', last: seq(7) },
        { first: seq(4294967295), last: seq(4294967295) },
      ],
      saved: true,
    });
    const u = ok('F UID FETCH $ UID');
    assert.ok(u.name === 'FETCH' && u.uid);
    assert.deepEqual(u.set, { ranges: [], saved: true });
    bad('F FETCH 0 FLAGS', /must not be zero/);
    bad('F FETCH 4294967296 FLAGS', /out of range/);
    bad('F FETCH 1: FLAGS', /message number/);
    bad('F FETCH 1, FLAGS', /sequence set/);
    bad('F FETCH ,1 FLAGS', /sequence set/);
    bad('F FETCH a FLAGS', /sequence set/);
  });

  test('a UID set is not a sequence-number set: mixing them does not compile', () => {
    const c = ok('F UID FETCH 1:2 UID');
    assert.ok(c.name === 'FETCH' && c.uid);
    // @ts-expect-error SequenceSet<Uid> is not SequenceSet<SeqNum> (src/lib/ids.ts brands)
    const wrong: SequenceSet<SeqNum> = c.set;
    const right: SequenceSet<Uid> = c.set;
    assert.equal(wrong, right);
  });
});

describe('FETCH (RFC 9051 6.4.5, RFC 3516, RFC 7162, RFC 8474, RFC 8514)', () => {
  const items = (line: string) => {
    const c = ok(line);
    return c.name === 'FETCH' ? c.items : assert.fail('not FETCH');
  };

  test('every simple item; the macros expand', () => {
    const simple = ['ENVELOPE', 'FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'BODYSTRUCTURE', 'BODY', 'UID', 'RFC822', 'RFC822.HEADER', 'RFC822.TEXT', 'MODSEQ', 'EMAILID', 'THREADID', 'SAVEDATE'];
    assert.deepEqual(items(`F FETCH 1 (${simple.join(' ')})`), simple.map((kind) => ({ kind })));
    assert.deepEqual(items('F FETCH 1 uid'), [{ kind: 'UID' }]);
    const all = ok('F FETCH 1:* ALL');
    assert.ok(all.name === 'FETCH');
    assert.equal(all.macro, 'ALL');
    assert.deepEqual(all.items, ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE'].map((kind) => ({ kind })));
    assert.deepEqual(items('F FETCH 1 fast'), ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE'].map((kind) => ({ kind })));
    assert.deepEqual(items('F FETCH 1 FULL'), ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY'].map((kind) => ({ kind })));
    bad('F FETCH 1 (ALL)', /Unknown FETCH item ALL/);
    bad('F FETCH 1 ()', /Empty FETCH items/);
    bad('F FETCH 1 (FLAGS', /SP or "\)"/);
    bad('F FETCH 1 PREVIEW', /Unknown FETCH item/);
  });

  test('BODY[section]<partial> and BODY.PEEK', () => {
    assert.deepEqual(items('F FETCH 1 (BODY[] BODY.PEEK[HEADER] BODY[TEXT]<0.2048> body[1.2.MIME] BODY[3.HEADER.FIELDS (From "To")] BODY.PEEK[HEADER.FIELDS.NOT (Received)]<10.20> BODY[2])'), [
      { kind: 'section', peek: false, section: { part: [], text: null }, partial: null },
      { kind: 'section', peek: true, section: { part: [], text: { kind: 'HEADER' } }, partial: null },
      { kind: 'section', peek: false, section: { part: [], text: { kind: 'TEXT' } }, partial: { offset: 0, length: 2048 } },
      { kind: 'section', peek: false, section: { part: [1, 2], text: { kind: 'MIME' } }, partial: null },
      { kind: 'section', peek: false, section: { part: [3], text: { kind: 'HEADER.FIELDS', fields: ['From', 'To'] } }, partial: null },
      { kind: 'section', peek: true, section: { part: [], text: { kind: 'HEADER.FIELDS.NOT', fields: ['Received'] } }, partial: { offset: 10, length: 20 } },
      { kind: 'section', peek: false, section: { part: [2], text: null }, partial: null },
    ]);
    assert.deepEqual(items('F FETCH 1 BODY[]<0.9223372036854775807>'), [
      { kind: 'section', peek: false, section: { part: [], text: null }, partial: { offset: 0, length: Number.MAX_SAFE_INTEGER } },
    ]);
    bad('F FETCH 1 BODY[MIME]', /MIME needs a part/);
    bad('F FETCH 1 BODY[0]', /must not be zero/);
    bad('F FETCH 1 BODY[1.]', /Invalid section/);
    bad('F FETCH 1 BODY[HEADER.FIELDS ()]', /header field name/);
    bad('F FETCH 1 BODY[HEADER.FIELDS (a:b)]', /Invalid header field name/);
    bad('F FETCH 1 BODY[]<0.0>', /must not be zero/);
    bad('F FETCH 1 BODY[]<1>', /"\."/);
    bad('F FETCH 1 BODY[TEXT', /"\]"/);
    bad('F FETCH 1 BODY.PEEK', /Unknown FETCH item BODY.PEEK/);
    bad('F FETCH 1 BODY<0.1>', /Unexpected characters|Expected/);
  });

  test('RFC 3516 4.1: BINARY[part]<partial>, BINARY.PEEK, BINARY.SIZE', () => {
    assert.deepEqual(items('F FETCH 1 (BINARY[1.2]<0.10> BINARY.PEEK[] BINARY.SIZE[3])'), [
      { kind: 'binary', peek: false, part: [1, 2], partial: { offset: 0, length: 10 } },
      { kind: 'binary', peek: true, part: [], partial: null },
      { kind: 'binarySize', part: [3] },
    ]);
    bad('F FETCH 1 BINARY[1.TEXT]', /BINARY takes part numbers only/);
    bad('F FETCH 1 BINARY.SIZE[1]<0.5>', /Unexpected characters|Expected/);
    bad('F FETCH 1 BINARY', /"\["/);
  });

  test('RFC 7162 3.1.4, 3.2.6: CHANGEDSINCE and VANISHED modifiers', () => {
    const c = ok('F UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)');
    assert.ok(c.name === 'FETCH');
    assert.deepEqual([c.changedSince, c.vanished, c.uid], [12345n, true, true]);
    assert.equal((ok('F FETCH 1 FLAGS (CHANGEDSINCE 0)') as { changedSince: bigint }).changedSince, 0n);
    bad('F FETCH 1 FLAGS (CHANGEDSINCE 1 VANISHED)', /VANISHED needs UID FETCH/);
    bad('F UID FETCH 1 FLAGS (VANISHED)', /VANISHED needs UID FETCH and CHANGEDSINCE/);
    bad('F FETCH 1 FLAGS (FOO)', /Unknown FETCH modifier/);
    bad('F FETCH 1 FLAGS (CHANGEDSINCE 1 CHANGEDSINCE 2)', /twice/);
    bad('F FETCH 1 FLAGS ()', /Empty FETCH modifiers/);
  });
});

describe('STORE, COPY, MOVE, EXPUNGE', () => {
  test('RFC 9051 6.4.6: FLAGS, +FLAGS, -FLAGS, .SILENT, list or bare flags; RFC 7162 3.1.3 UNCHANGEDSINCE', () => {
    assert.deepEqual(ok('S STORE 2:4 +FLAGS (\\Deleted)'), {
      name: 'STORE', tag: 'S', operation: 'add', silent: false, flags: ['\\Deleted'], unchangedSince: null, uid: false,
      set: { ranges: [{ first: seq(2), last: seq(4) }], saved: false },
    });
    const u = ok('S UID STORE 1 (UNCHANGEDSINCE 0) -flags.silent \\seen $Junk \\SEEN');
    assert.ok(u.name === 'STORE' && u.uid);
    assert.deepEqual([u.operation, u.silent, u.flags, u.unchangedSince], ['remove', true, ['\\Seen', '$Junk'], 0n]);
    assert.deepEqual((ok('S STORE 1 FLAGS ()') as { flags: readonly string[] }).flags, []);
    bad('S STORE 1 +FLAGS', /SP/);
    bad('S STORE 1 FLAGZ (\\Seen)', /Expected FLAGS/);
    bad('S STORE 1 +FLAGS (\\*)', /flag name/);
    bad('S STORE 1 (FOO 1) FLAGS (\\Seen)', /Unknown or repeated STORE modifier/);
    bad('S STORE 1 (UNCHANGEDSINCE 1 UNCHANGEDSINCE 2) FLAGS ()', /repeated/);
  });

  test('RFC 9051 6.4.7, RFC 6851 3: COPY and MOVE, with UID forms', () => {
    const c = ok('C UID MOVE 4:7 "Trash"');
    assert.ok(c.name === 'MOVE' && c.uid);
    assert.deepEqual([c.mailbox, c.set.ranges], ['Trash', [{ first: uid(4), last: uid(7) }]]);
    assert.deepEqual(ok('C COPY 1 INBOX'), { name: 'COPY', tag: 'C', mailbox: 'INBOX', uid: false, set: { ranges: [{ first: 1, last: 1 }], saved: false } });
    bad('C COPY 1', /SP/);
  });

  test('RFC 4315 2.1: UID EXPUNGE takes a UID set; EXPUNGE takes nothing', () => {
    assert.deepEqual(ok('E UID EXPUNGE 3000:3002'), { name: 'EXPUNGE', tag: 'E', uid: true, set: { ranges: [{ first: uid(3000), last: uid(3002) }], saved: false } });
    bad('E UID EXPUNGE', /SP/);
    bad('E EXPUNGE 1', /no arguments/);
  });
});

describe('SEARCH (RFC 9051 6.4.4)', () => {
  test('every key of RFC 9051 6.4.4 and RFC 3501 6.4.4', () => {
    const flags = ['ALL', 'ANSWERED', 'DELETED', 'DRAFT', 'FLAGGED', 'SEEN', 'UNANSWERED', 'UNDELETED', 'UNDRAFT', 'UNFLAGGED', 'UNSEEN', 'NEW', 'OLD', 'RECENT'];
    for (const key of flags) assert.deepEqual(criteria(key.toLowerCase()), { key });
    for (const key of ['BCC', 'BODY', 'CC', 'FROM', 'SUBJECT', 'TEXT', 'TO']) assert.deepEqual(criteria(`${key} "a b"`), { key, value: 'a b' });
    for (const key of ['BEFORE', 'ON', 'SINCE', 'SENTBEFORE', 'SENTON', 'SENTSINCE']) {
      assert.deepEqual(criteria(`${key} 1-Feb-1994`), { key, date: { year: 1994, month: 2, day: 1 } });
      assert.deepEqual(criteria(`${key} "29-feb-2024"`), { key, date: { year: 2024, month: 2, day: 29 } });
    }
    assert.deepEqual(criteria('HEADER Message-ID "<x@y>"'), { key: 'HEADER', field: 'Message-ID', value: '<x@y>' });
    assert.deepEqual(criteria('HEADER X-Spam ""'), { key: 'HEADER', field: 'X-Spam', value: '' });
    assert.deepEqual(criteria('KEYWORD $Forwarded'), { key: 'KEYWORD', flag: '$Forwarded' });
    assert.deepEqual(criteria('UNKEYWORD foo'), { key: 'UNKEYWORD', flag: 'foo' });
    assert.deepEqual(criteria('LARGER 100'), { key: 'LARGER', size: 100 });
    assert.deepEqual(criteria('SMALLER 9223372036854775807'), { key: 'SMALLER', size: Number.MAX_SAFE_INTEGER });
    bad('S SEARCH SMALLER 9223372036854775808', /out of range/);
    assert.deepEqual(criteria('NOT NOT SEEN'), { key: 'NOT', operand: { key: 'NOT', operand: { key: 'SEEN' } } });
    assert.deepEqual(criteria('OR SEEN (FLAGGED DRAFT)'), {
      key: 'OR',
      left: { key: 'SEEN' },
      right: { key: 'AND', operands: [{ key: 'FLAGGED' }, { key: 'DRAFT' }] },
    });
    assert.deepEqual(criteria('UID 1:*'), { key: 'UID', set: { ranges: [{ first: uid(1), last: '*' }], saved: false } });
    assert.deepEqual(criteria('2,4:5'), { key: 'SEQ', set: { ranges: [{ first: seq(2), last: seq(2) }, { first: seq(4), last: seq(5) }], saved: false } });
    assert.deepEqual(criteria('(SEEN)'), { key: 'SEEN' });
    assert.deepEqual(criteria('SEEN FROM x'), { key: 'AND', operands: [{ key: 'SEEN' }, { key: 'FROM', value: 'x' }] });
  });

  test('extensions: MODSEQ (RFC 7162), OLDER/YOUNGER (RFC 5032), EMAILID/THREADID (RFC 8474), $ (RFC 5182), SAVEDATE keys (RFC 8514)', () => {
    assert.deepEqual(criteria('MODSEQ 620162338'), { key: 'MODSEQ', modseq: 620162338n, entry: null });
    assert.deepEqual(criteria('MODSEQ "/flags/\\\\draft" all 0'), { key: 'MODSEQ', modseq: 0n, entry: { flag: '\\Draft', type: 'all' } });
    assert.deepEqual(criteria('MODSEQ "/flags/$Junk" PRIV 5'), { key: 'MODSEQ', modseq: 5n, entry: { flag: '$Junk', type: 'priv' } });
    assert.deepEqual(criteria('OLDER 3600 YOUNGER 60'), { key: 'AND', operands: [{ key: 'OLDER', seconds: 3600 }, { key: 'YOUNGER', seconds: 60 }] });
    assert.deepEqual(criteria('EMAILID M6d99ac3275bb4e THREADID T64b478a75b7ea9'), {
      key: 'AND',
      operands: [{ key: 'EMAILID', id: 'M6d99ac3275bb4e' }, { key: 'THREADID', id: 'T64b478a75b7ea9' }],
    });
    assert.deepEqual(criteria('$'), { key: 'SEQ', set: { ranges: [], saved: true } });
    assert.deepEqual(criteria('UID $'), { key: 'UID', set: { ranges: [], saved: true } });
    assert.deepEqual(criteria('SAVEDSINCE 1-Jan-2020 SAVEDATESUPPORTED'), {
      key: 'AND',
      operands: [{ key: 'SAVEDSINCE', date: { year: 2020, month: 1, day: 1 } }, { key: 'SAVEDATESUPPORTED' }],
    });
    bad('S SEARCH MODSEQ "/foo/x" all 1', /\/flags\//);
    bad('S SEARCH MODSEQ "/flags/\\\\Seen" both 1', /priv, shared or all/);
    bad('S SEARCH OLDER 0', /must not be zero/);
    bad('S SEARCH EMAILID a.b', /object id/);
  });

  test('RFC 4731 3.1, RFC 5182: RETURN options; CHARSET', () => {
    const c = ok('S UID SEARCH RETURN (MIN MAX COUNT ALL SAVE MIN) CHARSET utf-8 SUBJECT {5}\r\nf\u00c3\u00bc\u00c3\u00bc');
    assert.ok(c.name === 'SEARCH');
    assert.deepEqual([c.uid, c.returnOptions, c.charset, c.criteria], [true, ['MIN', 'MAX', 'COUNT', 'ALL', 'SAVE'], 'UTF-8', { key: 'SUBJECT', value: 'f\u00fc\u00fc' }]);
    assert.deepEqual((ok('S SEARCH RETURN () ALL') as { returnOptions: unknown }).returnOptions, []);
    assert.equal((ok('S SEARCH ALL') as { returnOptions: unknown }).returnOptions, null);
    assert.deepEqual(criteria('CHARSET ISO-8859-1 SUBJECT {1}\r\n\xe9'), { key: 'SUBJECT', value: '\u00e9' });
    assert.deepEqual(criteria('CHARSET KOI8-R TEXT {3}\r\n\xf0\xd2\xc9'), { key: 'TEXT', value: '\u041f\u0440\u0438' });
    bad('S SEARCH RETURN (PARTIAL 1:10) ALL', /Unknown SEARCH return option/);
    bad('S SEARCH TEXT {1}\r\n\xff', /Invalid UTF-8/);
  });

  test('RFC 9051 6.4.4: an unknown charset is NO [BADCHARSET], not BAD', () => {
    const e = bad('S SEARCH CHARSET X-UNKNOWN TEXT x', /not supported/);
    assert.deepEqual([e.tag, e.status, e.code], ['S', 'NO', 'BADCHARSET']);
  });

  test('bad searches; nesting is bounded', () => {
    bad('S SEARCH', /SP/);
    bad('S SEARCH FOO', /Unknown search key FOO/);
    bad('S SEARCH OR SEEN', /SP between OR operands/);
    bad('S SEARCH ()', /Empty search key list/);
    bad('S SEARCH (SEEN', /SP or "\)"/);
    bad('S SEARCH SINCE 32-Jan-2024', /day of month/);
    bad('S SEARCH SINCE 1-Jan-24', /year/);
    bad('S SEARCH HEADER "a b" c', /header field name/);
    bad('S SEARCH KEYWORD \\Seen', /keyword/);
    bad(`S SEARCH ${'NOT '.repeat(100)}SEEN`, /Too deeply nested/);
    bad(`S SEARCH ${'('.repeat(100)}SEEN${')'.repeat(100)}`, /Too deeply nested/);
    assert.deepEqual(criteria(`${'NOT '.repeat(60)}SEEN`).key, 'NOT');
  });
});
