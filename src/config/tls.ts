/**
 * TLS key material for all listeners. An operator normally gives a
 * certificate and key (`--tls-cert`, `--tls-key`). Without them the server
 * still starts with TLS available, so STARTTLS and implicit-TLS ports work
 * on a first run and passwords never need to travel in the clear
 * (RFC 8314): a self-signed certificate is generated once into
 * `<dataDir>/tls/` and reused on every later start, so clients that were
 * told to trust it keep trusting it.
 */
import { X509Certificate, createPrivateKey, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { InvalidInputError } from '../lib/errors.ts';

export interface TlsMaterial {
  /** PEM certificate (chain). */
  cert: string;
  /** PEM private key. */
  key: string;
  /** True when this call created a new self-signed certificate. */
  generated: boolean;
  certPath: string;
  keyPath: string;
}

export interface TlsOptions {
  dataDir: string;
  certFile?: string;
  keyFile?: string;
  /** Name to put in the generated certificate (CN and subjectAltName). */
  hostname: string;
}

const VALIDITY_YEARS = 10;

async function readPem(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new InvalidInputError(`cannot read TLS ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/**
 * Fails early, at start, with a clear message, instead of on the first
 * STARTTLS with an OpenSSL error nobody can map back to a file.
 */
function checkPair(cert: string, key: string, certPath: string, keyPath: string): void {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (e) {
    throw new InvalidInputError(`TLS certificate ${certPath} is not a PEM certificate: ${(e as Error).message}`);
  }
  let pk;
  try {
    pk = createPrivateKey(key);
  } catch (e) {
    throw new InvalidInputError(`TLS key ${keyPath} is not a PEM private key (encrypted keys are not supported): ${(e as Error).message}`);
  }
  if (!x509.checkPrivateKey(pk)) {
    throw new InvalidInputError(`TLS key ${keyPath} does not belong to the certificate ${certPath}`);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await readFile(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes via a temporary file and rename, so a crash never leaves a
 * half-written PEM that would stop the next start.
 */
async function writeAtomic(path: string, data: string, mode: number): Promise<void> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    // 'wx': a fresh file, so `mode` applies; chmod again in case of umask surprises.
    await writeFile(tmp, data, { mode, flag: 'wx' });
    await chmod(tmp, mode);
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}

async function generateSelfSigned(hostname: string): Promise<{ cert: string; key: string }> {
  const names = [...new Set([hostname, 'localhost'].filter((n) => n !== ''))];
  const altNames: { type: 2 | 7; value?: string; ip?: string }[] = names.map((n) =>
    isIP(n) !== 0 ? { type: 7, ip: n } : { type: 2, value: n },
  );
  for (const ip of ['127.0.0.1', '::1']) {
    if (!names.includes(ip)) altNames.push({ type: 7, ip });
  }
  const notBeforeDate = new Date();
  const notAfterDate = new Date(notBeforeDate);
  notAfterDate.setFullYear(notAfterDate.getFullYear() + VALIDITY_YEARS);
  // ECDSA P-256 with SHA-256: generated in milliseconds and supported by
  // every TLS 1.2+ client (RFC 8422); selfsigned's default would be SHA-1.
  const pems = await generate([{ name: 'commonName', value: names[0] ?? 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      // Clients check the subjectAltName, not the CN (RFC 6125 section 6.4.4).
      { name: 'subjectAltName', altNames },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

export async function ensureTlsMaterial(opts: TlsOptions): Promise<TlsMaterial> {
  const { certFile, keyFile } = opts;
  if (certFile !== undefined || keyFile !== undefined) {
    if (certFile === undefined || keyFile === undefined) {
      throw new InvalidInputError(`TLS certificate and key must be given together (got only the ${certFile === undefined ? 'key' : 'certificate'})`);
    }
    const cert = await readPem(certFile, 'certificate');
    const key = await readPem(keyFile, 'key');
    checkPair(cert, key, certFile, keyFile);
    return { cert, key, generated: false, certPath: certFile, keyPath: keyFile };
  }

  const dir = join(opts.dataDir, 'tls');
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  if ((await exists(certPath)) && (await exists(keyPath))) {
    const cert = await readPem(certPath, 'certificate');
    const key = await readPem(keyPath, 'key');
    checkPair(cert, key, certPath, keyPath);
    return { cert, key, generated: false, certPath, keyPath };
  }

  // Neither or only one file (a crash between the two writes): start over.
  const { cert, key } = await generateSelfSigned(opts.hostname);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeAtomic(keyPath, key, 0o600);
  await writeAtomic(certPath, cert, 0o644);
  return { cert, key, generated: true, certPath, keyPath };
}
