/**
 * Which connection a single statement goes to on PostgreSQL
 * (store/pg-scheduler.ts, store/postgres.ts): short statements are pipelined
 * onto the first connections, long ones and stalled connections are kept
 * away from them. The policy on its own with a fake clock; then, on real
 * PostgreSQL (only with TEGU_TEST_DATABASE_URL), that a long statement, an
 * unmarked slow one or a row lock held by a transaction does not hold up the
 * short statements that follow it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Database } from '../src/store/db.ts';
import { StatementScheduler } from '../src/store/pg-scheduler.ts';
import { openPostgres } from '../src/store/postgres.ts';
import { postgresEngine, type TestDb } from './helpers/db.ts';

const PG_URL = process.env.TEGU_TEST_DATABASE_URL;

describe('statement scheduler', () => {
  const make = (connections: number, depth = 3, stallMs = 10, spread = 1) => {
    let t = 0;
    const s = new StatementScheduler(connections, { depth, stallMs, spread, now: () => t });
    return { s, advance: (ms: number) => (t += ms) };
  };

  test('short statements fill the first connection up to the depth, then spill to the next', () => {
    const { s } = make(3);
    const picked: number[] = [];
    for (let k = 0; k < 7; k++) {
      const i = s.pick('short');
      s.start(i, 'short');
      picked.push(i);
    }
    assert.deepEqual(picked, [0, 0, 0, 1, 1, 1, 2]);
    s.done(0);
    assert.equal(s.pick('short'), 0, 'a place freed on the first connection is taken again first');
  });

  test('with spread 2, short statements take turns on the first two connections, then fill the third', () => {
    const { s } = make(4, 2, 10, 2);
    const picked: number[] = [];
    for (let k = 0; k < 6; k++) {
      const i = s.pick('short');
      s.start(i, 'short');
      picked.push(i);
    }
    assert.deepEqual(picked, [0, 1, 0, 1, 2, 2]);
    s.done(1);
    assert.equal(s.pick('short'), 1, 'the one with fewer in flight');
    s.start(1, 'short');
    s.done(0);
    s.done(0);
    s.done(1);
    s.done(1);
    // Both empty again: turns go on from the last one used (1), so 0 next.
    assert.equal(s.pick('short'), 0);
  });

  test('with spread 2, a stalled first connection leaves the short statements to the second', () => {
    const { s, advance } = make(3, 4, 10, 2);
    s.start(0, 'short');
    advance(20);
    assert.equal(s.pick('short'), 1);
    s.start(1, 'short');
    assert.equal(s.pick('short'), 1, 'still the second while the first is stalled');
  });

  test('with every connection full, the least loaded one takes the statement', () => {
    const { s } = make(2, 1);
    s.start(0, 'short');
    s.start(1, 'short');
    s.start(1, 'short');
    assert.equal(s.pick('short'), 0);
  });

  test('long statements take an idle connection, the last first, and short ones avoid it', () => {
    const { s } = make(3);
    const long = s.pick('long');
    assert.equal(long, 2);
    s.start(long, 'long');
    assert.equal(s.pick('long'), 1, 'the next long one takes another idle connection');
    s.start(0, 'short');
    s.start(1, 'long');
    // 0 holds a short statement, 1 and 2 long ones: short work goes to 0 (below depth) ...
    assert.equal(s.pick('short'), 0);
    s.start(0, 'short');
    s.start(0, 'short');
    // ... and once 0 is full, to the connection with the least long work, not behind a long statement if it can help it.
    assert.equal(s.pick('short'), 0, 'full short connection (3) scores below one running a long statement');
    s.done(2);
    assert.equal(s.pick('short'), 2, 'the connection freed by the long statement takes short work');
  });

  test('a long statement with no idle connection goes where the least is in flight', () => {
    const { s } = make(2);
    s.start(0, 'short');
    s.start(0, 'short');
    s.start(1, 'short');
    assert.equal(s.pick('long'), 1);
  });

  test('a connection whose oldest statement has run past stallMs takes no new statement while another can', () => {
    const { s, advance } = make(2);
    s.start(0, 'short');
    advance(5);
    assert.equal(s.pick('short'), 0, 'not stalled yet');
    advance(6);
    assert.equal(s.pick('short'), 1, 'stalled (11 ms): the next connection');
    s.done(0);
    assert.equal(s.pick('short'), 0, 'answered: it takes work again');
  });

  test('done() pops in order: a long statement finishing frees its connection for short work', () => {
    const { s } = make(1);
    s.start(0, 'long');
    s.start(0, 'short');
    assert.equal(s.inflight(0), 2);
    s.done(0);
    s.done(0);
    assert.equal(s.inflight(0), 0);
    assert.equal(s.pick('short'), 0);
  });

  test('a scheduler needs a connection', () => {
    assert.throws(() => new StatementScheduler(0, { depth: 1, stallMs: 1 }), RangeError);
  });
});

describe('scheduled statements on PostgreSQL', { skip: PG_URL ? false : 'TEGU_TEST_DATABASE_URL not set' }, () => {
  let t: TestDb;
  let db: Database;

  before(async () => {
    t = await postgresEngine(PG_URL!).create();
    db = openPostgres({ url: t.url!, max: 2, statementConnections: 3 });
    await db.exec('CREATE TABLE sched_rows (id int PRIMARY KEY, v int NOT NULL); INSERT INTO sched_rows VALUES (1, 0), (2, 0);');
  });
  after(async () => {
    await db?.close();
    await t?.drop();
  });

  /** Resolves with the order in which the promises settled. */
  const order = async (named: Record<string, Promise<unknown>>): Promise<string[]> => {
    const out: string[] = [];
    await Promise.all(Object.entries(named).map(([k, p]) => p.then(() => out.push(k))));
    return out;
  };
  const shorts = (n: number): Promise<unknown> => Promise.all(Array.from({ length: n }, (_, k) => db.query('SELECT $1::int AS k', [k])));
  const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

  test('a statement marked long does not hold up short statements sent after it', async () => {
    const long = db.query('SELECT pg_sleep(0.5)', [], { lane: 'long' });
    const got = await order({ long, shorts: shorts(20) });
    assert.deepEqual(got, ['shorts', 'long']);
  });

  test('an unmarked slow statement: what follows once it stalls goes to another connection', async () => {
    const slow = db.query('SELECT pg_sleep(0.5)');
    await pause(50);
    const got = await order({ slow, shorts: shorts(20) });
    assert.deepEqual(got, ['shorts', 'slow']);
  });

  test('a short statement waiting for a row lock does not hold up the short statements after it', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    let locked: () => void = () => undefined;
    const isLocked = new Promise<void>((r) => (locked = r));
    const tx = db.transaction(async (q) => {
      await q.query('SELECT v FROM sched_rows WHERE id = 1 FOR UPDATE');
      locked();
      await held;
    });
    await isLocked;
    const waiting = db.query('UPDATE sched_rows SET v = v + 1 WHERE id = 1 RETURNING v');
    await pause(50);
    const others = shorts(20);
    const got = await order({ others, timeout: pause(400).then(() => release()) });
    assert.deepEqual(got, ['others', 'timeout'], 'the other statements finished while the lock was still held');
    await tx;
    assert.deepEqual([...(await waiting)], [{ v: 1 }]);
  });

  test('results and errors come back to the statement that asked, under concurrency', async () => {
    const n = 200;
    const all = await Promise.allSettled(
      Array.from({ length: n }, (_, k) => (k % 17 === 0 ? db.query('SELECT 1 / ($1::int - $1::int) AS x', [k]) : db.query('SELECT $1::int * 2 AS x', [k]))),
    );
    all.forEach((r, k) => {
      if (k % 17 === 0) assert.equal(r.status, 'rejected', `statement ${k} divides by zero`);
      else assert.deepEqual(r.status === 'fulfilled' ? [...r.value] : r.reason, [{ x: k * 2 }]);
    });
  });
});
