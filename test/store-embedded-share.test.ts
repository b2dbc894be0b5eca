import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connectEmbedded } from '../src/store/embedded-remote.ts';
import { shareEmbedded, type SharedEmbedded } from '../src/store/embedded-share.ts';
import { DataDirLockedError } from '../src/lib/errors.ts';
import { openDatabase } from '../src/store/open.ts';
import { embeddedEngine, type TestDb } from './helpers/db.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('embedded control socket', () => {
  let t: TestDb;
  let shared: SharedEmbedded;
  let path: string;
  before(async () => {
    t = await embeddedEngine().create();
    path = join(t.dataDir!, 'tegu.sock');
    shared = await shareEmbedded(t.db, path, { txTimeoutMs: 500 });
    await t.db.exec('CREATE TABLE share_test (x int PRIMARY KEY)');
  });
  after(async () => {
    await shared.close();
    await t.drop();
  });

  it('the socket is private to its owner (mode 0600)', async () => {
    const s = await stat(path);
    assert.ok(s.isSocket());
    assert.equal(s.mode & 0o777, 0o600);
  });

  it('openDatabase goes through the running node only when asked (admin commands, never serve)', async () => {
    await assert.rejects(openDatabase({ dataDir: t.dataDir! }), DataDirLockedError);
    const db = await openDatabase({ dataDir: t.dataDir!, viaRunningNode: true });
    try {
      assert.deepEqual(await db.query('SELECT 41 + 1 AS n'), [{ n: 42 }]);
    } finally {
      await db.close();
    }
  });

  it('a client that disappears mid-transaction leaves nothing behind, and the engine is free again', async () => {
    const db = await connectEmbedded(path);
    let inTx!: () => void;
    const entered = new Promise<void>((r) => (inTx = r));
    const pending = db.transaction(async (tx) => {
      await tx.query('INSERT INTO share_test VALUES (1)');
      inTx();
      await new Promise(() => undefined); // never finishes
    });
    pending.catch(() => undefined);
    await entered;
    // Kill the connection under the open transaction.
    await db.close().catch(() => undefined);
    await sleep(100);
    assert.deepEqual(await t.db.query('SELECT x FROM share_test'), []);
  });

  it('a transaction left open past the limit is rolled back and its connection closed', async () => {
    const db = await connectEmbedded(path);
    const outcome = db.transaction(async (tx) => {
      await tx.query('INSERT INTO share_test VALUES (2)');
      await sleep(1500); // longer than txTimeoutMs (500)
      await tx.query('INSERT INTO share_test VALUES (3)');
    });
    await assert.rejects(outcome);
    assert.deepEqual(await t.db.query('SELECT x FROM share_test'), []);
    // Meanwhile the local engine is usable again.
    await t.db.query('INSERT INTO share_test VALUES (4)');
    await t.db.query('DELETE FROM share_test');
    await db.close().catch(() => undefined);
  });

  it('garbage on the socket closes that connection only', async () => {
    const raw = connect(path);
    await new Promise<void>((r) => raw.once('connect', () => r()));
    const closed = new Promise<void>((r) => raw.once('close', () => r()));
    raw.on('error', () => undefined);
    raw.resume(); // read (and drop) the greeting, so the end of the stream is seen
    raw.write('this is not json\n');
    await closed;
    const db = await connectEmbedded(path);
    try {
      assert.deepEqual(await db.query('SELECT 1 AS ok'), [{ ok: 1 }]);
    } finally {
      await db.close();
    }
  });

  it('SQL errors keep their SQLSTATE across the socket', async () => {
    const db = await connectEmbedded(path);
    try {
      await db.query('INSERT INTO share_test VALUES (9)');
      await assert.rejects(db.query('INSERT INTO share_test VALUES (9)'), { code: '23505' });
    } finally {
      await db.query('DELETE FROM share_test');
      await db.close();
    }
  });
});
