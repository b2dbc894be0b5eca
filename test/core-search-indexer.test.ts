import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { addAccount } from '../src/core/accounts.ts';
import { appendMessage } from '../src/core/append.ts';
import { getMailboxByName } from '../src/core/mailboxes.ts';
import { SEARCH_BATCH, startSearchIndexer } from '../src/core/search-indexer.ts';
import type { MailboxId } from '../src/lib/ids.ts';
import { openPostgres } from '../src/store/postgres.ts';
import { countPendingSearch, indexPendingSearch } from '../src/store/search.ts';
import { engines, testContext, type TestDb } from './helpers/db.ts';

const raw = (subject: string, body: string): Buffer =>
  Buffer.from(`From: a@remote.test\r\nTo: b@corp.test\r\nSubject: ${subject}\r\n\r\n${body}\r\n`);

/** Message ids whose index entry matches the words. */
async function hits(t: TestDb, words: string): Promise<number[]> {
  const rows = await t.db.query<{ uid: string }>(
    `SELECT m.uid FROM message_search s JOIN messages m ON m.id = s.message_id
      WHERE s.vector @@ plainto_tsquery('simple', $1) ORDER BY m.uid`,
    [words],
  );
  return rows.map((r) => Number(r.uid));
}

async function searchRows(t: TestDb): Promise<number> {
  return Number((await t.db.query<{ n: string }>('SELECT count(*) AS n FROM message_search'))[0]!.n);
}

for (const engine of engines()) {
  describe(`search indexer (${engine.name})`, () => {
    let t: TestDb;
    let inbox: MailboxId;
    before(async () => {
      t = await engine.create();
      const ctx = testContext(t.db);
      const a = await addAccount(ctx, { address: 'b@corp.test', password: 'long enough pw', createDomain: true });
      inbox = (await getMailboxByName(ctx, a.id, 'INBOX')).id;
    });
    after(async () => t.drop());

    it('storing queues the text; a batch indexes it and empties the queue', async () => {
      const r = await appendMessage(t.db, { mailboxId: inbox, raw: raw('budget meeting', 'the zebra report') });
      assert.equal(await countPendingSearch(t.db), 1);
      assert.deepEqual(await hits(t, 'zebra'), [], 'not indexed yet');
      assert.equal(await indexPendingSearch(t.db, 10), 1);
      assert.equal(await countPendingSearch(t.db), 0);
      assert.deepEqual(await hits(t, 'zebra report'), [r.uid]);
      assert.deepEqual(await hits(t, 'budget'), [r.uid]);
      assert.equal(await indexPendingSearch(t.db, 10), 0, 'nothing left');
    });

    it('a claim that rolls back (a node dying mid-batch) leaves the rows queued for the next indexer', async () => {
      await appendMessage(t.db, { mailboxId: inbox, raw: raw('second', 'giraffe') });
      await assert.rejects(
        t.db.transaction(async (tx) => {
          assert.equal(await indexPendingSearch(tx, 10), 1);
          throw new Error('node died');
        }),
        /node died/,
      );
      assert.equal(await countPendingSearch(t.db), 1);
      assert.deepEqual(await hits(t, 'giraffe'), []);
      assert.equal(await indexPendingSearch(t.db, 10), 1);
      assert.equal((await hits(t, 'giraffe')).length, 1);
    });

    it('a message deleted while queued leaves no queue row behind', async () => {
      const r = await appendMessage(t.db, { mailboxId: inbox, raw: raw('doomed', 'ephemeral') });
      await t.db.query('DELETE FROM messages WHERE id = $1', [r.id]);
      assert.equal(await countPendingSearch(t.db), 0);
      assert.equal(await indexPendingSearch(t.db, 10), 0);
    });

    it('the running indexer wakes on the change hint and indexes without being asked', async () => {
      const indexer = await startSearchIndexer(t.db, (err) => assert.fail(String(err)));
      try {
        const r = await appendMessage(t.db, { mailboxId: inbox, raw: raw('woken', 'platypus') });
        const deadline = Date.now() + 10_000;
        while ((await hits(t, 'platypus')).length === 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
        assert.deepEqual(await hits(t, 'platypus'), [r.uid]);
      } finally {
        await indexer.stop();
      }
    });

    it(`drain() works off a queue longer than one batch (${SEARCH_BATCH})`, async () => {
      const before = await searchRows(t);
      const n = SEARCH_BATCH * 2 + 7;
      for (let i = 0; i < n; i++) await appendMessage(t.db, { mailboxId: inbox, raw: raw(`bulk ${i}`, `word${i}`) });
      const indexer = await startSearchIndexer(t.db, (err) => assert.fail(String(err)));
      try {
        await indexer.drain();
        assert.equal(await countPendingSearch(t.db), 0);
        assert.equal(await searchRows(t), before + n);
      } finally {
        await indexer.stop();
      }
    });

    if (engine.name === 'postgres') it('an EXPUNGE deleting a message while an indexer holds its queue row never deadlocks with it', async () => {
      // The indexer's statement claims the queue row, then its insert checks the
      // message row (foreign key); an EXPUNGE deletes the message row, then its
      // cascade needs the queue row. Interleaved by hand, in that order, on two
      // connections: before the fix PostgreSQL found a deadlock and aborted one.
      const r = await appendMessage(t.db, { mailboxId: inbox, raw: raw('racing', 'wombat') });
      const other = openPostgres({ url: t.url!, max: 2 });
      try {
        let claimed!: () => void;
        const claiming = new Promise<void>((res) => (claimed = res));
        let go!: () => void;
        const expungeWaits = new Promise<void>((res) => (go = res));
        const indexer = other.transaction(async (tx) => {
          // As the indexer's claim does: the queue row locked first.
          await tx.query('SELECT message_id FROM search_pending WHERE message_id = $1 FOR UPDATE', [r.id]);
          claimed();
          await expungeWaits;
          return indexPendingSearch(tx, 10);
        });
        await claiming;
        const expunge = t.db.query('DELETE FROM messages WHERE id = $1', [r.id]); // its cascade waits for the queue row
        await new Promise((res) => setTimeout(res, 300));
        go();
        const [indexed] = await Promise.all([indexer, expunge]);
        assert.equal(indexed, 0, 'the indexer skips a message being deleted');
        assert.equal(await countPendingSearch(t.db), 0, 'the queue row went with the message');
        assert.deepEqual(await hits(t, 'wombat'), []);
      } finally {
        await other.close();
      }
    });

    if (engine.name === 'postgres') it('two nodes draining one queue concurrently index every message exactly once', async () => {
      const before = await searchRows(t);
      const n = 1000;
      for (let i = 0; i < n; i++) await appendMessage(t.db, { mailboxId: inbox, raw: raw(`pair ${i}`, `token${i}`) });
      const other = openPostgres({ url: t.url!, max: 4 });
      try {
        // Both connected before the race: else the first one there can drain it all while the other still connects.
        await Promise.all([other.query('SELECT 1'), t.db.query('SELECT 1', [], { lane: 'long' })]);
        const drain = async (db: typeof other): Promise<number> => {
          let total = 0;
          for (let k; (k = await indexPendingSearch(db, 20)) > 0; ) total += k;
          return total;
        };
        const [a, b] = await Promise.all([drain(t.db), drain(other)]);
        assert.equal(a + b, n, `indexed ${a} + ${b}`);
        assert.ok(a > 0 && b > 0, `both took part: ${a} and ${b}`);
        assert.equal(await searchRows(t), before + n);
        assert.equal(await countPendingSearch(t.db), 0);
      } finally {
        await other.close();
      }
    });
  });
}
