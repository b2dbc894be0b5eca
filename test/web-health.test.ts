import assert from 'node:assert/strict';
import { request } from 'node:http';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { createLogger } from '../src/lib/log.ts';
import { startHealthServer, type HealthServer } from '../src/web/health.ts';

const logLines: string[] = [];
const log = createLogger({
  level: 'debug',
  destination: new Writable({ write(c: Buffer, _e, cb) { logLines.push(c.toString()); cb(); } }),
});

let readiness: () => Promise<boolean> = async () => true;
let server: HealthServer;

before(async () => {
  server = await startHealthServer({ listen: { host: '127.0.0.1', port: 0 }, ready: () => readiness(), log });
});
after(async () => {
  await server.close();
});

function call(method: string, path: string): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.address.port, method, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('binds an ephemeral port', () => {
  assert.ok(server.address.port > 0);
  assert.equal(server.address.host, '127.0.0.1');
});

test('/healthz is 200 ok', async () => {
  const r = await call('GET', '/healthz');
  assert.equal(r.status, 200);
  assert.equal(r.body, 'ok\n');
  assert.equal(r.headers['cache-control'], 'no-store');
  const h = await call('HEAD', '/healthz?x=1');
  assert.equal(h.status, 200);
  assert.equal(h.body, '');
});

test('/readyz follows ready()', async () => {
  readiness = async () => true;
  assert.deepEqual([(await call('GET', '/readyz')).status, (await call('GET', '/readyz')).body], [200, 'ready\n']);
  readiness = async () => false;
  assert.equal((await call('GET', '/readyz')).status, 503);
  readiness = async () => {
    throw new Error('database down');
  };
  assert.equal((await call('GET', '/readyz')).status, 503);
  assert.ok(logLines.some((l) => l.includes('database down')), 'the failure is logged');
  readiness = async () => true;
  assert.equal((await call('GET', '/readyz')).status, 200);
});

test('unknown path 404, other methods 405', async () => {
  assert.equal((await call('GET', '/')).status, 404);
  assert.equal((await call('GET', '/metrics')).status, 404);
  const r = await call('POST', '/healthz');
  assert.equal(r.status, 405);
  assert.equal(r.headers['allow'], 'GET, HEAD');
  assert.equal((await call('DELETE', '/readyz')).status, 405);
});

test('a port in use is a clear error', async () => {
  await assert.rejects(
    startHealthServer({ listen: { host: '127.0.0.1', port: server.address.port }, ready: async () => true, log }),
    /cannot listen for HTTP health checks on 127\.0\.0\.1:\d+: EADDRINUSE/,
  );
});
