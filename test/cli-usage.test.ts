// `tegu` usage: help, and the errors found before any database is opened
// (exit code 2, one line on stderr, never a stack trace).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { oneErrorLine, runTegu } from './helpers/cli.ts';

const T = { timeout: 120_000 };

describe('tegu --help', () => {
  test('lists every command and the bootstrap options, exit 0', T, async () => {
    const r = await runTegu(['--help']);
    assert.equal(r.code, 0, r.stderr);
    for (const word of ['serve', 'domain', 'user', 'alias', 'group', 'settings', 'migrate', 'status']) {
      assert.match(r.stdout, new RegExp(`^  ${word}\\b`, 'm'), `${word} missing from:\n${r.stdout}`);
    }
    for (const opt of ['--database URL', '--data DIR', '--listen-imap', '--tls-cert', '--json', 'TEGU_DATABASE_URL']) {
      assert.ok(r.stdout.includes(opt), `${opt} missing`);
    }
    assert.equal(r.stderr, '');
  });

  test('a group and a command have their own help, -h works too', T, async () => {
    const g = await runTegu(['user', '--help']);
    assert.equal(g.code, 0);
    assert.match(g.stdout, /Usage: tegu user COMMAND/);
    assert.match(g.stdout, /passwd ADDRESS/);
    const c = await runTegu(['user', 'add', '-h', '--data', '/nonexistent/never-created']);
    assert.equal(c.code, 0);
    assert.match(c.stdout, /Usage: tegu user add ADDRESS \[--name DISPLAY\] \[--password-stdin\]/);
    assert.match(c.stdout, /first line of standard input/);
  });
});

describe('bad usage exits 2 with one line on stderr', { concurrency: 4 }, () => {
  const cases: [string, string[], RegExp][] = [
    ['unknown command', ['frobnicate'], /unknown command "frobnicate"/],
    ['unknown option', ['user', 'list', '--bogus'], /unknown option --bogus for "tegu user list"/],
    ['missing subcommand', ['domain'], /missing command after "domain": one of add, list, rm/],
    ['missing argument', ['alias', 'add', 'x@example.test'], /missing TARGET/],
    ['extra argument', ['domain', 'rm', 'a.test', 'b.test'], /unexpected argument "b.test"/],
    ['option without value', ['user', 'list', '--domain'], /--domain needs a value/],
    ['invalid bootstrap value', ['status', '--log-level', 'loud'], /logLevel from flag --log-level: "loud"/],
    ['invalid address', ['user', 'add', 'not an address', '--data', '/nonexistent/x'], /invalid address/],
    ['invalid setting value', ['settings', 'set', 'smtp.maxRecipients', '5', '--data', '/nonexistent/x'], /below the minimum 100/],
    ['unknown setting', ['settings', 'get', 'no.such', '--data', '/nonexistent/x'], /unknown setting no\.such/],
  ];
  for (const [name, args, re] of cases) {
    test(name, T, async () => {
      const r = await runTegu(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(oneErrorLine(r.stderr), re);
      assert.equal(r.stdout, '');
    });
  }
});
