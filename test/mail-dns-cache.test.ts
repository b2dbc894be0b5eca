// The caching resolver (src/mail/dns-cache.ts): TTLs, negative caching
// (RFC 2308), failures, single flight, LRU bound; with a counting fake
// resolver and an injected clock (no sleeps), and once over node's resolver
// against a small DNS server on 127.0.0.1 (TTL from the answer).
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { describe, it } from 'node:test';
import { authenticateMessage } from '../src/mail/authentication.ts';
import { cachingResolver, type DnsCacheOptions } from '../src/mail/dns-cache.ts';
import { DNS_TTL, answerTtl, dnsError, fakeResolver, systemResolver, type DnsAnswer, type DnsResolver, type FakeZone } from '../src/mail/dns.ts';

const zone: FakeZone = {
  'example.test': { TXT: ['v=spf1 -all'], MX: [{ exchange: 'mx.example.test', priority: 10 }], A: ['192.0.2.1'] },
  '_dmarc.example.test': { TXT: ['v=DMARC1; p=reject'] },
  'servfail.test': { fail: 'ESERVFAIL' },
  'timeout.test': { fail: 'ETIMEOUT' },
  'hang.test': { fail: 'hang' },
};

/** A cache over a fake resolver that counts the queries reaching it, with a clock the test moves. */
function setup(opts: DnsCacheOptions = {}, inner?: DnsResolver) {
  const queries: string[] = [];
  const clock = { t: 1_000_000 };
  const base = inner ?? fakeResolver(zone);
  const counted: DnsResolver = (name, rrtype) => {
    queries.push(`${rrtype} ${name}`);
    return base(name, rrtype);
  };
  const resolver = cachingResolver(counted, { now: () => clock.t, ...opts });
  const advance = (seconds: number): void => {
    clock.t += seconds * 1000;
  };
  return { resolver, queries, advance };
}

describe('cachingResolver (src/mail/dns-cache.ts)', () => {
  it('answers without a TTL (TXT, MX) are kept maxTtlSeconds (5 minutes)', async () => {
    const { resolver, queries, advance } = setup();
    assert.deepEqual(await resolver('example.test', 'TXT'), [['v=spf1 -all']]);
    advance(299);
    assert.deepEqual(await resolver('example.test', 'TXT'), [['v=spf1 -all']]);
    assert.deepEqual(await resolver('example.test', 'MX'), [{ exchange: 'mx.example.test', priority: 10 }]);
    assert.equal(queries.length, 2, 'TXT once, MX once');
    advance(2);
    await resolver('example.test', 'TXT');
    assert.deepEqual(queries, ['TXT example.test', 'MX example.test', 'TXT example.test'], 'expired after 300 s');
    assert.deepEqual(resolver.stats(), { entries: 2, hits: 1, joined: 0, lookups: 3 });
  });

  it("an answer's own TTL (DNS_TTL) is respected, capped at maxTtlSeconds; TTL 0 is not cached (RFC 1035 3.2.1)", async () => {
    let ttl = 10;
    const withTtl: DnsResolver = async () => Object.defineProperty(['192.0.2.7'], DNS_TTL, { value: ttl });
    const { resolver, queries, advance } = setup({}, withTtl);
    await resolver('a.test', 'A');
    advance(9);
    await resolver('a.test', 'A');
    assert.equal(queries.length, 1);
    advance(2);
    await resolver('a.test', 'A');
    assert.equal(queries.length, 2, 'expired after its 10 s');

    ttl = 86_400;
    await resolver('b.test', 'A');
    advance(301);
    await resolver('b.test', 'A');
    assert.equal(queries.length, 4, 'a day is capped at 5 minutes');

    ttl = 0;
    await resolver('c.test', 'A');
    await resolver('c.test', 'A');
    assert.equal(queries.length, 6, 'TTL 0: asked every time');
  });

  it('RFC 2308: NXDOMAIN and NODATA are cached for negativeTtlSeconds (60 s), with fresh errors naming the caller', async () => {
    const { resolver, queries, advance } = setup();
    await assert.rejects(resolver('nowhere.test', 'TXT'), { code: 'ENOTFOUND', hostname: 'nowhere.test' });
    await assert.rejects(resolver('NOWHERE.test.', 'TXT'), { code: 'ENOTFOUND', hostname: 'NOWHERE.test.' });
    await assert.rejects(resolver('_dmarc.example.test', 'MX'), { code: 'ENODATA' });
    advance(59);
    await assert.rejects(resolver('_dmarc.example.test', 'MX'), { code: 'ENODATA' });
    assert.equal(queries.length, 2);
    advance(2);
    await assert.rejects(resolver('nowhere.test', 'TXT'), { code: 'ENOTFOUND' });
    assert.equal(queries.length, 3);
  });

  it('SERVFAIL and timeouts are cached for failureTtlSeconds (30 s): a dead server costs one timeout per name, not one per message', async () => {
    const { resolver, queries, advance } = setup();
    for (let i = 0; i < 5; i++) {
      await assert.rejects(resolver('servfail.test', 'TXT'), { code: 'ESERVFAIL' });
      await assert.rejects(resolver('timeout.test', 'TXT'), { code: 'ETIMEOUT' });
    }
    assert.equal(queries.length, 2);
    advance(31);
    await assert.rejects(resolver('timeout.test', 'TXT'), { code: 'ETIMEOUT' });
    assert.equal(queries.length, 3);
  });

  it('errors without a DNS code become ESERVFAIL; ECANCELLED is not cached', async () => {
    let n = 0;
    const odd: DnsResolver = async (name, rrtype) => {
      n++;
      if (name === 'cancel.test') throw dnsError('ECANCELLED', name, rrtype);
      throw new Error('weird');
    };
    const { resolver } = setup({}, odd);
    await assert.rejects(resolver('weird.test', 'TXT'), { code: 'ESERVFAIL' });
    await assert.rejects(resolver('weird.test', 'TXT'), { code: 'ESERVFAIL' });
    await assert.rejects(resolver('cancel.test', 'TXT'), { code: 'ECANCELLED' });
    await assert.rejects(resolver('cancel.test', 'TXT'), { code: 'ECANCELLED' });
    assert.equal(n, 3);
  });

  it('single flight: concurrent identical lookups share one query; every caller gets its own copy', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow: DnsResolver = async (name, rrtype) => {
      await gate;
      return fakeResolver(zone)(name, rrtype);
    };
    const { resolver, queries } = setup({}, slow);
    const all = Promise.all(Array.from({ length: 20 }, (_, i) => resolver(i % 2 ? 'Example.TEST' : 'example.test.', 'TXT')));
    const fails = Promise.allSettled([resolver('servfail.test', 'A'), resolver('servfail.test', 'A')]);
    release();
    const answers = (await all) as string[][][];
    assert.deepEqual(queries, ['TXT example.test.', 'A servfail.test']);
    assert.ok(answers.every((a) => JSON.stringify(a) === '[["v=spf1 -all"]]'));
    answers[0]![0]!.push('changed by a caller');
    answers[1]!.length = 0;
    assert.deepEqual(await resolver('example.test', 'TXT'), [['v=spf1 -all']], 'the cached answer is untouched');
    assert.ok((await fails).every((r) => r.status === 'rejected' && (r.reason as { code: string }).code === 'ESERVFAIL'));
    assert.equal(resolver.stats().joined, 20);
  });

  it('a lookup pending longer than maxPendingMs is not joined: a new one starts', async () => {
    const { resolver, queries, advance } = setup({ maxPendingMs: 10_000 });
    const tick = () => new Promise((r) => setImmediate(r));
    void resolver('hang.test', 'TXT');
    void resolver('hang.test', 'TXT');
    await tick();
    assert.equal(queries.length, 1);
    advance(11);
    void resolver('hang.test', 'TXT');
    await tick();
    assert.equal(queries.length, 2);
  });

  it('bounded: at most maxEntries, the least recently used dropped first', async () => {
    const { resolver, queries } = setup({ maxEntries: 3 });
    const ask = (n: string) => resolver(n, 'TXT').catch(() => undefined);
    await ask('a.test');
    await ask('b.test');
    await ask('c.test');
    await ask('a.test'); // hit: a is now the most recently used
    await ask('d.test'); // drops b
    assert.equal(resolver.stats().entries, 3);
    assert.equal(queries.length, 4);
    await ask('a.test');
    await ask('c.test');
    assert.equal(queries.length, 4, 'a and c still cached');
    await ask('b.test');
    assert.equal(queries.length, 5, 'b was dropped');
  });

  it('clear() empties the cache', async () => {
    const { resolver, queries } = setup();
    await resolver('example.test', 'TXT');
    resolver.clear();
    await resolver('example.test', 'TXT');
    assert.equal(queries.length, 2);
  });

  it('message authentication over a dead name server: the lookups of the first message only, then answers from the cache', async () => {
    // Every lookup fails after a while (an unreachable server and its client time limit).
    let lookups = 0;
    const dead: DnsResolver = (name, rrtype) => {
      lookups++;
      return new Promise((_, reject) => setTimeout(() => reject(dnsError('ETIMEOUT', name, rrtype)), 50));
    };
    const resolver = cachingResolver(dead);
    const msg = Buffer.from('From: a@example.test\r\nDKIM-Signature: v=1; a=rsa-sha256; d=example.test; s=sel; c=relaxed/relaxed; h=from; bh=x; b=y\r\n\r\nhi\r\n');
    const opts = { ip: '192.0.2.9', helo: 'client.example.net', mailFrom: 'x@example.test', hostname: 'mx.tegu.test', resolver };
    const t0 = Date.now();
    const first = await authenticateMessage(msg, opts);
    const firstMs = Date.now() - t0;
    const afterFirst = lookups;
    assert.ok(afterFirst >= 2, `${afterFirst} lookups`);
    const t1 = Date.now();
    for (let i = 0; i < 20; i++) {
      const r = await authenticateMessage(msg, opts);
      assert.equal(r.spf, first.spf);
      assert.deepEqual(r.dkim, first.dkim);
    }
    const laterMs = (Date.now() - t1) / 20;
    assert.equal(lookups, afterFirst, 'no more lookups');
    assert.equal(first.spf, 'temperror');
    assert.ok(laterMs < firstMs, `first message ${firstMs} ms, later ones ${laterMs.toFixed(1)} ms each`);
  });
});

// ---------------------------------------------------------------------------
// A DNS server answering A queries with a chosen TTL (RFC 1035 4.1), NXDOMAIN otherwise.

async function tinyDnsServer(records: Record<string, { address: string; ttl: number }>): Promise<{ socket: Socket; port: number; queries: string[] }> {
  const socket = createSocket('udp4');
  const queries: string[] = [];
  socket.on('message', (q, peer) => {
    // Header (12 octets), then QNAME as labels, QTYPE, QCLASS.
    const labels: string[] = [];
    let pos = 12;
    while (q[pos]) {
      labels.push(q.toString('latin1', pos + 1, pos + 1 + q[pos]!));
      pos += q[pos]! + 1;
    }
    const qtype = q.readUInt16BE(pos + 1);
    const questionEnd = pos + 5;
    const name = labels.join('.').toLowerCase();
    queries.push(`${qtype} ${name}`);
    const rec = qtype === 1 ? records[name] : undefined;
    const header = Buffer.alloc(12);
    q.copy(header, 0, 0, 2); // ID
    header.writeUInt16BE(rec ? 0x8180 : 0x8183, 2); // QR RD RA, NOERROR or NXDOMAIN
    header.writeUInt16BE(1, 4); // QDCOUNT
    header.writeUInt16BE(rec ? 1 : 0, 6); // ANCOUNT
    const parts = [header, q.subarray(12, questionEnd)];
    if (rec) {
      const rr = Buffer.alloc(16);
      rr.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
      rr.writeUInt16BE(1, 2); // A
      rr.writeUInt16BE(1, 4); // IN
      rr.writeUInt32BE(rec.ttl, 6);
      rr.writeUInt16BE(4, 10);
      rec.address.split('.').forEach((octet, i) => rr.writeUInt8(Number(octet), 12 + i));
      parts.push(rr);
    }
    socket.send(Buffer.concat(parts), peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { socket, port: socket.address().port, queries };
}

describe('cachingResolver over systemResolver (a DNS server on 127.0.0.1)', () => {
  it('systemResolver reports the TTL of A answers; the cache keeps the answer that long', async () => {
    const server = await tinyDnsServer({ 'short.test': { address: '192.0.2.1', ttl: 2 }, 'long.test': { address: '192.0.2.2', ttl: 3600 } });
    try {
      const system = systemResolver({ servers: [`127.0.0.1:${server.port}`], timeoutMs: 2000 });
      const direct: DnsAnswer = await system('short.test', 'A');
      assert.deepEqual(direct, ['192.0.2.1']);
      assert.equal(answerTtl(direct), 2);
      assert.equal(answerTtl(await system('long.test', 'A')), 3600);

      let t = 0;
      const resolver = cachingResolver(system, { now: () => t });
      server.queries.length = 0;
      assert.deepEqual(await resolver('short.test', 'A'), ['192.0.2.1']);
      assert.deepEqual(await resolver('short.test', 'A'), ['192.0.2.1']);
      await assert.rejects(resolver('missing.test', 'A'), { code: 'ENOTFOUND' });
      await assert.rejects(resolver('missing.test', 'A'), { code: 'ENOTFOUND' });
      assert.deepEqual(server.queries, ['1 short.test', '1 missing.test']);
      t += 2500;
      await resolver('short.test', 'A');
      await resolver('missing.test', 'A').catch(() => undefined);
      assert.deepEqual(server.queries, ['1 short.test', '1 missing.test', '1 short.test'], 'the 2 s TTL ran out; the negative entry did not');
    } finally {
      server.socket.close();
    }
  });
});
