import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ensureTlsMaterial } from '../src/config/tls.ts';
import { InvalidInputError } from '../src/lib/errors.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'tegu-tls-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));

test('generates a self-signed certificate once, then reuses it', async () => {
  const first = await ensureTlsMaterial({ dataDir, hostname: 'mail.example.test' });
  assert.equal(first.generated, true);
  assert.equal(first.certPath, join(dataDir, 'tls', 'cert.pem'));
  assert.equal(first.keyPath, join(dataDir, 'tls', 'key.pem'));
  if (process.platform !== 'win32') assert.equal(statSync(first.keyPath).mode & 0o777, 0o600);

  const x509 = new X509Certificate(first.cert);
  assert.match(x509.subjectAltName ?? '', /DNS:mail\.example\.test/);
  assert.match(x509.subjectAltName ?? '', /DNS:localhost/);
  assert.match(x509.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
  assert.match(x509.subject, /CN=mail\.example\.test/);
  const years = (Date.parse(x509.validTo) - Date.now()) / (365.25 * 24 * 3600 * 1000);
  assert.ok(years > 9.9 && years < 10.1, `valid for ${years} years`);

  const second = await ensureTlsMaterial({ dataDir, hostname: 'other.example.test' });
  assert.equal(second.generated, false);
  assert.equal(second.cert, first.cert);
  assert.equal(second.key, first.key);
});

test('explicit files are read and checked', async () => {
  const made = await ensureTlsMaterial({ dataDir, hostname: 'mail.example.test' });
  const got = await ensureTlsMaterial({ dataDir: '/nonexistent', certFile: made.certPath, keyFile: made.keyPath, hostname: 'x' });
  assert.equal(got.generated, false);
  assert.equal(got.cert, made.cert);

  const other = await ensureTlsMaterial({ dataDir: join(dataDir, 'other'), hostname: 'b.example.test' });
  await assert.rejects(
    ensureTlsMaterial({ dataDir, certFile: made.certPath, keyFile: other.keyPath, hostname: 'x' }),
    (e: unknown) => e instanceof InvalidInputError && /does not belong/.test(e.message),
  );
  const junk = join(dataDir, 'junk.pem');
  writeFileSync(junk, 'not a pem');
  await assert.rejects(ensureTlsMaterial({ dataDir, certFile: junk, keyFile: made.keyPath, hostname: 'x' }), /not a PEM certificate/);
});

test('only one of certificate and key is an error', async () => {
  await assert.rejects(
    ensureTlsMaterial({ dataDir, certFile: join(dataDir, 'tls', 'cert.pem'), hostname: 'x' }),
    (e: unknown) => e instanceof InvalidInputError && /must be given together/.test(e.message),
  );
  await assert.rejects(ensureTlsMaterial({ dataDir, keyFile: '/k.pem', hostname: 'x' }), InvalidInputError);
});

test('unreadable files give a clear error', async () => {
  await assert.rejects(
    ensureTlsMaterial({ dataDir, certFile: join(dataDir, 'missing.pem'), keyFile: join(dataDir, 'missing.key'), hostname: 'x' }),
    (e: unknown) => e instanceof InvalidInputError && /cannot read TLS certificate .*missing\.pem: ENOENT/.test(e.message),
  );
});
