/**
 * Password hashing with scrypt from node:crypto (no native addon), stored in
 * PHC string format: $scrypt$ln=15,r=8,p=1$<salt b64>$<hash b64>.
 * Parameters follow OWASP's scrypt recommendation (N=2^15... 2^17, r=8, p=1).
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const DEFAULT = { ln: 15, r: 8, p: 1 } as const;
const KEYLEN = 32;

function scryptAsync(password: string, salt: Buffer, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEYLEN, opts, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function options(ln: number, r: number, p: number): ScryptOptions {
  const N = 2 ** ln;
  return { N, r, p, maxmem: 128 * N * r * p + 1024 * 1024 };
}

export async function hashPassword(password: string, params: { ln: number; r: number; p: number } = DEFAULT): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scryptAsync(password.normalize('NFC'), salt, options(params.ln, params.r, params.p));
  const b64 = (b: Buffer): string => b.toString('base64').replace(/=+$/, '');
  return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${b64(salt)}$${b64(hash)}`;
}

const PHC = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

/** Constant-time check; a malformed stored hash never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const m = PHC.exec(stored);
  if (!m) return false;
  const [ln, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  // Bound the work a stored hash can demand (memory 128*N*r, CPU x p): at most 1 GiB, p <= 16.
  if (ln < 10 || ln > 20 || r < 1 || r > 32 || p < 1 || p > 16 || 128 * 2 ** ln * r > 2 ** 30) return false;
  const salt = Buffer.from(m[4] ?? '', 'base64');
  const expected = Buffer.from(m[5] ?? '', 'base64');
  if (expected.length !== KEYLEN) return false;
  let actual: Buffer;
  try {
    actual = await scryptAsync(password.normalize('NFC'), salt, options(ln, r, p));
  } catch {
    return false; // parameters scrypt refuses, e.g. ln=16,r=1 (N must be < 2^(16r))
  }
  return timingSafeEqual(actual, expected);
}
