import assert from 'node:assert/strict';
import { createHash, createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { describe, it } from 'node:test';
import { dkimVerify, type DKIMResult, type DNSResolver } from 'mailauth';
import {
  dkimPublicKey,
  dkimTxtRecord,
  generateDkimKey,
  splitTxtValue,
  type DkimAlgorithm,
  type DkimKeyPair,
} from '../src/mail/dkim-keys.ts';
import { DEFAULT_OVERSIGNED_FIELDS, signMessage, type DkimSigningKey } from '../src/mail/dkim-sign.ts';
import { fakeResolver, type FakeZone } from '../src/mail/dns.ts';

const DOMAIN = 'example.test';
const NOW = new Date('2026-11-29T08:00:00Z');

const rsaKey = generateDkimKey('rsa-sha256', 2048);
const edKey = generateDkimKey('ed25519-sha256');

function signingKey(selector: string, algorithm: DkimAlgorithm, pair: DkimKeyPair, domain = DOMAIN): DkimSigningKey {
  return { domain, selector, privateKeyPem: pair.privateKeyPem, algorithm };
}

/** The zone publishing the test keys, the records made by dkimTxtRecord (as a DNS server would split them). */
function zone(): FakeZone {
  const z: FakeZone = {};
  for (const [sel, alg, pair] of [
    ['rsa', 'rsa-sha256', rsaKey],
    ['ed', 'ed25519-sha256', edKey],
  ] as const) {
    const rec = dkimTxtRecord(sel, DOMAIN, alg, pair.publicKeyDer);
    z[rec.name] = { TXT: [rec.value] };
  }
  return z;
}

// mailauth declares string[][] | string[] but the fake's MX answers are objects (see src/mail/dns.ts).
const resolver = fakeResolver(zone()) as DNSResolver;

/** A message with the awkward parts: a folded Subject, trailing whitespace, tabs, empty lines at the end of the body. */
const MESSAGE = Buffer.from(
  [
    'From: Alice Example <alice@example.test>',
    'To: bob@example.org',
    'Subject: a folded subject line that goes on',
    '\tand on   over two lines   ',
    'Date: Sun, 29 Nov 2026 08:00:00 +0000',
    'Message-ID: <m1@example.test>',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'X-Unsigned: not in h=',
    '',
    'Hello Bob,   ',
    '',
    'a line with\ttabs\t and trailing space \t',
    '',
    '',
    '',
  ].join('\r\n'),
);

async function verify(message: Buffer | string): Promise<DKIMResult[]> {
  const r = await dkimVerify(message, { resolver, curTime: NOW });
  return r.results;
}

function statuses(results: DKIMResult[]): string[] {
  return results.map((r) => r.status.result);
}

/** The h= list of a DKIM-Signature field, lower case. */
function hTag(signature: string): string[] {
  const unfolded = signature.replace(/\r\n[ \t]/g, ' ');
  const m = /[;\s]h=([^;]+)/.exec(unfolded);
  assert.ok(m?.[1], `h= in ${unfolded}`);
  return m[1].split(':').map((n) => n.trim().toLowerCase());
}

/**
 * A verifier written from RFC 6376 for these tests (3.4.2 and 3.4.4 relaxed
 * canonicalization, 3.7 hashes, 5.4.2 field selection, RFC 8463 for
 * Ed25519), independent of mailauth, so that signer and verifier do not share
 * a bug. Checks the topmost DKIM-Signature against `pair`.
 */
function independentVerify(message: Buffer, algorithm: DkimAlgorithm, pair: DkimKeyPair): boolean {
  const text = message.toString('latin1');
  const sep = text.indexOf('\r\n\r\n');
  const fields = text
    .slice(0, sep + 2)
    .split(/\r\n(?![ \t])/)
    .filter((f) => f !== '')
    .map((raw) => ({ name: raw.slice(0, raw.indexOf(':')).trim().toLowerCase(), raw }));
  const relaxedField = (raw: string): string => {
    const colon = raw.indexOf(':');
    const value = raw.slice(colon + 1).replace(/\r\n/g, '').replace(/[ \t]+/g, ' ').trim();
    return `${raw.slice(0, colon).trim().toLowerCase()}:${value}`;
  };
  const sigField = fields.find((f) => f.name === 'dkim-signature');
  assert.ok(sigField);
  const tagList = new Map(
    sigField.raw
      .slice(sigField.raw.indexOf(':') + 1)
      .split(';')
      .map((t) => t.split('=').map((x) => x.replace(/\s+/g, '')) as [string, string])
      .map(([k, ...v]) => [k, v.join('=')] as [string, string]),
  );
  // Body (3.4.4): WSP runs to one SP, none at line ends, no empty lines at the end, CRLF after the last line.
  const lines = text
    .slice(sep + 4)
    .split('\r\n')
    .map((l) => l.replace(/[ \t]+/g, ' ').replace(/ $/, ''));
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const body = lines.length > 0 ? lines.join('\r\n') + '\r\n' : '';
  if (createHash('sha256').update(body, 'latin1').digest('base64') !== tagList.get('bh')) return false;
  // Header fields (5.4.2): for each name in h=, the bottom-most instance not yet used; none left: nothing.
  const unused = fields.filter((f) => f !== sigField);
  let data = '';
  for (const name of (tagList.get('h') ?? '').toLowerCase().split(':')) {
    const i = unused.map((f) => f.name).lastIndexOf(name);
    if (i < 0) continue;
    data += relaxedField(unused[i]!.raw) + '\r\n';
    unused.splice(i, 1);
  }
  data += relaxedField(sigField.raw).replace(/(;\s*b=)[^;]*/, '$1');
  const key =
    algorithm === 'rsa-sha256'
      ? createPublicKey({ key: pair.publicKeyDer, format: 'der', type: 'spki' })
      : createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: pair.publicKeyDer.toString('base64url') }, format: 'jwk' });
  const signature = Buffer.from(tagList.get('b') ?? '', 'base64');
  return algorithm === 'rsa-sha256'
    ? cryptoVerify('sha256', Buffer.from(data, 'latin1'), key, signature)
    : cryptoVerify(null, createHash('sha256').update(data, 'latin1').digest(), key, signature);
}

describe('DKIM signing (RFC 6376) verified by mailauth', () => {
  for (const [selector, algorithm, pair] of [
    ['rsa', 'rsa-sha256', rsaKey],
    ['ed', 'ed25519-sha256', edKey],
  ] as const) {
    it(`${algorithm}: c=relaxed/relaxed signature over a tricky message passes`, async () => {
      const sig = await signMessage(MESSAGE, [signingKey(selector, algorithm, pair)], { now: NOW });
      assert.match(sig, /^DKIM-Signature: /);
      assert.ok(sig.endsWith('\r\n'));
      assert.ok(!/(^|[^\r])\n/.test(sig), 'CRLF only');
      for (const line of sig.split('\r\n')) assert.ok(line.length <= 998);
      const unfolded = sig.replace(/\r\n[ \t]/g, ' ');
      assert.match(unfolded, new RegExp(`a=${algorithm}`));
      assert.match(unfolded, /c=relaxed\/relaxed/);
      assert.match(unfolded, /d=example\.test/);
      assert.match(unfolded, new RegExp(`s=${selector}`));
      assert.match(unfolded, new RegExp(`t=${NOW.getTime() / 1000}`));
      const signed = Buffer.concat([Buffer.from(sig), MESSAGE]);
      const results = await verify(signed);
      assert.deepEqual(statuses(results), ['pass'], JSON.stringify(results));
      assert.equal(results[0]?.signingDomain, DOMAIN);
    });

    it(`${algorithm}: a verifier written from the RFC (not mailauth) agrees, oversigned h= included`, async () => {
      const sig = await signMessage(MESSAGE, [signingKey(selector, algorithm, pair)], { now: NOW });
      assert.equal(independentVerify(Buffer.concat([Buffer.from(sig), MESSAGE]), algorithm, pair), true);
      const tampered = Buffer.from(MESSAGE.toString().replace('goes on', 'goes off'));
      assert.equal(independentVerify(Buffer.concat([Buffer.from(sig), tampered]), algorithm, pair), false);
      const addedFrom = Buffer.concat([Buffer.from(sig), Buffer.from('From: mallory@evil.test\r\n'), MESSAGE]);
      assert.equal(independentVerify(addedFrom, algorithm, pair), false);
      const other = generateDkimKey(algorithm, 1024);
      assert.equal(independentVerify(Buffer.concat([Buffer.from(sig), MESSAGE]), algorithm, other), false);
    });
  }

  it('signs with several keys at once (RSA and Ed25519), both pass', async () => {
    const sig = await signMessage(MESSAGE, [signingKey('rsa', 'rsa-sha256', rsaKey), signingKey('ed', 'ed25519-sha256', edKey)], {
      now: NOW,
    });
    assert.equal(sig.match(/^DKIM-Signature:/gm)?.length, 2);
    const results = await verify(Buffer.concat([Buffer.from(sig), MESSAGE]));
    assert.deepEqual(statuses(results), ['pass', 'pass']);
    // mailauth reports the a= tag as `algo` (not the declared `algorithm`).
    assert.deepEqual(results.map((r) => (r as DKIMResult & { algo?: string }).algo).sort(), ['ed25519-sha256', 'rsa-sha256']);
  });

  it('RFC 6376 3.7: the body changed after signing fails (body hash)', async () => {
    const sig = await signMessage(MESSAGE, [signingKey('rsa', 'rsa-sha256', rsaKey)], { now: NOW });
    const tampered = Buffer.from(MESSAGE.toString().replace('Hello Bob', 'Hello Eve'));
    const results = await verify(Buffer.concat([Buffer.from(sig), tampered]));
    // mailauth calls a body hash mismatch "neutral" (RFC 6376 6.1.3: PERMFAIL); either way, not a pass.
    assert.notEqual(results[0]?.status.result, 'pass');
    assert.match(String(results[0]?.status.comment), /body hash did not verify/);
  });

  it('relaxed body canonicalization: whitespace and trailing empty lines may change, the signature holds', async () => {
    const sig = await signMessage(MESSAGE, [signingKey('ed', 'ed25519-sha256', edKey)], { now: NOW });
    const respaced = Buffer.from(MESSAGE.toString().replace('Hello Bob,   ', 'Hello  Bob,').replace(/(\r\n)+$/, '\r\n'));
    assert.deepEqual(statuses(await verify(Buffer.concat([Buffer.from(sig), respaced]))), ['pass']);
  });

  it('a signed header field changed after signing fails; an unsigned one may change', async () => {
    const sig = await signMessage(MESSAGE, [signingKey('rsa', 'rsa-sha256', rsaKey)], { now: NOW });
    assert.ok(hTag(sig).includes('subject'));
    assert.ok(!hTag(sig).includes('x-unsigned'));
    const subject = Buffer.from(MESSAGE.toString().replace('goes on', 'goes off'));
    assert.deepEqual(statuses(await verify(Buffer.concat([Buffer.from(sig), subject]))), ['fail']);
    const unsigned = Buffer.from(MESSAGE.toString().replace('not in h=', 'changed'));
    assert.deepEqual(statuses(await verify(Buffer.concat([Buffer.from(sig), unsigned]))), ['pass']);
  });

  it('relaxed header canonicalization: refolding a signed field keeps the signature', async () => {
    const sig = await signMessage(MESSAGE, [signingKey('rsa', 'rsa-sha256', rsaKey)], { now: NOW });
    const refolded = Buffer.from(MESSAGE.toString().replace('goes on\r\n\tand on   over', 'goes on and on\r\n over'));
    assert.deepEqual(statuses(await verify(Buffer.concat([Buffer.from(sig), refolded]))), ['pass']);
  });

  it('oversigning (RFC 6376 8.15): h= lists From once more than present; a From added later fails', async () => {
    const sig = await signMessage(MESSAGE, [signingKey('rsa', 'rsa-sha256', rsaKey)], { now: NOW });
    const h = hTag(sig);
    assert.equal(h.filter((n) => n === 'from').length, 2, h.join(':'));
    assert.equal(h.filter((n) => n === 'subject').length, 2);
    // Cc is absent and oversigned: listed once, so adding one breaks the signature.
    assert.equal(h.filter((n) => n === 'cc').length, 1);
    for (const name of DEFAULT_OVERSIGNED_FIELDS) assert.ok(h.includes(name), name);
    assert.deepEqual(statuses(await verify(Buffer.concat([Buffer.from(sig), MESSAGE]))), ['pass']);
    const addedFrom = Buffer.concat([Buffer.from(sig), Buffer.from('From: mallory@evil.test\r\n'), MESSAGE]);
    assert.deepEqual(statuses(await verify(addedFrom)), ['fail']);
    const addedCc = Buffer.concat([Buffer.from(sig), Buffer.from('Cc: mallory@evil.test\r\n'), MESSAGE]);
    assert.deepEqual(statuses(await verify(addedCc)), ['fail']);
  });

  it('without oversigning, a From added on top is not caught by the signature (why oversigning matters)', async () => {
    const sig = await signMessage(MESSAGE, [signingKey('rsa', 'rsa-sha256', rsaKey)], { now: NOW, oversign: [] });
    assert.equal(hTag(sig).filter((n) => n === 'from').length, 1);
    const addedFrom = Buffer.concat([Buffer.from(sig), Buffer.from('From: mallory@evil.test\r\n'), MESSAGE]);
    // mailauth verifies the bottom-most From (the signed one); the added one is outside the signature.
    assert.deepEqual(statuses(await verify(addedFrom)), ['pass']);
  });

  it('headerFields: only the listed fields (and From) are signed', async () => {
    const sig = await signMessage(MESSAGE, [signingKey('rsa', 'rsa-sha256', rsaKey)], { now: NOW, headerFields: ['Subject', 'X-Unsigned'] });
    const h = hTag(sig);
    assert.deepEqual([...new Set(h)].sort(), ['from', 'subject', 'x-unsigned']);
    assert.deepEqual(statuses(await verify(Buffer.concat([Buffer.from(sig), MESSAGE]))), ['pass']);
    const changedDate = Buffer.from(MESSAGE.toString().replace('08:00:00 +0000', '09:00:00 +0000'));
    assert.deepEqual(statuses(await verify(Buffer.concat([Buffer.from(sig), changedDate]))), ['pass']);
  });

  it('a message with bare LF line ends is signed as sent (CRLF)', async () => {
    const lf = Buffer.from(MESSAGE.toString().replace(/\r\n/g, '\n'));
    const sig = await signMessage(lf, [signingKey('ed', 'ed25519-sha256', edKey)], { now: NOW });
    assert.deepEqual(statuses(await verify(Buffer.concat([Buffer.from(sig), MESSAGE]))), ['pass']);
  });

  it('a header-only message (no empty line, no body) gets a signature of the empty body', async () => {
    const headerOnly = Buffer.from('From: alice@example.test\r\nSubject: nothing\r\n');
    const sig = await signMessage(headerOnly, [signingKey('rsa', 'rsa-sha256', rsaKey)], { now: NOW });
    assert.deepEqual(statuses(await verify(Buffer.concat([Buffer.from(sig), headerOnly, Buffer.from('\r\n')]))), ['pass']);
  });

  it('refuses what it cannot sign: no From, bad key, bad names, wrong algorithm for the key; no keys -> ""', async () => {
    await assert.rejects(signMessage(Buffer.from('Subject: x\r\n\r\nbody\r\n'), [signingKey('rsa', 'rsa-sha256', rsaKey)]), /without a From/);
    await assert.rejects(
      signMessage(MESSAGE, [{ domain: DOMAIN, selector: 'rsa', privateKeyPem: 'not a key', algorithm: 'rsa-sha256' }]),
      /DKIM signing failed/,
    );
    await assert.rejects(signMessage(MESSAGE, [signingKey('rsa', 'ed25519-sha256', rsaKey)]), /DKIM signing failed/);
    await assert.rejects(signMessage(MESSAGE, [signingKey('bad;sel', 'rsa-sha256', rsaKey)]), /selector/);
    await assert.rejects(signMessage(MESSAGE, [signingKey('rsa', 'rsa-sha256', rsaKey, 'exa mple.test')]), /domain/);
    await assert.rejects(signMessage(MESSAGE, [signingKey('rsa', 'rsa-sha256', rsaKey)], { headerFields: ['bad:name'] }), /field name/);
    assert.equal(await signMessage(MESSAGE, []), '');
  });
});

describe('DKIM keys and TXT records (RFC 6376 3.6.1, RFC 8463)', () => {
  /** RFC 6376 3.2 tag-list, as a verifier reads it. */
  function tags(value: string): Map<string, string> {
    const m = new Map<string, string>();
    for (const part of value.split(';')) {
      const eq = part.indexOf('=');
      if (eq < 0) continue;
      m.set(part.slice(0, eq).trim(), part.slice(eq + 1).replace(/\s+/g, ''));
    }
    return m;
  }

  function quotedStrings(zoneLine: string): string[] {
    return [...zoneLine.matchAll(/"([^"]*)"/g)].map((m) => m[1] ?? '');
  }

  for (const [alg, pair, keyType, bits] of [
    ['rsa-sha256', rsaKey, 'rsa', 2048],
    ['ed25519-sha256', edKey, 'ed25519', 0],
  ] as const) {
    it(`${alg}: v=DKIM1, k=${keyType}, p= the public key; zone line strings <= 255 and concatenate to the value`, () => {
      const rec = dkimTxtRecord('Sel1', 'Example.TEST.', alg, pair.publicKeyDer);
      assert.equal(rec.name, 'sel1._domainkey.example.test');
      const t = tags(rec.value);
      assert.ok(rec.value.startsWith('v=DKIM1;'), 'v= first (RFC 6376 3.6.1)');
      assert.equal(t.get('v'), 'DKIM1');
      assert.equal(t.get('k'), keyType);
      const p = Buffer.from(t.get('p') ?? '', 'base64');
      assert.deepEqual(p, pair.publicKeyDer);
      if (keyType === 'ed25519') assert.equal(p.length, 32, 'RFC 8463 4.2: raw key');
      assert.ok(rec.zoneLine.startsWith(`${rec.name}.\tIN\tTXT\t"`));
      const strings = quotedStrings(rec.zoneLine);
      for (const s of strings) assert.ok(s.length <= 255, `${s.length}`);
      assert.equal(strings.join(''), rec.value);
      if (bits === 2048) assert.ok(strings.length >= 2, 'a 2048-bit key needs more than one string');
      // The private key maps back to the same public key and algorithm.
      assert.deepEqual(dkimPublicKey(pair.privateKeyPem), { algorithm: alg, publicKeyDer: pair.publicKeyDer });
    });
  }

  it('a 4096-bit RSA key: every string of the zone line within 255 characters', () => {
    const big = generateDkimKey('rsa-sha256', 4096);
    const rec = dkimTxtRecord('big', DOMAIN, 'rsa-sha256', big.publicKeyDer);
    const strings = quotedStrings(rec.zoneLine);
    assert.ok(strings.length >= 3);
    assert.ok(strings.every((s) => s.length <= 255));
    assert.equal(strings.join(''), rec.value);
  });

  it('splitTxtValue: 255-character pieces, empty value -> one empty string', () => {
    assert.deepEqual(splitTxtValue(''), ['']);
    assert.deepEqual(
      splitTxtValue('a'.repeat(600)).map((s) => s.length),
      [255, 255, 90],
    );
  });

  it('refuses weak or absurd RSA sizes, bad names, a wrong-sized Ed25519 key', () => {
    assert.throws(() => generateDkimKey('rsa-sha256', 512), RangeError);
    assert.throws(() => generateDkimKey('rsa-sha256', 2048.5), RangeError);
    assert.throws(() => dkimTxtRecord('bad sel', DOMAIN, 'rsa-sha256', rsaKey.publicKeyDer), /selector/);
    assert.throws(() => dkimTxtRecord('sel', 'bad..domain', 'rsa-sha256', rsaKey.publicKeyDer), /domain/);
    assert.throws(() => dkimTxtRecord('sel', DOMAIN, 'ed25519-sha256', rsaKey.publicKeyDer), /32-octet/);
  });
});
