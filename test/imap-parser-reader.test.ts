import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  appendTarget,
  CommandReader,
  isIdleDone,
  parseCommand,
  parseSaslResponse,
  type LiteralRequest,
  type RawCommand,
  type ReaderLimits,
} from '../src/protocols/imap/parser/index.ts';
import { bytes, splits } from './helpers/splits.ts';

type Shown =
  | { command: string }
  | { literal: string }
  | { streamed: string }
  | { error: string }
  | { line: string };

/** A command's pieces as text: literals in [brackets], streamed ones as <size>. */
function showCommand(c: RawCommand): string {
  return c.pieces
    .map((p) => (p.kind === 'text' ? p.bytes.toString('latin1') : p.kind === 'literal' ? `[${p.data.toString('latin1')}]` : `<${p.size}>`))
    .join('');
}

interface DriveOptions {
  limits?: Partial<ReaderLimits>;
  /** Accept (true) or reject (false) an announced literal; default accept. */
  decide?: (req: LiteralRequest) => boolean;
  /** Commands after which the next line is raw (IDLE, AUTHENTICATE). */
  rawAfter?: RegExp;
}

interface Driven {
  items: Shown[];
  maxBuffered: number;
}

function drive(chunks: Buffer[], o: DriveOptions = {}): Driven {
  const reader = new CommandReader(o.limits);
  const items: Shown[] = [];
  let data: Buffer[] = [];
  let maxBuffered = 0;
  for (const chunk of chunks) {
    reader.push(chunk);
    for (let item = reader.next(); item; item = reader.next()) {
      maxBuffered = Math.max(maxBuffered, reader.bufferedBytes);
      switch (item.kind) {
        case 'command': {
          const text = showCommand(item.command);
          items.push({ command: text });
          if (o.rawAfter?.test(text)) reader.expectLine();
          break;
        }
        case 'literal': {
          const l = item.literal;
          const yes = o.decide ? o.decide(l) : true;
          items.push({ literal: `${l.tag} ${l.command} ${l.size}${l.sync ? '' : '+'}${l.binary ? ' binary' : ''} ${l.role} ${yes ? 'accept' : 'reject'}` });
          if (yes) reader.accept();
          else reader.reject();
          break;
        }
        case 'literalData':
          data.push(item.chunk);
          break;
        case 'literalEnd':
          items.push({ streamed: Buffer.concat(data).toString('latin1') });
          data = [];
          break;
        case 'line':
          items.push({ line: item.line.toString('latin1') });
          break;
        case 'error': {
          const e = item.error;
          items.push({ error: `${e.tag ?? '*'} ${e.status}${e.code ? ` [${e.code}]` : ''} ${e.reason}${e.fatal ? ' (fatal)' : ''}` });
          break;
        }
      }
    }
    maxBuffered = Math.max(maxBuffered, reader.bufferedBytes);
  }
  return { items, maxBuffered };
}

/** The same items whatever the split (and the whole-input result is returned). */
function everySplit(input: string | Buffer, o: DriveOptions = {}, maxThreeWay = 0): Shown[] {
  const wire = typeof input === 'string' ? bytes(input) : input;
  const expected = drive([wire], o).items;
  for (const chunks of splits(wire, maxThreeWay)) {
    assert.deepEqual(drive(chunks, o).items, expected, JSON.stringify(chunks.map((c) => c.toString('latin1'))));
  }
  return expected;
}

describe('CommandReader framing', () => {
  test('RFC 9051 4.3, RFC 7888: commands, literals of every kind, streamed APPEND data: the same at every split', () => {
    const input =
      'a1 LOGIN {3}\r\njoe {6+}\r\nsecret\r\n' +
      'a2 APPEND INBOX (\\Seen) {5}\r\nhello\r\n' +
      'a3 APPEND {5+}\r\nDraft ~{4+}\r\nb\x00\r\n UTF8 (~{0}\r\n)\r\n' +
      'a4 NOOP\na5 SEARCH TEXT "{5}"\r\n\r\n';
    assert.deepEqual(everySplit(input, {}, 30), [
      { literal: 'a1 LOGIN 3 string accept' },
      { literal: 'a1 LOGIN 6+ string accept' },
      { command: 'a1 LOGIN [joe] [secret]' },
      { literal: 'a2 APPEND 5 message accept' },
      { streamed: 'hello' },
      { command: 'a2 APPEND INBOX (\\Seen) <5>' },
      { literal: 'a3 APPEND 5+ string accept' },
      { literal: 'a3 APPEND 4+ binary message accept' },
      { streamed: 'b\x00\r\n' },
      { literal: 'a3 APPEND 0 binary message accept' },
      { streamed: '' },
      { command: 'a3 APPEND [Draft] <4> UTF8 (<0>)' },
      { command: 'a4 NOOP' },
      { command: 'a5 SEARCH TEXT "{5}"' },
      { command: '' },
    ]);
  });

  test('RFC 9051 7.5: nothing past a synchronizing announcement is read before accept() or reject()', () => {
    const reader = new CommandReader();
    reader.push(bytes('t LOGIN {3}\r\n'));
    const item = reader.next();
    assert.equal(item?.kind, 'literal');
    assert.ok(reader.awaitingDecision);
    assert.throws(() => reader.next(), /accept\(\) or reject\(\)/);
    assert.throws(() => reader.expectLine(), /in progress/);
    reader.accept();
    assert.throws(() => reader.accept(), /no literal is waiting/);
    assert.equal(reader.next(), null);
    reader.push(bytes('joe x\r\n'));
    const cmd = reader.next();
    assert.ok(cmd?.kind === 'command');
    assert.ok(parseCommand(cmd.command, { utf8: false }).ok);
  });

  test('reject() of a synchronizing literal ends the command: the client sends no literal, the next line is a command', () => {
    const input = 'a APPEND nobox {10}\r\nb NOOP\r\n';
    assert.deepEqual(everySplit(input, { decide: () => false }), [{ literal: 'a APPEND 10 message reject' }, { command: 'b NOOP' }]);
  });

  test('reject() of a non-synchronizing literal skips it and the rest of its command', () => {
    const input = 'a APPEND nobox {3+}\r\nabc (\\Seen) {2+}\r\nde\r\nb NOOP\r\n';
    assert.deepEqual(everySplit(input, { decide: (l) => l.size !== 3, limits: { nonSyncLiterals: 'LITERAL+' } }), [
      { literal: 'a APPEND 3+ message reject' },
      { command: 'b NOOP' },
    ]);
  });

  test('the literal request names the APPEND target so TRYCREATE can be answered before the data (RFC 9051 6.3.12)', () => {
    const targets: (string | null)[] = [];
    drive([bytes('a APPEND inbox (\\Seen) {1}\r\nx\r\nb APPEND {3}\r\nabc {1}\r\nx\r\n')], {
      decide: (l) => {
        targets.push(appendTarget(l.partial, { utf8: false }));
        return true;
      },
    });
    assert.deepEqual(targets, ['INBOX', null, 'abc']);
  });

  test('CRLF or bare LF ends a line; a lone CR is content; the announcement may end a bare-LF line', () => {
    assert.deepEqual(everySplit('a NOOP\nb LOGIN {1}\nx "y\rz"\r\n'), [
      { command: 'a NOOP' },
      { literal: 'b LOGIN 1 string accept' },
      { command: 'b LOGIN [x] "y\rz"' },
    ]);
  });
});

describe('CommandReader limits', () => {
  test('RFC 7889 3: an APPEND literal over APPENDLIMIT is NO [TOOBIG] before it is sent (synchronizing)', () => {
    const input = 'a APPEND INBOX {1048577}\r\nb NOOP\r\n';
    assert.deepEqual(everySplit(input, { limits: { maxMessageLiteral: 1048576 } }), [
      { error: 'a NO [TOOBIG] Message too large (APPENDLIMIT=1048576)' },
      { command: 'b NOOP' },
    ]);
  });

  test('a non-synchronizing APPEND literal over APPENDLIMIT: NO [TOOBIG] at once, its bytes skipped without being kept', () => {
    const size = 3 * 1024 * 1024;
    const head = bytes(`a APPEND INBOX {${size}+}\r\n`);
    const reader = new CommandReader({ nonSyncLiterals: 'LITERAL+', maxMessageLiteral: 1024 * 1024 });
    reader.push(head);
    const first = reader.next();
    assert.ok(first?.kind === 'error');
    assert.deepEqual([first.error.tag, first.error.status, first.error.code, first.error.fatal], ['a', 'NO', 'TOOBIG', false]);
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    for (let sent = 0; sent < size; sent += chunk.length) {
      reader.push(chunk);
      assert.equal(reader.next(), null);
      assert.equal(reader.bufferedBytes, 0);
    }
    reader.push(bytes(' (\\Seen) {2+}\r\nxy\r\nb NOOP\r\n'));
    const next = reader.next();
    assert.ok(next?.kind === 'command');
    assert.equal(showCommand(next.command), 'b NOOP');
  });

  test('RFC 7888 5: LITERAL- takes {n+} up to 4096 octets; beyond, BAD [TOOBIG] and the literal is skipped', () => {
    const body = 'x'.repeat(4097);
    const input = `a LOGIN {4096+}\r\n${body.slice(1)} {4097+}\r\n${body}\r\nb NOOP\r\n`;
    const minus = drive([bytes(input)]).items;
    assert.deepEqual(minus, [
      { literal: 'a LOGIN 4096+ string accept' },
      { error: 'a BAD [TOOBIG] Non-synchronizing literal over 4096 octets (LITERAL-)' },
      { command: 'b NOOP' },
    ]);
    const plus = drive([bytes(input)], { limits: { nonSyncLiterals: 'LITERAL+' } }).items;
    assert.deepEqual(plus.map((i) => Object.keys(i)[0]), ['literal', 'literal', 'command', 'command']);
  });

  test('string literals are bounded (maxStringLiteral) and so is the whole command (maxCommandBytes)', () => {
    assert.deepEqual(drive([bytes('a LOGIN {101}\r\nb NOOP\r\n')], { limits: { maxStringLiteral: 100 } }).items, [
      { error: 'a BAD [TOOBIG] Literal too large' },
      { command: 'b NOOP' },
    ]);
    const limits = { maxCommandBytes: 200, maxStringLiteral: 100 };
    assert.deepEqual(drive([bytes(`a LOGIN {100}\r\n${'u'.repeat(100)} {90}\r\nb NOOP\r\n`)], { limits }).items, [
      { literal: 'a LOGIN 100 string accept' },
      { error: 'a BAD [TOOBIG] Literal too large' },
      { command: 'b NOOP' },
    ]);
    assert.deepEqual(drive([bytes(`a LOGIN {100}\r\n${'u'.repeat(100)} ${'p'.repeat(90)}\r\nb NOOP\r\n`)], { limits }).items, [
      { literal: 'a LOGIN 100 string accept' },
      { error: 'a BAD [TOOBIG] Command too long' },
      { command: 'b NOOP' },
    ]);
    // With LITERAL+ an over-limit {n+} is refused at once and its bytes skipped.
    assert.deepEqual(
      everySplit(`a LOGIN {101+}\r\n${'u'.repeat(101)} pw\r\nb NOOP\r\n`, { limits: { maxStringLiteral: 100, nonSyncLiterals: 'LITERAL+' } }),
      [{ error: 'a BAD [TOOBIG] Literal too large' }, { command: 'b NOOP' }],
    );
    assert.deepEqual(drive([bytes(`a LOGIN {1}\r\nx {1}\r\ny {1}\r\nz\r\nb NOOP\r\n`)], { limits: { maxLiterals: 2 } }).items, [
      { literal: 'a LOGIN 1 string accept' },
      { literal: 'a LOGIN 1 string accept' },
      { error: 'a BAD [TOOBIG] Too many literals in one command' },
      { command: 'z' },
      { command: 'b NOOP' },
    ]);
  });

  test('a line over maxLineBytes is reported when the limit is crossed, before its end arrives; the rest is skipped', () => {
    const limits = { maxLineBytes: 64 };
    const reader = new CommandReader(limits);
    reader.push(bytes(`t1 SEARCH TEXT ${'x'.repeat(60)}`));
    const item = reader.next();
    assert.ok(item?.kind === 'error');
    assert.deepEqual([item.error.tag, item.error.reason, item.error.fatal], ['t1', 'Line too long', false]);
    assert.ok(reader.bufferedBytes < 64);
    reader.push(bytes(`${'y'.repeat(10000)}\r\nt2 NOOP\r\n`));
    const next = reader.next();
    assert.ok(next?.kind === 'command');
    assert.equal(showCommand(next.command), 't2 NOOP');

    const exact = 'a NOOP' + ' '.repeat(56);
    assert.equal(exact.length + 2, 64);
    assert.deepEqual(everySplit(`${exact}\r\n${exact} \r\nb NOOP\r\n`, { limits }), [
      { command: exact },
      { error: 'a BAD Line too long' },
      { command: 'b NOOP' },
    ]);
    assert.deepEqual(drive([bytes(`${'z'.repeat(100)}\r\n`)], { limits }).items, [{ error: '* BAD Line too long' }]);
  });

  test('an over-long line that announces a literal: {n+} bytes are skipped, {n} ends the command', () => {
    const limits = { maxLineBytes: 40, nonSyncLiterals: 'LITERAL+' as const };
    const long = `a LOGIN ${'u'.repeat(40)}`;
    assert.deepEqual(everySplit(`${long} {5+}\r\nb NOOP\r\nc NOOP\r\n`, { limits }), [{ error: 'a BAD Line too long' }, { command: 'c NOOP' }]);
    assert.deepEqual(everySplit(`${long} {5}\r\nb NOOP\r\n`, { limits }), [{ error: 'a BAD Line too long' }, { command: 'b NOOP' }]);
    assert.deepEqual(everySplit(`${long} {5+}\r\nb NOO {2+}\r\nXY\r\nc NOOP\r\n`, { limits }), [{ error: 'a BAD Line too long' }, { command: 'c NOOP' }]);
  });

  test('RFC 7888 4: a non-synchronizing literal too large to skip is fatal: the session closes', () => {
    const reader = new CommandReader({ nonSyncLiterals: 'LITERAL+', maxMessageLiteral: 1000, maxDiscardBytes: 10_000 });
    reader.push(bytes('a APPEND INBOX {10001+}\r\nxxxx'));
    const item = reader.next();
    assert.ok(item?.kind === 'error');
    assert.deepEqual([item.error.tag, item.error.status, item.error.code, item.error.fatal], ['a', 'NO', 'TOOBIG', true]);
    reader.push(bytes('b NOOP\r\n'));
    assert.equal(reader.next(), null);
    assert.equal(reader.pendingBytes, 0);
    assert.deepEqual(drive([bytes('a LOGIN {99999999999999999999999+}\r\n')]).items, [
      { error: 'a BAD [TOOBIG] Non-synchronizing literal over 4096 octets (LITERAL-) (fatal)' },
    ]);
    assert.deepEqual(drive([bytes('a LOGIN {99999999999999999999999}\r\nb NOOP\r\n')]).items, [
      { error: 'a BAD [TOOBIG] Literal too large' },
      { command: 'b NOOP' },
    ]);
  });

  test('a skipped command whose tail announces an unskippable literal is fatal', () => {
    const limits = { maxLineBytes: 40, nonSyncLiterals: 'LITERAL+' as const, maxDiscardBytes: 100 };
    assert.deepEqual(everySplit(`a LOGIN ${'u'.repeat(40)} {101+}\r\n`, { limits }), [
      { error: 'a BAD Line too long' },
      { error: '* BAD [TOOBIG] Literal too large to skip (fatal)' },
    ]);
    assert.deepEqual(everySplit(`a LOGIN ${'u'.repeat(40)} {${'9'.repeat(40)}+}\r\n`, { limits }), [
      { error: 'a BAD Line too long' },
      { error: '* BAD [TOOBIG] Literal too large to skip (fatal)' },
    ]);
  });
});

describe('CommandReader raw lines and STARTTLS', () => {
  test('RFC 9051 6.3.13: after IDLE the next line is DONE, not a command', () => {
    const items = everySplit('i IDLE\r\ndone\r\nn NOOP\r\n', { rawAfter: /^\S+ IDLE$/ });
    assert.deepEqual(items, [{ command: 'i IDLE' }, { line: 'done' }, { command: 'n NOOP' }]);
    assert.ok(isIdleDone(bytes('done')));
    assert.ok(isIdleDone(bytes('DONE')));
    assert.ok(!isIdleDone(bytes('DONE ')));
    assert.ok(!isIdleDone(bytes('n NOOP')));
  });

  test('RFC 9051 6.2.2: AUTHENTICATE continuation lines are raw: base64 or "*"; {n} in them is no literal', () => {
    const items = everySplit('a AUTHENTICATE PLAIN\r\nAGpvZQBzZWNyZXQ=\r\nb AUTHENTICATE LOGIN\r\n{5}\r\n', { rawAfter: /AUTHENTICATE/ });
    assert.deepEqual(items, [{ command: 'a AUTHENTICATE PLAIN' }, { line: 'AGpvZQBzZWNyZXQ=' }, { command: 'b AUTHENTICATE LOGIN' }, { line: '{5}' }]);
    assert.deepEqual(parseSaslResponse(bytes('AGpvZQBzZWNyZXQ=')), { kind: 'data', data: Buffer.from('\0joe\0secret') });
    assert.deepEqual(parseSaslResponse(bytes('')), { kind: 'data', data: Buffer.alloc(0) });
    assert.deepEqual(parseSaslResponse(bytes('*')), { kind: 'cancel' });
    assert.deepEqual(parseSaslResponse(bytes('not base64!')), { kind: 'invalid' });
    assert.deepEqual(drive([bytes(`a AUTHENTICATE X\r\n${'A'.repeat(70)}\r\nb NOOP\r\n`)], { rawAfter: /AUTH/, limits: { maxLineBytes: 64 } }).items, [
      { command: 'a AUTHENTICATE X' },
      { error: '* BAD Line too long' },
      { command: 'b NOOP' },
    ]);
  });

  test('RFC 9051 6.2.1: drain() hands back what follows STARTTLS so it can be dropped', () => {
    const reader = new CommandReader();
    reader.push(bytes('s STARTTLS\r\nx LOGIN a b\r\ny NO'));
    const item = reader.next();
    assert.ok(item?.kind === 'command');
    assert.equal(reader.drain().toString('latin1'), 'x LOGIN a b\r\ny NO');
    assert.equal(reader.next(), null);
    reader.push(bytes('z NOOP\r\n'));
    assert.equal(reader.next()?.kind, 'command');
  });

  test('limits are checked on construction and can change (APPENDLIMIT per user)', () => {
    assert.throws(() => new CommandReader({ maxLineBytes: 1 }), RangeError);
    assert.throws(() => new CommandReader({ maxMessageLiteral: -1 }), RangeError);
    const reader = new CommandReader();
    reader.configure({ maxMessageLiteral: 10 });
    assert.equal(reader.limits.maxMessageLiteral, 10);
    reader.push(bytes('a APPEND x {11}\r\n'));
    assert.equal(reader.next()?.kind, 'error');
  });
});

describe('CommandReader memory', () => {
  test('a 50 MB APPEND literal streams in chunks: the reader copies and holds only a few bytes', () => {
    const size = 50 * 1024 * 1024;
    const reader = new CommandReader({ maxMessageLiteral: size });
    const chunk = Buffer.alloc(64 * 1024);
    for (let i = 0; i < chunk.length; i++) chunk[i] = ((i * 7 + 13) % 255) + 1; // no NUL: a plain literal
    const sent = createHash('sha256');
    const got = createHash('sha256');
    let received = 0;
    let maxBuffered = 0;
    let maxChunk = 0;
    let copies = 0;
    const pull = (pushed: Buffer | null): void => {
      for (let item = reader.next(); item; item = reader.next()) {
        maxBuffered = Math.max(maxBuffered, reader.bufferedBytes);
        if (item.kind === 'literal') {
          assert.equal(item.literal.role, 'message');
          reader.accept();
        } else if (item.kind === 'literalData') {
          received += item.chunk.length;
          maxChunk = Math.max(maxChunk, item.chunk.length);
          if (pushed && item.chunk.buffer !== pushed.buffer) copies++;
          got.update(item.chunk);
        } else if (item.kind === 'command') {
          const parsed = parseCommand(item.command, { utf8: false });
          assert.ok(parsed.ok && parsed.command.name === 'APPEND');
          assert.deepEqual(parsed.command.messages[0]?.data, { kind: 'streamed', ordinal: 0, size });
        }
      }
      maxBuffered = Math.max(maxBuffered, reader.bufferedBytes);
    };
    reader.push(bytes(`A003 APPEND INBOX (\\Seen) {${size}}\r\n`));
    pull(null);
    // The last piece of the literal shares its chunk with the CRLF that ends the command.
    for (let sent_ = 0; sent_ < size; sent_ += chunk.length) {
      const piece = sent_ + chunk.length >= size ? Buffer.concat([chunk.subarray(0, size - sent_), bytes('\r\n')]) : chunk;
      sent.update(piece.subarray(0, Math.min(piece.length, size - sent_)));
      reader.push(piece);
      pull(piece);
    }
    assert.equal(received, size);
    assert.equal(got.digest('hex'), sent.digest('hex'));
    assert.equal(copies, 0, 'literal data is handed out as slices of the pushed buffers');
    assert.ok(maxChunk <= chunk.length);
    assert.ok(maxBuffered < 1024, `the reader held ${maxBuffered} bytes`);
  });
});
