// authenticateMessage over a MessageSource (a message read piece by piece, as
// a spooled message is), and forgedAuthResultsEdit: the same verdicts as for
// a Buffer, whatever the pieces, with bounded work and memory.
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, it } from 'node:test';
import { dkimSign } from 'mailauth';
import {
  MAX_BODY_HASHES,
  MAX_BODY_LINE_BYTES,
  authenticateMessage,
  forgedAuthResultsEdit,
  removeForgedAuthResults,
  type AuthenticateOptions,
  type InboundAuthResult,
  type MessageSource,
} from '../src/mail/authentication.ts';
import { fakeResolver } from '../src/mail/dns.ts';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pem = (k: KeyObject): string => k.export({ type: 'pkcs8', format: 'pem' }).toString();
const rsaP = (k: KeyObject): string => k.export({ type: 'spki', format: 'der' }).toString('base64');
const KiB = 1024;

const zone = {
  'example.test': { TXT: ['v=spf1 -all'] },
  '_dmarc.example.test': { TXT: ['v=DMARC1; p=reject'] },
  'rsa._domainkey.example.test': { TXT: [`v=DKIM1; k=rsa; p=${rsaP(rsa.publicKey)}`] },
};

/** A DKIM signature of example.test on top (t= fixed: see the note in mail-authentication.test.ts). */
async function sign(raw: Buffer, maxBodyLength?: number): Promise<Buffer> {
  const signature = { signingDomain: 'example.test', selector: 'rsa', privateKey: pem(rsa.privateKey), ...(maxBodyLength ? { maxBodyLength } : {}) };
  const res = await dkimSign(raw, { ...signature, canonicalization: 'relaxed/relaxed', signTime: new Date(), signatureData: [signature] });
  assert.deepEqual(res.errors, []);
  return Buffer.concat([Buffer.from(res.signatures), raw]);
}

function message(body: string, extra = ''): Buffer {
  return Buffer.from(`${extra}From: Alice <alice@example.test>\r\nTo: bob@tegu.test\r\nSubject: report\r\nMessage-ID: <1@example.test>\r\n\r\n${body}`);
}

/** `raw` as a MessageSource: head of `headBytes`, pieces of `piece` octets; records how far it was read. */
function source(raw: Buffer, piece: number, headBytes = 256 * KiB): MessageSource & { read_: { octets: number; closed: boolean } } {
  const read_ = { octets: 0, closed: false };
  return {
    size: raw.length,
    head: raw.subarray(0, headBytes),
    read_,
    async *read() {
      try {
        for (let i = 0; i < raw.length; i += piece) {
          const p = raw.subarray(i, i + piece);
          read_.octets += p.length;
          yield p;
        }
      } finally {
        read_.closed = true;
      }
    },
  };
}

function run(raw: Buffer | MessageSource, over: Partial<AuthenticateOptions> = {}): Promise<InboundAuthResult> {
  return authenticateMessage(raw, {
    ip: '198.51.100.7',
    helo: 'client.example.net',
    mailFrom: 'bounce@example.net',
    hostname: 'mx.tegu.test',
    resolver: fakeResolver(zone),
    random: () => 0,
    ...over,
  });
}

const summary = (r: InboundAuthResult) => ({ dkim: r.dkim, spf: r.spf, dmarc: r.dmarc, arc: r.arc, action: r.action, header: r.header });

describe('authenticateMessage over a MessageSource (a spooled message)', () => {
  it('RFC 6376: the same results as for the Buffer, whatever the piece size (1 octet to all at once)', async () => {
    const body = 'line of the report\r\n'.repeat(3000);
    const signed = await sign(message(body));
    const tampered = Buffer.from(signed.toString().replace('line of the report\r\nline', 'line of the rePort\r\nline'));
    for (const raw of [signed, tampered]) {
      const expected = summary(await run(raw));
      for (const piece of [1, 7, 4096, 65_537, raw.length]) {
        // One-octet pieces: the first 2,000 only, then bigger ones (mailauth is slow per write).
        const src = piece === 1 ? { ...source(raw, 1), read: () => oneThenMore(raw, 2000) } : source(raw, piece);
        assert.deepEqual(summary(await run(src)), expected, `pieces of ${piece}`);
      }
    }
    assert.equal((await run(source(signed, 4096))).dkim[0]?.result, 'pass');
    assert.equal((await run(source(tampered, 4096))).dkim[0]?.result, 'fail');
  });

  it('RFC 6376 6.1: signatures over the MAX_BODY_HASHES limit are cut out of the stream, as for a Buffer', async () => {
    let raw = message('Hello Bob,\r\n\r\nthe numbers are attached.\r\n');
    for (let l = 1; l <= MAX_BODY_HASHES + 1; l++) raw = await sign(raw, l);
    const r = await run(source(raw, 5));
    assert.deepEqual(r.dkim.map((d) => d.result), [...Array.from({ length: MAX_BODY_HASHES }, () => 'pass'), 'neutral']);
  });

  it('a header section that does not end within the head is not verified (too large), and the body is not read', async () => {
    const raw = await sign(message('body\r\n'.repeat(100), `X-Filler: ${'x'.repeat(900)}\r\n`.repeat(40)));
    const src = source(raw, 4096, 16 * KiB); // the header section is about 37 KiB
    const r = await run(src);
    assert.equal(r.dkim[0]?.result, 'permerror');
    assert.match(r.dkim[0]?.comment ?? '', /header section too large/);
    assert.equal(src.read_.octets, 0);
  });

  it('a line longer than MAX_BODY_LINE_BYTES: permerror, reading stops there (mailauth would keep the line whole)', async () => {
    const long = Buffer.concat([message(''), Buffer.alloc(MAX_BODY_LINE_BYTES + 10, 'a'), Buffer.from('\r\nend\r\n'.repeat(200_000))]);
    const signed = await sign(long);
    const src = source(signed, 64 * KiB);
    const r = await run(src);
    assert.equal(r.dkim[0]?.result, 'permerror');
    assert.match(r.dkim[0]?.comment ?? '', /line too long/);
    assert.ok(src.read_.octets < signed.length, 'not read to the end');
    assert.ok(src.read_.closed, 'the source was closed');
    assert.equal(r.dmarc.result, 'fail', 'an attacker cannot turn it into a DMARC temperror');
  });

  it('a run of empty lines longer than MAX_BODY_LINE_BYTES: permerror', async () => {
    const signed = await sign(Buffer.concat([message('text\r\n'), Buffer.from('\r\n'.repeat(MAX_BODY_LINE_BYTES / 2 + 10)), Buffer.from('more\r\n')]));
    const r = await run(source(signed, 64 * KiB));
    assert.equal(r.dkim[0]?.result, 'permerror');
    assert.match(r.dkim[0]?.comment ?? '', /empty lines/);
  });

  it('a source that fails while being read (the database): temperror, DMARC temperror (a retry may pass), not a reject', async () => {
    const raw = await sign(message('line\r\n'.repeat(20_000)));
    const src: MessageSource = {
      size: raw.length,
      head: raw.subarray(0, 256 * KiB),
      async *read() {
        yield raw.subarray(0, 50_000);
        throw new Error('connection lost');
      },
    };
    const r = await run(src);
    assert.equal(r.dkim[0]?.result, 'temperror');
    assert.match(r.dkim[0]?.comment ?? '', /could not be read/);
    assert.equal(r.dmarc.result, 'temperror');
    assert.equal(r.action, 'accept');
  });

  it('a source shorter than its size claims: temperror, not a verdict on a truncated message', async () => {
    const raw = await sign(message('line\r\n'.repeat(1000)));
    const src: MessageSource = {
      size: raw.length,
      head: raw,
      async *read() {
        yield raw.subarray(0, raw.length - 100);
        throw new Error('short'); // what core/spool.ts readSpooledMessage does when the chunks do not add up
      },
    };
    assert.equal((await run(src)).dkim[0]?.result, 'temperror');
  });

  it('out of time: DKIM temperror, and the source is told to stop (return()) rather than read to the end', async () => {
    const raw = await sign(message('line\r\n'.repeat(50_000)));
    let read = 0;
    let closed = false;
    const src: MessageSource = {
      size: raw.length,
      head: raw.subarray(0, 256 * KiB),
      async *read() {
        try {
          for (let i = 0; i < raw.length; i += 1000) {
            await new Promise((r) => setTimeout(r, 2)); // a slow database
            read += 1000;
            yield raw.subarray(i, i + 1000);
          }
        } finally {
          closed = true;
        }
      },
    };
    const r = await run(src, { timeoutMs: 150 });
    assert.equal(r.dkim[0]?.result, 'temperror');
    assert.equal(r.action, 'accept');
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(closed, 'source closed');
    assert.ok(read < raw.length, `stopped after ${read} of ${raw.length} octets`);
  });
});

async function* oneThenMore(raw: Buffer, ones: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < ones; i++) yield raw.subarray(i, i + 1);
  for (let i = ones; i < raw.length; i += 3001) yield raw.subarray(i, i + 3001);
}

describe('forgedAuthResultsEdit (RFC 8601 5, for a message known by its head)', () => {
  const crlf = (...lines: string[]): Buffer => Buffer.from(lines.join('\r\n'));
  const apply = (raw: Buffer, e: { length: number; replacement: Buffer } | undefined): Buffer =>
    e ? Buffer.concat([e.replacement, raw.subarray(e.length)]) : raw;

  it('gives the same result as removeForgedAuthResults on the whole message, for every head length that holds the header section', () => {
    const raw = crlf(
      'Received: from a',
      'Authentication-Results: MX.tegu.test; dkim=pass',
      'Authentication-Results: other.example; spf=pass',
      'authentication-results: (comment) "mx.tegu.test";',
      '  dmarc=pass',
      'Subject: x',
      '',
      'Authentication-Results: mx.tegu.test; body, not a header',
      '',
    );
    const expected = removeForgedAuthResults(raw, 'mx.tegu.test');
    assert.notDeepEqual(expected, raw);
    const headerEnd = raw.indexOf('\r\n\r\n') + 4;
    for (let n = headerEnd; n <= raw.length; n++) {
      assert.deepEqual(apply(raw, forgedAuthResultsEdit(raw.subarray(0, n), 'mx.tegu.test', n === raw.length)), expected, `head of ${n}`);
    }
  });

  it('a field that may continue after the head is left alone (its continuation lines would be orphaned)', () => {
    const raw = crlf('Authentication-Results: mx.tegu.test; dkim=pass', 'Authentication-Results: mx.tegu.test;', '  spf=pass', 'Subject: x', '', 'body');
    const cut = raw.indexOf('  spf=pass'); // the head ends after the second field's first line
    const e = forgedAuthResultsEdit(raw.subarray(0, cut), 'mx.tegu.test', false);
    assert.deepEqual(apply(raw, e).toString(), 'Authentication-Results: mx.tegu.test;\r\n  spf=pass\r\nSubject: x\r\n\r\nbody');
    // The same head as the whole message: then its last field is complete.
    assert.equal(forgedAuthResultsEdit(raw.subarray(0, cut), 'mx.tegu.test', true)?.replacement.length, 0);
  });

  it('nothing forged: undefined', () => {
    assert.equal(forgedAuthResultsEdit(crlf('Authentication-Results: other.example; spf=pass', '', 'x'), 'mx.tegu.test', true), undefined);
    assert.equal(forgedAuthResultsEdit(crlf('Subject: x', '', 'x'), '', true), undefined);
  });
});
