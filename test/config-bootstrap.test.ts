import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { BOOTSTRAP_FIELDS, loadBootstrapConfig, parseListenAddress } from '../src/config/bootstrap.ts';
import { InvalidInputError } from '../src/lib/errors.ts';

const root = mkdtempSync(join(tmpdir(), 'tegu-bootstrap-'));
after(() => rmSync(root, { recursive: true, force: true }));

function writeConfig(name: string, data: unknown): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const p = join(dir, 'tegu.json');
  writeFileSync(p, typeof data === 'string' ? data : JSON.stringify(data));
  return p;
}

test('defaults', () => {
  const c = loadBootstrapConfig({ flags: {}, env: {}, cwd: '/srv' });
  assert.deepEqual(c, {
    databaseUrl: undefined,
    dataDir: '/srv/tegu-data',
    nodeName: hostname(),
    logLevel: 'info',
    listen: { http: ['127.0.0.1:8025'], smtp: [], submission: [], submissions: [], imap: [], imaps: [], pop3: [], lmtp: [], managesieve: [] },
    tls: {},
    messageCacheMb: 64,
  });
});

test('the message cache size: a whole number of MiB from a flag, the environment or the file; 0 turns it off', () => {
  assert.equal(loadBootstrapConfig({ flags: { 'message-cache-mb': '0' }, env: {}, cwd: '/srv' }).messageCacheMb, 0);
  assert.equal(loadBootstrapConfig({ flags: {}, env: { TEGU_MESSAGE_CACHE_MB: ' 512 ' }, cwd: '/srv' }).messageCacheMb, 512);
  const file = writeConfig('cache', { messageCacheMb: 256 });
  assert.equal(loadBootstrapConfig({ flags: { config: file }, env: {}, cwd: '/srv' }).messageCacheMb, 256);
  for (const bad of ['-1', '1.5', '64MB', '70000']) {
    assert.throws(() => loadBootstrapConfig({ flags: { 'message-cache-mb': bad }, env: {}, cwd: '/srv' }), /messageCacheMb .*whole number of MiB/);
  }
});

test('precedence: flags > env > file > defaults, field by field', () => {
  const file = writeConfig('prec', {
    databaseUrl: 'postgres://file/db',
    nodeName: 'from-file',
    logLevel: 'debug',
    dataDir: 'data',
    listen: { imap: ['0.0.0.0:143'], smtp: ['0.0.0.0:25'] },
  });
  const c = loadBootstrapConfig({
    flags: { 'node-name': 'from-flag', 'listen-smtp': '127.0.0.1:2525, [::1]:2525' },
    env: { TEGU_CONFIG: file, TEGU_NODE_NAME: 'from-env', TEGU_LOG_LEVEL: 'warn', TEGU_LISTEN_HTTP: '' },
    cwd: '/elsewhere',
  });
  assert.equal(c.nodeName, 'from-flag');
  assert.equal(c.logLevel, 'warn');
  assert.equal(c.databaseUrl, 'postgres://file/db');
  assert.deepEqual(c.listen.smtp, ['127.0.0.1:2525', '[::1]:2525']);
  assert.deepEqual(c.listen.imap, ['0.0.0.0:143']);
  // An empty list from the environment disables the default HTTP listener.
  assert.deepEqual(c.listen.http, []);
  // Relative paths in the file are relative to the file's directory.
  assert.equal(c.dataDir, join(root, 'prec', 'data'));
});

test('flag and env paths resolve against cwd; flag config beats env config', () => {
  const fileA = writeConfig('a', { nodeName: 'a' });
  const fileB = writeConfig('b', { nodeName: 'b' });
  const c = loadBootstrapConfig({
    flags: { config: fileA, 'tls-cert': 'c.pem' },
    env: { TEGU_CONFIG: fileB, TEGU_DATA_DIR: 'd', TEGU_TLS_KEY: '/k.pem' },
    cwd: '/srv',
  });
  assert.equal(c.nodeName, 'a');
  assert.equal(c.dataDir, '/srv/d');
  assert.deepEqual(c.tls, { certFile: '/srv/c.pem', keyFile: '/k.pem' });
});

test('file tls paths are relative to the file', () => {
  const file = writeConfig('tls', { tls: { certFile: 'x/cert.pem', keyFile: '/abs/key.pem' } });
  const c = loadBootstrapConfig({ flags: { config: file }, env: {}, cwd: '/' });
  assert.deepEqual(c.tls, { certFile: join(root, 'tls', 'x/cert.pem'), keyFile: '/abs/key.pem' });
});

test('unknown keys in the file are rejected, top level and nested', () => {
  const f1 = writeConfig('unk1', { nodename: 'x' });
  assert.throws(() => loadBootstrapConfig({ flags: { config: f1 }, env: {}, cwd: '/' }), (e: unknown) =>
    e instanceof InvalidInputError && /unknown key "nodename"/.test(e.message) && e.message.includes(f1));
  const f2 = writeConfig('unk2', { listen: { imsp: ['0.0.0.0:143'] } });
  assert.throws(() => loadBootstrapConfig({ flags: { config: f2 }, env: {}, cwd: '/' }), /unknown key "listen.imsp"/);
});

test('missing or malformed config file', () => {
  assert.throws(() => loadBootstrapConfig({ flags: {}, env: { TEGU_CONFIG: join(root, 'nope.json') }, cwd: '/' }),
    (e: unknown) => e instanceof InvalidInputError && /cannot read config file .*TEGU_CONFIG.*ENOENT/.test(e.message));
  const f = writeConfig('bad', '{ "nodeName": ');
  assert.throws(() => loadBootstrapConfig({ flags: { config: f }, env: {}, cwd: '/' }), /invalid JSON/);
  const g = writeConfig('arr', [1]);
  assert.throws(() => loadBootstrapConfig({ flags: { config: g }, env: {}, cwd: '/' }), /JSON object/);
});

test('bad listen addresses name the field and the source', () => {
  assert.throws(() => loadBootstrapConfig({ flags: { 'listen-imap': '0.0.0.0:70000' }, env: {}, cwd: '/' }),
    (e: unknown) => e instanceof InvalidInputError && /listen\.imap from flag --listen-imap: .*port must be 1\.\.65535/.test(e.message));
  assert.throws(() => loadBootstrapConfig({ flags: {}, env: { TEGU_LISTEN_SMTP: 'localhost' }, cwd: '/' }),
    /listen\.smtp from environment TEGU_LISTEN_SMTP: .*not host:port/);
  const f = writeConfig('badlisten', { listen: { pop3: '0.0.0.0:110' } });
  assert.throws(() => loadBootstrapConfig({ flags: { config: f }, env: {}, cwd: '/' }), /listen\.pop3 from config file .*array/);
});

test('bad database URL is rejected without echoing its password', () => {
  assert.throws(() => loadBootstrapConfig({ flags: { database: 'mysql://u:topsecret@h/db' }, env: {}, cwd: '/' }),
    (e: unknown) => e instanceof InvalidInputError && /databaseUrl from flag --database/.test(e.message) &&
      /postgres:\/\//.test(e.message) && !e.message.includes('topsecret'));
  assert.throws(() => loadBootstrapConfig({ flags: {}, env: { TEGU_DATABASE_URL: 'db.example' }, cwd: '/' }), /not a URL/);
  const ok = loadBootstrapConfig({ flags: {}, env: { TEGU_DATABASE_URL: 'postgresql://u:p@db:5432/tegu' }, cwd: '/' });
  assert.equal(ok.databaseUrl, 'postgresql://u:p@db:5432/tegu');
});

test('bad log level, node name, and lone TLS file', () => {
  assert.throws(() => loadBootstrapConfig({ flags: { 'log-level': 'verbose' }, env: {}, cwd: '/' }), /logLevel from flag --log-level: "verbose" is not one of/);
  assert.equal(loadBootstrapConfig({ flags: { 'log-level': 'DEBUG' }, env: {}, cwd: '/' }).logLevel, 'debug');
  assert.throws(() => loadBootstrapConfig({ flags: { 'node-name': 'two words' }, env: {}, cwd: '/' }), /nodeName/);
  assert.throws(() => loadBootstrapConfig({ flags: { 'tls-cert': '/c.pem' }, env: {}, cwd: '/' }), /must be given together/);
});

test('empty env strings count as unset for scalar fields', () => {
  const c = loadBootstrapConfig({ flags: {}, env: { TEGU_NODE_NAME: '', TEGU_DATABASE_URL: '' }, cwd: '/' });
  assert.equal(c.nodeName, hostname());
  assert.equal(c.databaseUrl, undefined);
});

test('parseListenAddress', () => {
  assert.deepEqual(parseListenAddress('[::1]:25'), { host: '::1', port: 25 });
  assert.deepEqual(parseListenAddress('[2001:db8::1]:993'), { host: '2001:db8::1', port: 993 });
  assert.deepEqual(parseListenAddress('0.0.0.0:143'), { host: '0.0.0.0', port: 143 });
  assert.deepEqual(parseListenAddress('mail.example.com:587'), { host: 'mail.example.com', port: 587 });
  for (const bad of ['::1:25', '[::1]', '[nothost]:25', 'host:0', 'host:65536', ':25', 'host:', 'ho st:25', 'h:2x']) {
    assert.throws(() => parseListenAddress(bad), InvalidInputError, bad);
  }
});

test('BOOTSTRAP_FIELDS covers every flag with an env var and a description', () => {
  const flags = BOOTSTRAP_FIELDS.map((f) => f.flag);
  for (const f of ['database', 'data', 'node-name', 'log-level', 'config', 'listen-http', 'listen-managesieve', 'tls-cert', 'tls-key']) {
    assert.ok(flags.includes(f), f);
  }
  for (const f of BOOTSTRAP_FIELDS) {
    assert.match(f.env, /^TEGU_[A-Z_0-9]+$/);
    assert.ok(f.description.length > 10);
  }
});
