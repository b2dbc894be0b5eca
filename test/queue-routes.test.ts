// Outbound routes (src/queue/routes.ts): MX order and randomization, implicit
// MX, NXDOMAIN, temporary DNS errors, null MX, loops, the private-address
// filter, static routes, the smarthost, address literals, caps, and
// parseHostPort; over fakeResolver tables (no network).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../src/lib/errors.ts';
import { fakeResolver, type FakeZone } from '../src/mail/dns.ts';
import { isPrivateAddress, parseHostPort, resolveRoute, type RouteConfig, type RouteResult } from '../src/queue/routes.ts';

/** Tests connect nowhere; private addresses allowed unless a test says otherwise. */
const base: RouteConfig = { port: 2525, allowPrivateAddresses: true, random: () => 0.999 };

/** 'host address:port/preference' per route host, or the failure. */
function summary(r: RouteResult): string[] | { permanent: boolean; status: string } {
  if (r.kind === 'fail') return { permanent: r.permanent, status: r.status };
  return r.hosts.map((h) => `${h.host} ${h.address}:${h.port}/${h.preference}`);
}

function expectHosts(r: RouteResult, source: string): string[] {
  assert.equal(r.kind, 'hosts', JSON.stringify(r));
  if (r.kind !== 'hosts') return [];
  assert.equal(r.source, source);
  return r.hosts.map((h) => `${h.host} ${h.address}`);
}

function expectFail(r: RouteResult, permanent: boolean, status: string, text: RegExp): void {
  assert.equal(r.kind, 'fail', JSON.stringify(r));
  if (r.kind !== 'fail') return;
  assert.equal(r.permanent, permanent);
  assert.equal(r.status, status);
  assert.match(r.text, text);
}

const zone: FakeZone = {
  'example.test': {
    MX: [
      { exchange: 'mx20.example.test', priority: 20 },
      { exchange: 'mx10.example.test', priority: 10 },
    ],
  },
  'mx10.example.test': { A: ['192.0.2.10', '192.0.2.11'], AAAA: ['2001:db8::10'] },
  'mx20.example.test': { A: ['192.0.2.20'] },
  'noaddr.test': { MX: [{ exchange: 'ghost.noaddr.test', priority: 5 }, { exchange: 'mx.noaddr.test', priority: 10 }] },
  'mx.noaddr.test': { A: ['192.0.2.30'] },
  'implicit.test': { A: ['192.0.2.40'], TXT: ['v=spf1 -all'] },
  'exists-no-address.test': { TXT: ['hello'] },
  'servfail.test': { fail: 'ESERVFAIL' },
  'timeout-mx.test': { MX: { fail: 'ETIMEOUT' } },
  'timeout-host.test': { MX: [{ exchange: 'slow.timeout-host.test', priority: 10 }] },
  'slow.timeout-host.test': { A: { fail: 'ETIMEOUT' } },
  'nullmx.test': { MX: [{ exchange: '', priority: 0 }] },
  'nullmx-dot.test': { MX: [{ exchange: '.', priority: 0 }] },
  'nullmx-mixed.test': { MX: [{ exchange: '', priority: 0 }, { exchange: 'mx20.example.test', priority: 10 }] },
  'loop.test': {
    MX: [
      { exchange: 'backup.loop.test', priority: 5 },
      { exchange: 'MX.Tegu.Test.', priority: 10 },
      { exchange: 'other.loop.test', priority: 10 },
      { exchange: 'worse.loop.test', priority: 20 },
    ],
  },
  'backup.loop.test': { A: ['192.0.2.50'] },
  'other.loop.test': { A: ['192.0.2.51'] },
  'worse.loop.test': { A: ['192.0.2.52'] },
  'loop-only.test': { MX: [{ exchange: 'mx.tegu.test', priority: 10 }, { exchange: 'worse.loop.test', priority: 20 }] },
  'mx.tegu.test': { A: ['192.0.2.99'] },
  'private.test': { MX: [{ exchange: 'lo.private.test', priority: 10 }, { exchange: 'lan.private.test', priority: 20 }] },
  'lo.private.test': { A: ['127.0.0.1'], AAAA: ['::1'] },
  'lan.private.test': { A: ['10.1.2.3', '192.168.1.1'], AAAA: ['fd00::1', '::ffff:127.0.0.1'] },
  'mixed-private.test': { MX: [{ exchange: 'lo.private.test', priority: 10 }, { exchange: 'mx20.example.test', priority: 20 }] },
  'implicit-private.test': { A: ['127.0.0.2'] },
  'dup.test': {
    MX: [
      { exchange: 'a.dup.test', priority: 10 },
      { exchange: 'b.dup.test', priority: 20 },
    ],
  },
  'a.dup.test': { A: ['192.0.2.60', '192.0.2.60', '192.0.2.61'] },
  'b.dup.test': { A: ['192.0.2.61', '192.0.2.62'] },
  'ipmx.test': { MX: [{ exchange: '192.0.2.70', priority: 10 }] },
  'smarthost.test': { A: ['192.0.2.80'], AAAA: ['2001:db8::80'] },
  'junk.test': { MX: [{ exchange: 'mx20.example.test', priority: 10 }], A: ['not-an-address'] },
};

describe('resolveRoute: MX (RFC 5321 section 5.1)', () => {
  it('sorts MX hosts by preference; each host contributes its addresses, IPv4 and IPv6 interleaved', async () => {
    const r = await resolveRoute('Example.TEST.', fakeResolver(zone), base);
    assert.deepEqual(summary(r), [
      'mx10.example.test 192.0.2.10:2525/10',
      'mx10.example.test 2001:db8::10:2525/10',
      'mx10.example.test 192.0.2.11:2525/10',
      'mx20.example.test 192.0.2.20:2525/20',
    ]);
    assert.equal(r.kind === 'hosts' && r.source, 'mx');
  });

  it('ipFamilies ipv4 / ipv6 ask only A / only AAAA', async () => {
    const asked: string[] = [];
    const resolver = fakeResolver(zone, { onQuery: (name, type) => asked.push(`${type} ${name}`) });
    assert.deepEqual(expectHosts(await resolveRoute('example.test', resolver, { ...base, ipFamilies: 'ipv4' }), 'mx'), [
      'mx10.example.test 192.0.2.10',
      'mx10.example.test 192.0.2.11',
      'mx20.example.test 192.0.2.20',
    ]);
    assert.ok(!asked.some((q) => q.startsWith('AAAA')));
    assert.deepEqual(expectHosts(await resolveRoute('example.test', fakeResolver(zone), { ...base, ipFamilies: 'ipv6' }), 'mx'), [
      'mx10.example.test 2001:db8::10',
    ]);
  });

  it('randomizes MX hosts of equal preference with the injected random, keeping preference order', async () => {
    const eq: FakeZone = {
      'eq.test': {
        MX: [
          { exchange: 'a.eq.test', priority: 10 },
          { exchange: 'b.eq.test', priority: 10 },
          { exchange: 'c.eq.test', priority: 10 },
          { exchange: 'best.eq.test', priority: 5 },
          { exchange: 'last.eq.test', priority: 30 },
        ],
      },
      'a.eq.test': { A: ['192.0.2.1'] },
      'b.eq.test': { A: ['192.0.2.2'] },
      'c.eq.test': { A: ['192.0.2.3'] },
      'best.eq.test': { A: ['192.0.2.4'] },
      'last.eq.test': { A: ['192.0.2.5'] },
    };
    const order = async (random: () => number): Promise<string[]> =>
      expectHosts(await resolveRoute('eq.test', fakeResolver(eq), { ...base, random }), 'mx').map((h) => h.split(' ')[0] ?? '');
    // random near 1: every Fisher-Yates step keeps its element: the table order.
    assert.deepEqual(await order(() => 0.999), ['best.eq.test', 'a.eq.test', 'b.eq.test', 'c.eq.test', 'last.eq.test']);
    // random 0: [a,b,c] -> swap(2,0) [c,b,a] -> swap(1,0) [b,c,a].
    assert.deepEqual(await order(() => 0), ['best.eq.test', 'b.eq.test', 'c.eq.test', 'a.eq.test', 'last.eq.test']);
    // Same random sequence, same order (deterministic); every equal host can come first.
    const firsts = new Set<string>();
    for (const seq of [[0, 0], [0.999, 0.999], [0.5, 0.999], [0, 0.999]]) {
      let i = 0;
      const got = await order(() => seq[i++ % seq.length] ?? 0);
      assert.equal(got[0], 'best.eq.test');
      assert.equal(got[4], 'last.eq.test');
      assert.deepEqual([...got.slice(1, 4)].sort(), ['a.eq.test', 'b.eq.test', 'c.eq.test']);
      firsts.add(got[1] ?? '');
    }
    assert.deepEqual([...firsts].sort(), ['a.eq.test', 'b.eq.test', 'c.eq.test']);
  });

  it('skips an MX host without addresses and tries the next one', async () => {
    assert.deepEqual(expectHosts(await resolveRoute('noaddr.test', fakeResolver(zone), base), 'mx'), ['mx.noaddr.test 192.0.2.30']);
  });

  it('fails permanently (5.4.4) when no MX host has an address', async () => {
    const z: FakeZone = { 'dead.test': { MX: [{ exchange: 'gone.dead.test', priority: 10 }, { exchange: 'nowhere.invalid', priority: 20 }] } };
    expectFail(await resolveRoute('dead.test', fakeResolver(z), base), true, '5.4.4', /no MX host of dead\.test has an address/);
  });

  it('a temporary error on an MX host lookup is temporary (4.4.3) when no other host has addresses', async () => {
    expectFail(await resolveRoute('timeout-host.test', fakeResolver(zone), base), false, '4.4.3', /ETIMEOUT/);
  });

  it('an MX exchange that is an IP address is used as the address (documented leniency)', async () => {
    assert.deepEqual(expectHosts(await resolveRoute('ipmx.test', fakeResolver(zone), base), 'mx'), ['192.0.2.70 192.0.2.70']);
  });

  it('removes duplicate addresses (the most preferred host keeps them)', async () => {
    assert.deepEqual(expectHosts(await resolveRoute('dup.test', fakeResolver(zone), base), 'mx'), [
      'a.dup.test 192.0.2.60',
      'a.dup.test 192.0.2.61',
      'b.dup.test 192.0.2.62',
    ]);
  });

  it('maxHosts caps the MX names looked up, maxAddressesPerHost the addresses of each', async () => {
    const z: FakeZone = { 'many.test': { MX: Array.from({ length: 15 }, (_, i) => ({ exchange: `mx${i}.many.test`, priority: i })) } };
    for (let i = 0; i < 15; i++) z[`mx${i}.many.test`] = { A: [`192.0.2.${i * 10 + 1}`, `192.0.2.${i * 10 + 2}`, `192.0.2.${i * 10 + 3}`] };
    const asked = new Set<string>();
    const resolver = fakeResolver(z, { onQuery: (name) => asked.add(name) });
    const all = expectHosts(await resolveRoute('many.test', resolver, { ...base, ipFamilies: 'ipv4' }), 'mx');
    assert.equal(all.length, 30, 'default: 10 hosts, 3 addresses each');
    assert.ok(!asked.has('mx10.many.test'), 'names beyond maxHosts are not looked up');
    const few = expectHosts(await resolveRoute('many.test', fakeResolver(z), { ...base, maxHosts: 2, maxAddressesPerHost: 1 }), 'mx');
    assert.deepEqual(few, ['mx0.many.test 192.0.2.1', 'mx1.many.test 192.0.2.11']);
  });

  it('ignores malformed addresses in a resolver answer', async () => {
    const r = await resolveRoute('junk.test', fakeResolver(zone), base);
    assert.deepEqual(expectHosts(r, 'mx'), ['mx20.example.test 192.0.2.20']);
  });
});

describe('resolveRoute: implicit MX, nonexistent domains, DNS failures', () => {
  it('no MX records: the domain itself with preference 0 (RFC 5321 5.1 implicit MX)', async () => {
    const r = await resolveRoute('implicit.test', fakeResolver(zone), base);
    assert.deepEqual(summary(r), ['implicit.test 192.0.2.40:2525/0']);
    assert.equal(r.kind === 'hosts' && r.source, 'implicit-mx');
  });

  it('NXDOMAIN (no MX, A/AAAA ENOTFOUND) is a permanent 5.1.2', async () => {
    expectFail(await resolveRoute('nonexistent.test', fakeResolver(zone), base), true, '5.1.2', /does not exist/);
  });

  it('a domain that exists without MX and without addresses is a permanent 5.1.2', async () => {
    expectFail(await resolveRoute('exists-no-address.test', fakeResolver(zone), base), true, '5.1.2', /no MX and no address/);
  });

  it('an invalid domain name is a permanent 5.1.2 without any query', async () => {
    let queries = 0;
    const resolver = fakeResolver(zone, { onQuery: () => queries++ });
    expectFail(await resolveRoute('bad..name', resolver, base), true, '5.1.2', /not a valid domain/);
    expectFail(await resolveRoute('', resolver, base), true, '5.1.2', /not a valid domain/);
    assert.equal(queries, 0);
  });

  it('SERVFAIL and timeouts on the MX lookup are a temporary 4.4.3', async () => {
    expectFail(await resolveRoute('servfail.test', fakeResolver(zone), base), false, '4.4.3', /ESERVFAIL/);
    expectFail(await resolveRoute('timeout-mx.test', fakeResolver(zone), base), false, '4.4.3', /ETIMEOUT/);
  });

  it('a temporary error on the implicit-MX address lookup is a temporary 4.4.3', async () => {
    const z: FakeZone = { 'half.test': { A: { fail: 'EREFUSED' }, TXT: ['x'] } };
    expectFail(await resolveRoute('half.test', fakeResolver(z), base), false, '4.4.3', /EREFUSED/);
    // ...unless the other family answered.
    const z2: FakeZone = { 'half.test': { A: { fail: 'ETIMEOUT' }, AAAA: ['2001:db8::5'] } };
    assert.deepEqual(expectHosts(await resolveRoute('half.test', fakeResolver(z2), base), 'implicit-mx'), ['half.test 2001:db8::5']);
  });
});

describe('resolveRoute: null MX (RFC 7505)', () => {
  it('a lone null MX ("." / node\'s "") is a permanent 5.1.10 "accepts no mail"', async () => {
    expectFail(await resolveRoute('nullmx.test', fakeResolver(zone), base), true, '5.1.10', /does not accept mail/);
    expectFail(await resolveRoute('nullmx-dot.test', fakeResolver(zone), base), true, '5.1.10', /null MX/);
  });

  it('a null MX mixed with other MX records is ignored; the others are tried (RFC 7505 section 3 misconfiguration)', async () => {
    assert.deepEqual(expectHosts(await resolveRoute('nullmx-mixed.test', fakeResolver(zone), base), 'mx'), ['mx20.example.test 192.0.2.20']);
  });
});

describe('resolveRoute: MX naming this server (RFC 5321 section 5.1 loops)', () => {
  const local: RouteConfig = { ...base, localHostnames: ['mx.tegu.test'] };

  it('drops our own MX and all with equal or higher preference value', async () => {
    assert.deepEqual(expectHosts(await resolveRoute('loop.test', fakeResolver(zone), local), 'mx'), ['backup.loop.test 192.0.2.50']);
  });

  it('fails permanently with 5.4.6 when we are the best MX', async () => {
    expectFail(await resolveRoute('loop-only.test', fakeResolver(zone), local), true, '5.4.6', /loops back/);
  });

  it('an implicit MX naming this server is a loop too', async () => {
    expectFail(await resolveRoute('implicit.test', fakeResolver(zone), { ...base, localHostnames: ['implicit.test'] }), true, '5.4.6', /loops back/);
  });
});

describe('resolveRoute: private and loopback addresses', () => {
  const strict: RouteConfig = { ...base, allowPrivateAddresses: false };

  it('all MX addresses private with allowPrivateAddresses false: temporary 4.4.4 saying why', async () => {
    expectFail(await resolveRoute('private.test', fakeResolver(zone), strict), false, '4.4.4', /private or loopback.*allowPrivateAddresses/);
    expectFail(await resolveRoute('implicit-private.test', fakeResolver(zone), strict), false, '4.4.4', /private or loopback/);
  });

  it('private addresses are skipped as if absent; public ones remain', async () => {
    assert.deepEqual(expectHosts(await resolveRoute('mixed-private.test', fakeResolver(zone), strict), 'mx'), ['mx20.example.test 192.0.2.20']);
  });

  it('allowed when allowPrivateAddresses is true (as in tests)', async () => {
    assert.deepEqual(expectHosts(await resolveRoute('implicit-private.test', fakeResolver(zone), base), 'implicit-mx'), ['implicit-private.test 127.0.0.2']);
  });

  it('isPrivateAddress: loopback, RFC 1918, link local, ULA, mapped IPv4; documentation and public addresses are not', () => {
    for (const a of ['127.0.0.1', '10.0.0.1', '172.16.5.4', '192.168.0.1', '169.254.1.1', '100.64.0.1', '0.0.0.0', '224.0.0.1', '255.255.255.255', '::1', '::', 'fd12::1', 'fe80::1', '::ffff:10.0.0.1', 'junk']) {
      assert.equal(isPrivateAddress(a), true, a);
    }
    for (const a of ['192.0.2.1', '198.51.100.7', '8.8.8.8', '172.32.0.1', '2001:db8::1', '2a00:1450::1', '::ffff:8.8.8.8']) {
      assert.equal(isPrivateAddress(a), false, a);
    }
  });
});

describe('resolveRoute: static routes, smarthost, address literals', () => {
  const routes = new Map([
    ['example.test', '[192.0.2.200]:2526'],
    ['relay.test', 'smarthost.test:587'],
    ['broken.test', 'bad host:x'],
    ['nowhere.test', 'nothing.invalid'],
  ]);

  it('a static route wins over the smarthost and DNS; no MX lookup is made', async () => {
    const asked: string[] = [];
    const resolver = fakeResolver(zone, { onQuery: (name, type) => asked.push(`${type} ${name}`) });
    const r = await resolveRoute('example.test', resolver, { ...base, staticRoutes: routes, smarthost: 'smarthost.test:2525' });
    assert.deepEqual(summary(r), ['192.0.2.200 192.0.2.200:2526/0']);
    assert.equal(r.kind === 'hosts' && r.source, 'static');
    assert.deepEqual(asked, []);
    assert.equal(r.kind === 'hosts' && r.hosts[0]?.auth, undefined);
  });

  it('a static route to a name resolves its addresses (no MX, no private filter)', async () => {
    const r = await resolveRoute('relay.test', fakeResolver(zone), { ...base, allowPrivateAddresses: false, staticRoutes: routes });
    assert.deepEqual(summary(r), ['smarthost.test 192.0.2.80:587/0', 'smarthost.test 2001:db8::80:587/0']);
  });

  it('an invalid or unresolvable static route is a temporary failure (our configuration)', async () => {
    expectFail(await resolveRoute('broken.test', fakeResolver(zone), { ...base, staticRoutes: routes }), false, '4.3.5', /static route "bad host:x" is invalid/);
    expectFail(await resolveRoute('nowhere.test', fakeResolver(zone), { ...base, staticRoutes: routes }), false, '4.4.4', /nothing\.invalid has no address/);
  });

  it('the smarthost takes all other mail, with its credentials, even for address literals', async () => {
    const auth = { user: 'relay', pass: 's3cret' };
    const cfg: RouteConfig = { ...base, staticRoutes: routes, smarthost: 'smarthost.test:2525', smarthostAuth: auth };
    for (const domain of ['other.test', '[192.0.2.9]', 'nullmx.test']) {
      const r = await resolveRoute(domain, fakeResolver(zone), cfg);
      assert.deepEqual(summary(r), ['smarthost.test 192.0.2.80:2525/0', 'smarthost.test 2001:db8::80:2525/0'], domain);
      assert.equal(r.kind === 'hosts' && r.source, 'smarthost');
      assert.deepEqual(r.kind === 'hosts' && r.hosts.map((h) => h.auth), [auth, auth]);
    }
    const loopback = await resolveRoute('x.test', fakeResolver(zone), { ...base, allowPrivateAddresses: false, smarthost: '127.0.0.1:2525' });
    assert.deepEqual(summary(loopback), ['127.0.0.1 127.0.0.1:2525/0']);
  });

  it('smarthost DNS failures are temporary', async () => {
    const z: FakeZone = { 'relay.test': { fail: 'ESERVFAIL' } };
    expectFail(await resolveRoute('x.test', fakeResolver(z), { ...base, smarthost: 'relay.test' }), false, '4.4.3', /smarthost relay\.test.*ESERVFAIL/);
    expectFail(await resolveRoute('x.test', fakeResolver(z), { ...base, smarthost: 'relay.test:99999' }), false, '4.3.5', /invalid/);
  });

  it('an empty smarthost means direct delivery', async () => {
    assert.deepEqual(expectHosts(await resolveRoute('implicit.test', fakeResolver(zone), { ...base, smarthost: '  ' }), 'implicit-mx'), ['implicit.test 192.0.2.40']);
  });

  it('address literals [IPv4] and [IPv6:...] go to that address (RFC 5321 4.1.3)', async () => {
    let queries = 0;
    const resolver = fakeResolver(zone, { onQuery: () => queries++ });
    assert.deepEqual(summary(await resolveRoute('[192.0.2.1]', resolver, base)), ['192.0.2.1 192.0.2.1:2525/0']);
    const v6 = await resolveRoute('[IPv6:2001:DB8::1]', resolver, base);
    assert.deepEqual(summary(v6), ['2001:db8::1 2001:db8::1:2525/0']);
    assert.equal(v6.kind === 'hosts' && v6.source, 'literal');
    assert.equal(queries, 0);
  });

  it('malformed literals are a permanent 5.1.3; private literals a permanent 5.4.4 unless allowed', async () => {
    const resolver = fakeResolver(zone);
    for (const bad of ['[2001:db8::1]', '[IPv6:192.0.2.1]', '[192.0.2.300]', '[192.0.2.1', '[tag:stuff]']) {
      expectFail(await resolveRoute(bad, resolver, base), true, '5.1.3', /not a valid address literal/);
    }
    expectFail(await resolveRoute('[127.0.0.1]', resolver, { ...base, allowPrivateAddresses: false }), true, '5.4.4', /private or loopback/);
    expectFail(await resolveRoute('[IPv6:::1]', resolver, { ...base, allowPrivateAddresses: false }), true, '5.4.4', /private or loopback/);
    assert.deepEqual(summary(await resolveRoute('[127.0.0.1]', resolver, base)), ['127.0.0.1 127.0.0.1:2525/0']);
  });

  it('port defaults to 25', async () => {
    assert.deepEqual(summary(await resolveRoute('[192.0.2.1]', fakeResolver(zone), { allowPrivateAddresses: true })), ['192.0.2.1 192.0.2.1:25/0']);
  });
});

describe('parseHostPort', () => {
  it('accepts host, host:port, ip, ip:port, [ip], [ip]:port and a bare IPv6 address', () => {
    assert.deepEqual(parseHostPort('Mail.Example.TEST', 25), { host: 'mail.example.test', port: 25 });
    assert.deepEqual(parseHostPort('mail.example.test.:587', 25), { host: 'mail.example.test', port: 587 });
    assert.deepEqual(parseHostPort('localhost:2525', 25), { host: 'localhost', port: 2525 });
    assert.deepEqual(parseHostPort('192.0.2.1', 25), { host: '192.0.2.1', port: 25 });
    assert.deepEqual(parseHostPort(' 192.0.2.1:465 ', 25), { host: '192.0.2.1', port: 465 });
    assert.deepEqual(parseHostPort('[192.0.2.1]:26', 25), { host: '192.0.2.1', port: 26 });
    assert.deepEqual(parseHostPort('[2001:DB8::1]:2525', 25), { host: '2001:db8::1', port: 2525 });
    assert.deepEqual(parseHostPort('[::1]', 587), { host: '::1', port: 587 });
    assert.deepEqual(parseHostPort('2001:db8::1', 25), { host: '2001:db8::1', port: 25 });
    assert.deepEqual(parseHostPort('mx:65535', 25), { host: 'mx', port: 65535 });
  });

  it('throws InvalidInputError on junk', () => {
    for (const junk of [
      '',
      ':25',
      'host:',
      'host:0',
      'host:65536',
      'host:25x',
      'host:-1',
      'host name',
      'bad_host',
      '-lead.test',
      'a..b',
      '999.1.1.1',
      '[mail.example.test]:25',
      '[2001:db8::1',
      '2001:db8::1:25:x',
      'host:25:26',
      `${'a'.repeat(64)}.test`,
      'http://host',
    ]) {
      assert.throws(() => parseHostPort(junk, 25), InvalidInputError, JSON.stringify(junk));
    }
  });
});
