import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CommandReader, ParseError, parseCommand, type ParseOptions, type ReaderLimits } from '../src/protocols/imap/parser/index.ts';
import { mulberry32 } from './helpers/prng.ts';

/**
 * Fuzz: 100,000 random or mutated inputs through the reader (cut into random
 * chunks, literals accepted or rejected at random, raw lines asked for now
 * and then) and the parser. Nothing may throw (parse failures are results,
 * not exceptions), the reader's memory stays within its limits, every error
 * is a one-line printable reply, and no input takes long.
 */

const CORPUS = [
  'a1 CAPABILITY',
  'a2 LOGIN {3}\r\njoe {6+}\r\nsecret',
  'a3 AUTHENTICATE PLAIN AGpvZQBzZWNyZXQ=',
  'a4 ENABLE UTF8=ACCEPT QRESYNC',
  'a5 SELECT "Entw&APw-rfe" (CONDSTORE QRESYNC (67890007 90060115194045000 41:211,214:541 (1:5 41:45)))',
  'a6 CREATE Sent (USE (\\Sent))',
  'a7 RENAME "a b" {3}\r\nc d',
  'a8 LIST (SUBSCRIBED RECURSIVEMATCH) "" ("INBOX" %/*) RETURN (CHILDREN STATUS (MESSAGES SIZE HIGHESTMODSEQ))',
  'a9 LSUB "#news." "comp.*"',
  'b1 STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE APPENDLIMIT MAILBOXID)',
  'b2 APPEND INBOX (\\Seen $x) " 7-Feb-1994 21:52:25 -0800" {11}\r\nHello there (\\Draft) ~{3}\r\na\x00b UTF8 (~{2}\r\nhi)',
  'b3 UID SEARCH RETURN (MIN MAX COUNT SAVE) CHARSET UTF-8 OR (FROM "x" SINCE 1-Feb-2024) NOT (UID 1:* $ MODSEQ "/flags/\\\\Seen" all 5) HEADER X-A {2}\r\nyz',
  'b4 SEARCH OLDER 60 YOUNGER 5 EMAILID M1 THREADID T2 LARGER 10 SMALLER 20 KEYWORD $J 1,2:* SUBJECT {3+}\r\nabc',
  'b5 FETCH 1:*,$ (FLAGS BODY.PEEK[1.2.HEADER.FIELDS (From To)]<0.100> BINARY[1]<5.6> BINARY.SIZE[2] RFC822.SIZE MODSEQ) (CHANGEDSINCE 5)',
  'b6 UID FETCH 1:5 FULL (CHANGEDSINCE 1 VANISHED)',
  'b7 UID STORE 1:3 (UNCHANGEDSINCE 9) +FLAGS.SILENT (\\Deleted \\Seen)',
  'b8 UID MOVE 4:7 Trash',
  'b9 UID EXPUNGE 3000:3002',
  'c1 ID ("name" "x" "version" NIL)',
  'c2 IDLE',
  'c3 COPY 2:4 "foo&-bar"',
];

const SPECIAL = ['(', ')', '{', '}', '[', ']', '<', '>', '"', '\\', ' ', '*', '%', '$', ':', ',', '.', '+', '-', '~', '&', '\r\n', '\n', '\r', '\x00', '\xff', '\xc3', 'NIL', 'UID ', 'BODY[', '{5}\r\n', '{0+}\r\n', '~{2}\r\n'];

const OPTION_SETS: ParseOptions[] = [{ utf8: false }, { utf8: true }];
const LIMIT_SETS: Partial<ReaderLimits>[] = [
  {},
  { maxLineBytes: 64, maxCommandBytes: 256, maxStringLiteral: 32, maxMessageLiteral: 64, maxDiscardBytes: 128, maxLiterals: 4 },
  { nonSyncLiterals: 'LITERAL+', maxStringLiteral: 8, maxMessageLiteral: 16, maxDiscardBytes: 1000 },
];

function mutate(rand: () => number, base: Buffer): Buffer {
  const int = (n: number) => Math.floor(rand() * n);
  const latin1 = (text: string) => Buffer.from(text, 'latin1');
  let out = base;
  for (let i = 0, n = 1 + int(6); i < n; i++) {
    const at = int(out.length + 1);
    let remove = 0;
    let insert: Buffer;
    switch (int(7)) {
      case 0:
        remove = 1 + int(8);
        insert = latin1('');
        break;
      case 1:
        insert = latin1(SPECIAL[int(SPECIAL.length)]!);
        break;
      case 2:
        remove = 1;
        insert = Buffer.from([int(256)]);
        break;
      case 3:
        insert = latin1(String(int(2) ? 10 ** int(25) : 'A'.repeat(int(300))));
        break;
      case 4:
        insert = latin1(`{${int(3) ? int(12) : 10 ** int(22)}${int(2) ? '+' : ''}}\r\n`);
        break;
      case 5: {
        const other = latin1(CORPUS[int(CORPUS.length)]!);
        const from = int(other.length);
        insert = other.subarray(from, from + int(40));
        break;
      }
      default:
        insert = latin1(int(2) ? '('.repeat(int(200)) : 'NOT '.repeat(int(200)));
    }
    out = Buffer.concat([out.subarray(0, at), insert, out.subarray(Math.min(out.length, at + remove))]);
  }
  return out;
}

function input(rand: () => number): Buffer {
  const int = (n: number) => Math.floor(rand() * n);
  const kind = int(4);
  if (kind === 0) return Buffer.from(Array.from({ length: int(200) }, () => int(256)));
  const parts: Buffer[] = [];
  for (let i = 0, n = 1 + int(3); i < n; i++) {
    const base = Buffer.from(`${CORPUS[int(CORPUS.length)]!}\r\n`, 'latin1');
    parts.push(kind === 1 ? base : mutate(rand, base));
  }
  return Buffer.concat(parts);
}

function checkError(e: ParseError): void {
  assert.ok(e instanceof ParseError);
  assert.match(e.reason, /^[\x20-\x7e]+$/);
  if (e.tag !== null) assert.match(e.tag, /^[\x21-\x7e]+$/);
}

test('fuzz: 100,000 random and mutated inputs: no exception, bounded memory, bounded time', { timeout: 60_000 }, () => {
  const rand = mulberry32(0x1a9a7);
  const int = (n: number) => Math.floor(rand() * n);
  const started = performance.now();
  let slowest = 0;
  let commands = 0;
  let parsed = 0;
  for (let round = 0; round < 100_000; round++) {
    const wire = input(rand);
    const opts = OPTION_SETS[int(OPTION_SETS.length)]!;
    const reader = new CommandReader(LIMIT_SETS[int(LIMIT_SETS.length)]!);
    const bound = reader.limits.maxCommandBytes + reader.limits.maxLineBytes;
    const t0 = performance.now();
    let at = 0;
    while (at < wire.length) {
      const next = Math.min(wire.length, at + 1 + int(int(2) ? 8 : 400));
      reader.push(wire.subarray(at, next));
      at = next;
      for (let item = reader.next(); item; item = reader.next()) {
        assert.ok(reader.bufferedBytes <= bound, `buffered ${reader.bufferedBytes} > ${bound}`);
        if (item.kind === 'literal') {
          if (int(8) === 0) reader.reject();
          else reader.accept();
        } else if (item.kind === 'error') {
          checkError(item.error);
        } else if (item.kind === 'command') {
          commands++;
          const result = parseCommand(item.command, opts);
          if (result.ok) {
            parsed++;
            JSON.stringify(result.command, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
          } else {
            checkError(result.error);
          }
          if (int(10) === 0) reader.expectLine();
        }
      }
    }
    slowest = Math.max(slowest, performance.now() - t0);
  }
  const total = performance.now() - started;
  assert.ok(commands > 100_000, `only ${commands} commands`);
  assert.ok(parsed > 10_000, `only ${parsed} commands parsed`);
  assert.ok(slowest < 1_000, `slowest input took ${slowest.toFixed(0)} ms`);
  assert.ok(total < 30_000, `fuzzing took ${total.toFixed(0)} ms`);
});
