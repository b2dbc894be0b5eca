// Password input of `tegu user add|passwd`, in-process with a fake terminal
// (a pty needs tools CI may not have; the spawned CLI is covered by cli-admin).
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { InvalidInputError, TeguError } from '../src/lib/errors.ts';
import { readFirstLine, readNewPassword } from '../src/cli/password.ts';
import type { Io } from '../src/cli/types.ts';

class FakeTty extends PassThrough {
  isTTY = true;
  raw: boolean[] = [];
  setRawMode(on: boolean): this {
    this.raw.push(on);
    return this;
  }
}

function io(stdin: NodeJS.ReadableStream): { io: Io; err: () => string } {
  let err = '';
  const stderr = new PassThrough();
  stderr.on('data', (b: Buffer) => (err += b.toString()));
  return {
    io: { stdin: stdin as NodeJS.ReadStream, stdout: new PassThrough(), stderr, env: {}, cwd: '/' },
    err: () => err,
  };
}

/** Types `keys` once the prompt matching `prompt` was shown. */
async function typeAfter(out: () => string, prompt: RegExp, tty: FakeTty, keys: string): Promise<void> {
  while (!prompt.test(out())) await new Promise((r) => setTimeout(r, 5));
  tty.write(keys);
}

describe('password from a terminal', () => {
  test('asked twice, nothing echoed, raw mode restored; backspace and Ctrl-U edit', async () => {
    const tty = new FakeTty();
    const { io: i, err } = io(tty);
    const p = readNewPassword(i, 'a@example.test', false);
    await typeAfter(err, /Password for a@example\.test: $/, tty, 'xx\u0015secret-pass\u007fs\r');
    await typeAfter(err, /Repeat the password: $/, tty, 'secret-pass\r');
    assert.equal(await p, 'secret-pass');
    assert.equal(err(), 'Password for a@example.test: \nRepeat the password: \n');
    assert.deepEqual(tty.raw, [true, false, true, false]);
  });

  test('different answers are invalid input', async () => {
    const tty = new FakeTty();
    const { io: i, err } = io(tty);
    const p = readNewPassword(i, 'a@example.test', false);
    await typeAfter(err, /Password/, tty, 'one password\r');
    await typeAfter(err, /Repeat/, tty, 'another one\r');
    await assert.rejects(p, (e: unknown) => e instanceof InvalidInputError && /do not match/.test(e.message));
  });

  test('Ctrl-C cancels', async () => {
    const tty = new FakeTty();
    const { io: i, err } = io(tty);
    const p = readNewPassword(i, 'a@example.test', false);
    await typeAfter(err, /Password/, tty, 'abc\u0003');
    await assert.rejects(p, (e: unknown) => e instanceof TeguError && e.message === 'cancelled');
    assert.deepEqual(tty.raw, [true, false]);
  });

  test('--password-stdin reads a line even from a terminal, without prompting', async () => {
    const tty = new FakeTty();
    const { io: i, err } = io(tty);
    tty.end('piped secret\n');
    assert.equal(await readNewPassword(i, 'a@example.test', true), 'piped secret');
    assert.equal(err(), '');
  });
});

describe('password from standard input', () => {
  const lineOf = async (...chunks: string[]): Promise<string | undefined> => {
    const s = new PassThrough();
    for (const c of chunks) s.write(c);
    s.end();
    return readFirstLine(s);
  };

  test('the first line, without CR LF; the rest is ignored', async () => {
    assert.equal(await lineOf('pass', 'word\r\nsecond line\n'), 'password');
    assert.equal(await lineOf('no newline at all'), 'no newline at all');
    assert.equal(await lineOf('\n'), '');
    assert.equal(await lineOf('пароль-ü\n'), 'пароль-ü');
  });

  test('empty input is an error that says what to do', async () => {
    const s = new PassThrough();
    s.end();
    await assert.rejects(readNewPassword(io(s).io, 'a@example.test', false), /no password on standard input/);
  });
});
