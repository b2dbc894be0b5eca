/**
 * What only the embedded engine (PGlite in a worker thread) has to prove:
 * it keeps the event loop free, locks its data directory, keeps transaction
 * semantics across the thread boundary and a restart, carries bytea as
 * Buffer, and delivers NOTIFY at commit only.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { addAccount } from '../src/core/accounts.ts';
import type { AccountId } from '../src/lib/ids.ts';
import { DataDirLockedError } from '../src/lib/errors.ts';
import type { Database } from '../src/store/db.ts';
import { openEmbedded } from '../src/store/embedded.ts';
import { findMailbox, insertMailboxes } from '../src/store/mailboxes.ts';
import { putBlob, readBlob } from '../src/store/messages.ts';
import { embeddedEngine, testContext, type TestDb } from './helpers/db.ts';

let testDb: TestDb;
/** The handle in use: testDb.db, or a reopened one (tests that restart replace it). */
let db: Database;
let dataDir: string;
/** Extra handles a test opened; closed after it, whatever happened. */
const opened: Database[] = [];

before(async () => {
  testDb = await embeddedEngine().create();
  db = testDb.db;
  assert.ok(testDb.dataDir);
  dataDir = testDb.dataDir;
});
afterEach(async () => {
  for (const h of opened.splice(0)) await h.close().catch(() => undefined);
});
after(async () => {
  await db?.close();
  await testDb?.drop();
});

/** Closes the current handle and opens the same data directory again. */
async function reopen(): Promise<void> {
  await db.close();
  db = await openEmbedded({ dataDir });
}

const lockFile = (): string => join(dataDir, 'tegu.lock');

/** A pid that certainly belonged to a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '']);
  assert.ok(r.pid);
  return r.pid;
}

let accountSeq = 0;
async function newAccount(): Promise<AccountId> {
  const a = await addAccount(testContext(db), {
    address: `embedded-${++accountSeq}@example.com`,
    password: 'correct horse battery staple',
    createDomain: true,
  });
  return a.id;
}

describe('embedded engine', () => {
  test('the embedded engine does not block the event loop: a timer keeps firing within 50 ms while a 1-second query runs', async (t) => {
    await db.query('SELECT 1'); // warm: the first statement is not what we measure
    /** Runs a 1-second query while a 10 ms interval timer records the largest gap between its ticks. */
    const measure = async (): Promise<{ took: number; maxGap: number; ticks: number }> => {
      let last = performance.now();
      let maxGap = 0;
      let ticks = 0;
      const timer = setInterval(() => {
        const now = performance.now();
        maxGap = Math.max(maxGap, now - last);
        last = now;
        ticks++;
      }, 10);
      const started = performance.now();
      try {
        await db.query('SELECT pg_sleep(1)');
      } finally {
        clearInterval(timer);
      }
      const took = performance.now() - started;
      return { took, maxGap: Math.max(maxGap, performance.now() - last), ticks };
    };
    // A loop blocked by the query stalls for the whole second, every time. A
    // loaded machine (other test files, the database worker itself on the same
    // cores) can delay one tick past 50 ms now and then: so every attempt must
    // show the loop running all along, and one of three must stay under 50 ms.
    const attempts: { took: number; maxGap: number; ticks: number }[] = [];
    for (let i = 0; i < 3; i++) {
      const m = await measure();
      attempts.push(m);
      t.diagnostic(`query took ${m.took.toFixed(0)} ms; ${m.ticks} ticks; largest gap between ticks ${m.maxGap.toFixed(1)} ms`);
      assert.ok(m.took >= 1000, `pg_sleep(1) returned after ${m.took.toFixed(0)} ms: the query did not really run for a second`);
      assert.ok(m.maxGap < m.took / 4, `the event loop stalled for ${m.maxGap.toFixed(1)} ms of a ${m.took.toFixed(0)} ms query`);
      assert.ok(m.ticks >= 20, `only ${m.ticks} timer ticks in ${m.took.toFixed(0)} ms`);
      if (m.maxGap < 50) break;
    }
    const best = Math.min(...attempts.map((m) => m.maxGap));
    assert.ok(best < 50, `the event loop stalled for ${best.toFixed(1)} ms at best while the query ran`);
  });

  test('a second open of the same data directory fails with DataDirLockedError while the first is open; after close it opens fine', async () => {
    await assert.rejects(openEmbedded({ dataDir }), DataDirLockedError);
    // The refused open left the holder's lock and database alone.
    assert.equal((await readFile(lockFile(), 'utf8')).trim(), `${process.pid}@${hostname()}`);
    assert.deepEqual(await db.query('SELECT 1 AS one'), [{ one: 1 }]);

    await db.close();
    await assert.rejects(readFile(lockFile(), 'utf8'), { code: 'ENOENT' }, 'close releases the lock');
    db = await openEmbedded({ dataDir });
    assert.deepEqual(await db.query('SELECT 1 AS one'), [{ one: 1 }]);
    await assert.rejects(openEmbedded({ dataDir }), DataDirLockedError, 'the reopened handle holds the lock again');
  });

  test('a stale lock file (pid of a dead process, same hostname) is taken over', async () => {
    await db.close();
    const dead = deadPid();
    await writeFile(lockFile(), `${dead}@${hostname()}`);
    db = await openEmbedded({ dataDir });
    assert.equal((await readFile(lockFile(), 'utf8')).trim(), `${process.pid}@${hostname()}`, 'the lock now names this process');
    assert.deepEqual(await db.query('SELECT 1 AS one'), [{ one: 1 }]);
  });

  test('a lock held by a live process, or by a process on another host, is not taken over', async () => {
    await db.close();
    try {
      // A live process on this host (our parent: alive, and not us).
      await writeFile(lockFile(), `${process.ppid}@${hostname()}`);
      await assert.rejects(openEmbedded({ dataDir }), DataDirLockedError);
      // Another host: whether its process lives cannot be known from here.
      await writeFile(lockFile(), `${deadPid()}@not-${hostname()}`);
      await assert.rejects(openEmbedded({ dataDir }), DataDirLockedError);
    } finally {
      await writeFile(lockFile(), `${deadPid()}@${hostname()}`); // stale again: the next open takes it over
      db = await openEmbedded({ dataDir });
    }
  });

  test('a transaction that throws rolls back; a committed one persists after close and reopen', async () => {
    const account = await newAccount();
    const boom = new Error('boom');
    await assert.rejects(
      db.transaction(async (tx) => {
        await insertMailboxes(tx, [{ accountId: account, name: 'Rolled back', specialUse: null, subscribed: true }]);
        assert.ok(await findMailbox(tx, account, 'Rolled back'), 'visible inside its own transaction');
        throw boom;
      }),
      (err) => err === boom,
    );
    assert.equal(await findMailbox(db, account, 'Rolled back'), undefined, 'rolled back: the row is not there');

    await db.transaction(async (tx) => {
      await insertMailboxes(tx, [{ accountId: account, name: 'Committed', specialUse: null, subscribed: true }]);
    });
    // The database is usable after the rollback, and the commit survives a restart.
    await reopen();
    const box = await findMailbox(db, account, 'Committed');
    assert.ok(box, 'committed row persists after close and reopen');
    assert.equal(box.accountId, account);
    assert.equal(await findMailbox(db, account, 'Rolled back'), undefined);
  });

  test('bytea round-trip of all 256 byte values returns a Buffer equal to the input', async () => {
    const data = Buffer.alloc(512);
    for (let i = 0; i < 256; i++) {
      data[i] = i;
      data[511 - i] = i;
    }
    const sha256 = createHash('sha256').update(data).digest();
    const id = await db.transaction((tx) => putBlob(tx, sha256, data));
    const back = await readBlob(db, id);
    assert.ok(Buffer.isBuffer(back), `bytea came back as ${Object.prototype.toString.call(back)}, not a Buffer`);
    assert.deepEqual(back, data);
    assert.equal(Buffer.compare(back, data), 0);
    // The same bytes again are found by their hash: the bytea key round-trips too.
    assert.equal(await putBlob(db, sha256, data), id);
    // Outside a transaction as well as inside one.
    const inTx = await db.transaction((tx) => readBlob(tx, id));
    assert.ok(Buffer.isBuffer(inTx));
    assert.deepEqual(inTx, data);
  });

  test('LISTEN/NOTIFY: a pg_notify inside a committed transaction reaches a listener; one in a rolled-back transaction does not', async () => {
    const channel = 'tegu_embedded_test';
    const received: string[] = [];
    let arrived!: () => void;
    const committedArrived = new Promise<void>((res) => (arrived = res));
    const unlisten = await db.listen(channel, (payload) => {
      received.push(payload);
      if (payload === 'committed') arrived();
    });
    try {
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.query('SELECT pg_notify($1, $2)', [channel, 'rolled back']);
          throw new Error('roll back');
        }),
        /roll back/,
      );
      await db.transaction(async (tx) => {
        await tx.query('SELECT pg_notify($1, $2)', [channel, 'committed']);
        // Not delivered before COMMIT.
        await new Promise((r) => setTimeout(r, 20));
        assert.deepEqual(received, [], 'nothing is delivered before the commit');
      });
      // Notifications arrive in commit order: had the rolled-back one leaked, it would be first.
      await Promise.race([
        committedArrived,
        new Promise((_, rej) => setTimeout(() => rej(new Error('the committed notification never arrived')), 5000)),
      ]);
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(received, ['committed']);
    } finally {
      await unlisten();
    }
    // After unlisten nothing more is delivered.
    await db.notify(channel, 'after unlisten');
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(received, ['committed']);
  });
});
