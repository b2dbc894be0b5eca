import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IpLimiter, IpMinuteCounter } from '../src/lib/ip-limits.ts';

describe('per-IP limits', () => {
  it('IpLimiter: concurrent connections per IP; a release frees a slot once, other IPs are unaffected', () => {
    const l = new IpLimiter({ maxConnectionsPerIp: 2, maxConnectsPerMinute: 100, now: () => 0 });
    const a = l.admit('10.0.0.1');
    const b = l.admit('10.0.0.1');
    assert.ok(a.ok && b.ok);
    assert.deepEqual(l.admit('10.0.0.1'), { ok: false, reason: 'too many connections' });
    assert.ok(l.admit('10.0.0.2').ok);
    a.release();
    a.release(); // twice: still one slot
    assert.equal(l.openConnections('10.0.0.1'), 1);
    assert.ok(l.admit('10.0.0.1').ok);
    assert.equal(l.admit('10.0.0.1').ok, false);
  });

  it('IpLimiter: new connections per minute, in a window that restarts after 60 s', () => {
    let t = 0;
    const l = new IpLimiter({ maxConnectionsPerIp: 100, maxConnectsPerMinute: 3, now: () => t });
    for (let i = 0; i < 3; i++) {
      const a = l.admit('10.0.0.1');
      assert.ok(a.ok);
      a.release();
    }
    assert.deepEqual(l.admit('10.0.0.1'), { ok: false, reason: 'rate' });
    t = 59_999;
    assert.equal(l.admit('10.0.0.1').ok, false);
    t = 60_000;
    assert.ok(l.admit('10.0.0.1').ok);
  });

  it('IpLimiter: limits given as functions are read at every connection (a settings change applies at once)', () => {
    let max = 1;
    const l = new IpLimiter({ maxConnectionsPerIp: () => max, maxConnectsPerMinute: () => 0, now: () => 0 });
    assert.ok(l.admit('10.0.0.1').ok);
    assert.equal(l.admit('10.0.0.1').ok, false);
    max = 2;
    assert.ok(l.admit('10.0.0.1').ok);
  });

  it('IpLimiter: a limit of 0 means none', () => {
    const l = new IpLimiter({ maxConnectionsPerIp: 0, maxConnectsPerMinute: 0, now: () => 0 });
    for (let i = 0; i < 1000; i++) assert.ok(l.admit('10.0.0.1').ok);
  });

  it('IpMinuteCounter: blocks at the limit until the minute is over; 0 means none; memory is bounded', () => {
    let t = 0;
    let limit = 2;
    const c = new IpMinuteCounter(() => limit, { now: () => t, maxTracked: 10 });
    assert.equal(c.blocked('a'), false);
    c.add('a');
    c.add('a');
    assert.equal(c.blocked('a'), true);
    assert.equal(c.blocked('b'), false);
    t = 60_000;
    assert.equal(c.blocked('a'), false);
    limit = 0;
    for (let i = 0; i < 100; i++) c.add('a');
    assert.equal(c.blocked('a'), false);
    limit = 1;
    // Many addresses: the oldest windows go, the newest stay.
    for (let i = 0; i < 100; i++) c.add(`ip${i}`);
    assert.equal(c.blocked('ip99'), true);
    assert.equal(c.blocked('ip0'), false, 'forgotten once more than maxTracked addresses were seen');
  });
});
