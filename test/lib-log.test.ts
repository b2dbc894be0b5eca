import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createLogger, newSessionId, redactUrl, sessionLogger } from '../src/lib/log.ts';

/** A logger writing into memory; pino writes synchronously to a plain stream. */
function capture(level = 'info'): { log: ReturnType<typeof createLogger>; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString('utf8'));
      cb();
    },
  });
  const log = createLogger({ level, destination: stream });
  return {
    log,
    lines: () =>
      chunks.join('').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

test('log lines are JSON with level name, time and message', () => {
  const { log, lines } = capture();
  log.info({ n: 1 }, 'hello');
  log.debug('hidden below level');
  const out = lines();
  assert.equal(out.length, 1);
  assert.equal(out[0]?.['msg'], 'hello');
  assert.equal(out[0]?.['level'], 'info');
  assert.equal(out[0]?.['n'], 1);
  assert.match(String(out[0]?.['time']), /^\d{4}-\d\d-\d\dT/);
});

test('session lines carry sid, proto and remote', () => {
  const { log, lines } = capture();
  const s1 = sessionLogger(log, { proto: 'imap', remote: '192.0.2.1:4000' });
  const s2 = sessionLogger(log, { proto: 'smtp' });
  s1.info('a');
  s1.info('b');
  s2.info('c');
  const [a, b, c] = lines();
  assert.equal(typeof a?.['sid'], 'string');
  assert.equal(a?.['sid'], b?.['sid']);
  assert.notEqual(a?.['sid'], c?.['sid']);
  assert.equal(a?.['proto'], 'imap');
  assert.equal(a?.['remote'], '192.0.2.1:4000');
  assert.equal(c?.['proto'], 'smtp');
  assert.equal('remote' in (c ?? {}), false);
});

test('secrets are redacted', () => {
  const { log, lines } = capture();
  log.info({ password: 'hunter2', user: { secret: 's3' }, authorization: 'Basic eA==' }, 'login');
  log.info({ databaseUrl: 'postgres://tegu:pw123@db:5432/tegu' }, 'db');
  const text = JSON.stringify(lines());
  assert.doesNotMatch(text, /hunter2|s3"|eA==|pw123/);
  const [first, second] = lines();
  assert.equal(first?.['password'], '[REDACTED]');
  assert.equal(second?.['databaseUrl'], 'postgres://tegu:***@db:5432/tegu');
});

test('redactUrl hides userinfo and query passwords only', () => {
  assert.equal(redactUrl('postgres://tegu:s3cr%40t@db.example:5432/mail'), 'postgres://tegu:***@db.example:5432/mail');
  assert.equal(redactUrl('postgresql://u:p@ss@h/db'), 'postgresql://u:***@h/db');
  assert.equal(redactUrl('postgres://h/db?user=u&password=x&sslmode=require'), 'postgres://h/db?user=u&password=***&sslmode=require');
  assert.equal(redactUrl('postgres://user@h/db'), 'postgres://user@h/db');
  assert.equal(redactUrl('not a url'), 'not a url');
});

test('newSessionId: 12 base32 characters, distinct', () => {
  const ids = new Set(Array.from({ length: 1000 }, () => newSessionId()));
  assert.equal(ids.size, 1000);
  for (const id of ids) assert.match(id, /^[a-z2-7]{12}$/);
});
