// Retry schedule, expiry and delay warnings of the outbound queue
// (src/queue/backoff.ts); pure functions, the clock is passed in.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_MAX_BACKOFF_MS, DEFAULT_MIN_BACKOFF_MS, delayWarningDue, nextAttemptDelayMs, schedule, type BackoffOptions } from '../src/queue/backoff.ts';

const MIN = 60_000;
const HOUR = 3_600_000;
const noJitter = { random: () => 0.5 };

describe('nextAttemptDelayMs', () => {
  it('follows the documented table: 5, 10, 20, 40, 80 min, then 2 h', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 50].map((n) => nextAttemptDelayMs(n, noJitter));
    assert.deepEqual(delays, [5 * MIN, 10 * MIN, 20 * MIN, 40 * MIN, 80 * MIN, 2 * HOUR, 2 * HOUR, 2 * HOUR]);
    assert.equal(DEFAULT_MIN_BACKOFF_MS, 5 * MIN);
    assert.equal(DEFAULT_MAX_BACKOFF_MS, 2 * HOUR);
  });

  it('is monotone non-decreasing up to the cap, and stays at the cap (also for huge counts)', () => {
    const variants: BackoffOptions[] = [noJitter, { ...noJitter, minMs: 300_000, maxMs: 4_000_000 }, { ...noJitter, minMs: 1000, maxMs: 1000 }];
    for (const opts of variants) {
      let previous = 0;
      for (let n = 1; n <= 200; n++) {
        const d = nextAttemptDelayMs(n, opts);
        assert.ok(d >= previous, `attempt ${n}: ${d} < ${previous}`);
        assert.ok(d <= (opts.maxMs ?? DEFAULT_MAX_BACKOFF_MS));
        previous = d;
      }
      assert.equal(previous, opts.maxMs ?? DEFAULT_MAX_BACKOFF_MS);
    }
    assert.equal(nextAttemptDelayMs(1e9, noJitter), 2 * HOUR);
    assert.equal(nextAttemptDelayMs(Infinity, noJitter), 2 * HOUR);
  });

  it('counts below 1 and non-numbers as 1; maxMs below minMs is raised to minMs', () => {
    for (const n of [0, -3, Number.NaN, 0.5]) assert.equal(nextAttemptDelayMs(n, noJitter), 5 * MIN, String(n));
    assert.equal(nextAttemptDelayMs(2.9, noJitter), 10 * MIN, 'fractions are floored');
    assert.equal(nextAttemptDelayMs(5, { ...noJitter, minMs: 10 * MIN, maxMs: MIN }), 10 * MIN);
  });

  it('jitter stays within +-10% of the base and never exceeds the cap', () => {
    for (const n of [1, 3, 5]) {
      const baseMs = nextAttemptDelayMs(n, noJitter);
      const low = nextAttemptDelayMs(n, { random: () => 0 });
      const high = nextAttemptDelayMs(n, { random: () => 0.999999 });
      assert.equal(low, Math.round(baseMs * 0.9));
      assert.ok(high > baseMs * 1.099 && high <= baseMs * 1.1, `${high} vs ${baseMs}`);
      for (let i = 0; i < 200; i++) {
        const d = nextAttemptDelayMs(n);
        assert.ok(d >= baseMs * 0.9 - 1 && d <= baseMs * 1.1 + 1, `${d} vs ${baseMs}`);
      }
    }
    // At the cap the spread only goes down.
    assert.equal(nextAttemptDelayMs(20, { random: () => 0.999999 }), 2 * HOUR);
    assert.equal(nextAttemptDelayMs(20, { random: () => 0 }), 0.9 * 2 * HOUR);
    // A random function outside [0, 1) is clamped.
    assert.equal(nextAttemptDelayMs(1, { random: () => 7 }), 5.5 * MIN);
    assert.equal(nextAttemptDelayMs(1, { random: () => -7 }), 4.5 * MIN);
  });
});

describe('schedule (RFC 5321 section 4.5.4.1: retry, then give up)', () => {
  const now = new Date('2026-01-01T00:00:00Z');

  it('retries at now + delay while that is before the expiry', () => {
    const expiresAt = new Date(now.getTime() + 120 * HOUR);
    assert.deepEqual(schedule(1, now, expiresAt, noJitter), { kind: 'retry', at: new Date(now.getTime() + 5 * MIN) });
    assert.deepEqual(schedule(9, now, expiresAt, noJitter), { kind: 'retry', at: new Date(now.getTime() + 2 * HOUR) });
  });

  it('exactly at the boundary: a next attempt falling on expiresAt is made, 1 ms later it expires', () => {
    const atBoundary = new Date(now.getTime() + 10 * MIN);
    assert.deepEqual(schedule(2, now, atBoundary, noJitter), { kind: 'retry', at: atBoundary });
    assert.deepEqual(schedule(2, now, new Date(atBoundary.getTime() - 1), noJitter), { kind: 'expire' });
    assert.deepEqual(schedule(2, now, new Date(atBoundary.getTime() + 1), noJitter), { kind: 'retry', at: atBoundary });
  });

  it('expires when the expiry time has already passed', () => {
    assert.deepEqual(schedule(1, now, now, noJitter), { kind: 'expire' });
    assert.deepEqual(schedule(1, now, new Date(now.getTime() - HOUR), noJitter), { kind: 'expire' });
  });

  it('the default 120 h expiry gives 64 attempts in all (as documented)', () => {
    const queuedAt = now.getTime();
    const expiresAt = new Date(queuedAt + 120 * HOUR);
    let t = queuedAt;
    let attempts = 1; // the first delivery attempt at queue time
    for (;;) {
      const next = schedule(attempts, new Date(t), expiresAt, noJitter);
      if (next.kind === 'expire') break;
      t = next.at.getTime();
      attempts++;
    }
    assert.equal(attempts, 64);
  });
});

describe('delayWarningDue', () => {
  const queuedAt = new Date('2026-01-01T00:00:00Z');
  const after = (ms: number): Date => new Date(queuedAt.getTime() + ms);

  it('is due once the message has been queued warnAfterMs, not before', () => {
    assert.equal(delayWarningDue(queuedAt, after(4 * HOUR - 1), 4 * HOUR, false), false);
    assert.equal(delayWarningDue(queuedAt, after(4 * HOUR), 4 * HOUR, false), true);
    assert.equal(delayWarningDue(queuedAt, after(30 * HOUR), 4 * HOUR, false), true);
  });

  it('is not due again once warned', () => {
    assert.equal(delayWarningDue(queuedAt, after(30 * HOUR), 4 * HOUR, true), false);
  });

  it('warnAfterMs 0 (queue.delayWarningHours = 0) means never', () => {
    assert.equal(delayWarningDue(queuedAt, after(1000 * HOUR), 0, false), false);
    assert.equal(delayWarningDue(queuedAt, after(1000 * HOUR), -1, false), false);
  });
});
