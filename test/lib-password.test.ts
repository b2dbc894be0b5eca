import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { hashPassword, verifyPassword } from '../src/lib/password.ts';

/** Cheap parameters (N=2^10) so the suite stays fast; the default is checked once. */
const FAST = { ln: 10, r: 8, p: 1 } as const;
const b64 = (b: Buffer): string => b.toString('base64').replace(/=+$/, '');
/** PHC string with random salt/hash of the right sizes: well-formed, never matches. */
const phc = (params: string, salt = b64(randomBytes(16)), hash = b64(randomBytes(32))): string =>
  `$scrypt$${params}$${salt}$${hash}`;

describe('hashPassword', () => {
  test('default parameters: PHC string $scrypt$ln=15,r=8,p=1$<salt>$<hash> (OWASP scrypt minimum)', async () => {
    const h = await hashPassword('correct horse battery staple');
    // 16-byte salt = 22 and 32-byte key = 43 unpadded base64 characters (PHC string format)
    assert.match(h, /^\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    assert.equal(await verifyPassword('correct horse battery staple', h), true);
    assert.equal(await verifyPassword('correct horse battery stapl', h), false);
  });

  test('explicit parameters are written into the PHC string', async () => {
    const h = await hashPassword('pw', FAST);
    assert.match(h, /^\$scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    const h2 = await hashPassword('pw', { ln: 11, r: 4, p: 2 });
    assert.match(h2, /^\$scrypt\$ln=11,r=4,p=2\$/);
    assert.equal(await verifyPassword('pw', h2), true, 'verify reads the parameters from the stored string');
  });

  test('two hashes of the same password differ (random salt)', async () => {
    const [a, b] = await Promise.all([hashPassword('same', FAST), hashPassword('same', FAST)]);
    assert.notEqual(a, b);
    const salt = (h: string): string => h.split('$')[3] ?? '';
    const key = (h: string): string => h.split('$')[4] ?? '';
    assert.notEqual(salt(a), salt(b));
    assert.notEqual(key(a), key(b));
    assert.equal(await verifyPassword('same', a), true);
    assert.equal(await verifyPassword('same', b), true);
  });
});

describe('verifyPassword', () => {
  test('right password verifies, wrong password does not', async () => {
    const h = await hashPassword('s3cret!', FAST);
    assert.equal(await verifyPassword('s3cret!', h), true);
    assert.equal(await verifyPassword('s3cret', h), false);
    assert.equal(await verifyPassword('S3cret!', h), false, 'passwords are case-sensitive');
    assert.equal(await verifyPassword('s3cret! ', h), false, 'no trimming');
    assert.equal(await verifyPassword('', h), false);
  });

  test('empty, long and non-ASCII passwords round-trip', async () => {
    for (const pw of ['', 'x'.repeat(10_000), 'пароль', '密码🔑', 'tab\there', 'nul\u0000byte']) {
      const h = await hashPassword(pw, FAST);
      assert.equal(await verifyPassword(pw, h), true, JSON.stringify(pw.slice(0, 20)));
    }
    const h = await hashPassword('nul\u0000byte', FAST);
    assert.equal(await verifyPassword('nul', h), false, 'a NUL does not end the password');
  });

  test('NFC normalization: composed and decomposed é verify the same (RFC 8265 4.2 OpaqueString)', async () => {
    const composed = 'caf\u00e9';
    const decomposed = 'cafe\u0301';
    assert.notEqual(composed, decomposed);
    const h1 = await hashPassword(composed, FAST);
    assert.equal(await verifyPassword(decomposed, h1), true);
    const h2 = await hashPassword(decomposed, FAST);
    assert.equal(await verifyPassword(composed, h2), true);
    // Hangul: a precomposed syllable vs its conjoining jamo
    const h3 = await hashPassword('\uD55C', FAST);
    assert.equal(await verifyPassword('\u1112\u1161\u11AB', h3), true);
  });

  test('NFC is not NFKC: compatibility characters stay distinct', async () => {
    const h = await hashPassword('\uFB01', FAST); // LATIN SMALL LIGATURE FI
    assert.equal(await verifyPassword('fi', h), false);
    assert.equal(await verifyPassword('\uFB01', h), true);
  });

  test('a modified salt or key does not verify', async () => {
    const h = await hashPassword('pw', FAST);
    const parts = h.split('$'); // ['', 'scrypt', params, salt, key]
    const flip = (s: string): string => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
    assert.equal(await verifyPassword('pw', [...parts.slice(0, 3), flip(parts[3]!), parts[4]].join('$')), false);
    assert.equal(await verifyPassword('pw', [...parts.slice(0, 4), flip(parts[4]!)].join('$')), false);
    assert.equal(await verifyPassword('pw', h.replace('ln=10', 'ln=11')), false, 'other cost, other key');
  });

  test('malformed stored hashes return false without throwing', async () => {
    const good = await hashPassword('pw', FAST);
    const [, , , salt, key] = good.split('$') as [string, string, string, string, string];
    const cases: Record<string, string> = {
      'empty string': '',
      garbage: 'garbage',
      'binary garbage': randomBytes(64).toString('latin1'),
      'wrong prefix (argon2id)': `$argon2id$v=19$m=65536,t=3,p=4$${salt}$${key}`,
      'wrong prefix (bcrypt)': '$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW',
      'upper-case algorithm': good.replace('$scrypt$', '$SCRYPT$'),
      'no parameters': `$scrypt$$${salt}$${key}`,
      'parameters reordered': `$scrypt$r=8,ln=10,p=1$${salt}$${key}`,
      'missing key': `$scrypt$ln=10,r=8,p=1$${salt}`,
      'empty key': `$scrypt$ln=10,r=8,p=1$${salt}$`,
      'truncated key': good.slice(0, -4),
      'key too long': `${good}AAAA`,
      'empty salt': `$scrypt$ln=10,r=8,p=1$$${key}`,
      'padded base64 key': `${good}=`,
      'invalid base64 character': `$scrypt$ln=10,r=8,p=1$${salt}$${key.slice(0, -1)}!`,
      'extra field': `${good}$extra`,
      'leading whitespace': ` ${good}`,
      'trailing newline': `${good}\n`,
      'absurd ln=31': phc('ln=31,r=8,p=1'),
      'ln too small (9)': phc('ln=9,r=8,p=1'),
      'ln=0': phc('ln=0,r=8,p=1'),
      'ln with three digits': phc('ln=100,r=8,p=1'),
      'ln too large (21)': phc('ln=21,r=1,p=1'),
      'negative ln': phc('ln=-1,r=8,p=1'),
      'r=0': phc('ln=10,r=0,p=1'),
      'p=0': phc('ln=10,r=8,p=0'),
      // Well-formed, but scrypt itself refuses: N must be < 2^(128*r/8), so r=1 allows at most ln=15.
      'ln=16 with r=1 (scrypt refuses the parameters)': phc('ln=16,r=1,p=1'),
      'ln=20 with r=1 (scrypt refuses the parameters)': phc('ln=20,r=1,p=1'),
    };
    for (const [name, stored] of Object.entries(cases)) {
      let result: boolean | undefined;
      await assert.doesNotReject(async () => {
        result = await verifyPassword('pw', stored);
      }, `${name}: must not throw`);
      assert.equal(result, false, `${name}: must not match`);
    }
  });

  test('the reference hash still matches after the malformed ones (sanity)', async () => {
    const h = await hashPassword('pw', FAST);
    assert.equal(await verifyPassword('pw', h), true);
  });

  test('a hash written elsewhere with the same parameters verifies (known answer)', async () => {
    // scrypt("password", salt="NaCl", N=1024, r=8, p=16) from RFC 7914 12 (first 32 bytes of the 64-byte key)
    const salt = b64(Buffer.from('NaCl'));
    const key = b64(
      Buffer.from('fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640', 'hex').subarray(0, 32),
    );
    const stored = `$scrypt$ln=10,r=8,p=16$${salt}$${key}`;
    assert.equal(await verifyPassword('password', stored), true);
    assert.equal(await verifyPassword('Password', stored), false);
  });
});

test('a stored hash demanding absurd scrypt work is refused, not computed', async () => {
  const salt = Buffer.alloc(16, 1).toString('base64').replace(/=+$/, '');
  const key = Buffer.alloc(32, 2).toString('base64').replace(/=+$/, '');
  for (const params of ['ln=20,r=99,p=1', 'ln=15,r=8,p=99', 'ln=20,r=16,p=1']) {
    const started = Date.now();
    assert.equal(await verifyPassword('x', `$scrypt$${params}$${salt}$${key}`), false);
    assert.ok(Date.now() - started < 3000, `${params} returned at once`);
  }
});
