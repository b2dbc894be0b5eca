/**
 * The outbound queue's SQL on both engines: claims (one domain at a time,
 * SKIP LOCKED, a lease), results only from the current claim, a dead
 * node's lease running out, hold / release / retry / delete, the history
 * pruned with its blob, and the blob collector leaving queued blobs alone.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { collectGarbageBlobs, sweepUnreferencedBlobs } from '../src/core/mail-gc.ts';
import type { Database } from '../src/store/db.ts';
import { putBlob } from '../src/store/messages.ts';
import {
  claimDue, deleteQueued, enqueueMessage, enqueueWithBlob, finishAttempts, listQueue, messageEntries, nextDueAt, pruneQueueHistory,
  readBlobSlice, readQueuedPrefix, renewLeases, retryNow, setHeld, type QueueMessageId,
} from '../src/store/queue.ts';
import { engines, type TestDb } from './helpers/db.ts';

async function queue(db: Database, body: string, recipients: string[], opts: { expiresInMs?: number } = {}): Promise<QueueMessageId> {
  const data = Buffer.from(`From: a@corp.test\r\nSubject: ${body}\r\n\r\n${body}\r\n`);
  return db.transaction(async (tx) => {
    const blobId = await putBlob(tx, createHash('sha256').update(data).digest(), data);
    return enqueueMessage(tx, {
      blobId,
      headerPrefix: Buffer.from('Received: test\r\n'),
      size: data.length + 16,
      mailFrom: 'a@corp.test',
      expiresAt: new Date(Date.now() + (opts.expiresInMs ?? 3_600_000)),
      recipients: recipients.map((address) => ({ address, notify: address.startsWith('never') ? ['NEVER'] : undefined, orcpt: `rfc822;${address}` })),
      sessionId: 'sess1',
    });
  });
}

for (const engine of engines()) {
  describe(`outbound queue store (${engine.name})`, () => {
    let t: TestDb;
    before(async () => {
      t = await engine.create();
    });
    after(async () => {
      await t.drop();
    });

    it('enqueue, then claims take one domain at a time, each row once, with its message and DSN options', async () => {
      const id = await queue(t.db, 'claims', ['x@one.test', 'y@one.test', 'never@two.test', 'z@ONE.test']);
      const first = await claimDue(t.db, 'n1', 60, 100);
      assert.deepEqual(first.map((r) => r.address).sort(), ['x@one.test', 'y@one.test', 'z@ONE.test']);
      assert.ok(first.every((r) => r.domain === 'one.test' && r.attempt === 1 && r.message.id === id));
      assert.equal(first[0]!.orcpt, 'rfc822;x@one.test');
      assert.equal(first[0]!.message.sessionId, 'sess1');
      // Claimed rows are not due any more; the other domain is.
      const second = await claimDue(t.db, 'n2', 60, 100);
      assert.deepEqual(second.map((r) => r.address), ['never@two.test']);
      assert.deepEqual(second[0]!.notify, ['NEVER']);
      assert.deepEqual(await claimDue(t.db, 'n3', 60, 100), []);
      const prefix = await readQueuedPrefix(t.db, id);
      assert.equal(prefix?.toString(), 'Received: test\r\n');
      assert.equal((await readBlobSlice(t.db, first[0]!.message.blobId, 0, 4)).toString(), 'From');
      // Finish them all.
      const written = await finishAttempts(t.db, [...first, ...second].map((r) => ({ id: r.id, attempt: r.attempt, status: 'delivered' as const, code: 250, text: 'ok', host: 'mx' })));
      assert.equal(written.size, 4);
      assert.ok((await messageEntries(t.db, id)).every((e) => e.status === 'delivered' && e.lastCode === 250));
    });

    it('enqueueWithBlob: blob and queue rows in one statement; the same bytes twice share one blob', async () => {
      const data = Buffer.from('From: a@corp.test\r\nSubject: twice\r\n\r\nsame bytes\r\n');
      const sha = createHash('sha256').update(data).digest();
      const common = { headerPrefix: Buffer.alloc(0), size: data.length, mailFrom: 'a@corp.test', expiresAt: new Date(Date.now() + 60_000), eightBit: true };
      const one = await enqueueWithBlob(t.db, sha, data, { ...common, recipients: [{ address: 'x@twice.test', notify: ['SUCCESS', 'FAILURE'] }] });
      const two = await enqueueWithBlob(t.db, sha, data, { ...common, recipients: [{ address: 'y@twice.test' }, { address: 'z@twice.test' }] });
      assert.notEqual(one, two);
      const claimed = await claimDue(t.db, 'n1', 60, 10, [], 1024);
      assert.deepEqual(claimed.map((r) => r.address), ['x@twice.test', 'y@twice.test', 'z@twice.test']);
      assert.equal(new Set(claimed.map((r) => r.message.blobId)).size, 1, 'one blob');
      assert.deepEqual(claimed[0]!.notify, ['SUCCESS', 'FAILURE']);
      assert.equal(claimed[0]!.message.eightBit, true);
      assert.ok(claimed.every((r) => r.message.content?.equals(data)), 'small messages come with the claim');
      await finishAttempts(t.db, claimed.map((r) => ({ id: r.id, attempt: r.attempt, status: 'delivered' as const, code: 250, text: 'ok' })));
    });

    it('excluded domains are skipped, and a batch holds at most the limit', async () => {
      await queue(t.db, 'exclude', ['a@busy.test', 'b@busy.test', 'c@free.test']);
      const got = await claimDue(t.db, 'n1', 60, 100, ['busy.test']);
      assert.deepEqual(got.map((r) => r.address), ['c@free.test']);
      const one = await claimDue(t.db, 'n1', 60, 1);
      assert.equal(one.length, 1);
      assert.equal(one[0]!.domain, 'busy.test');
      const rest = await claimDue(t.db, 'n1', 60, 100);
      assert.equal(rest.length, 1);
      await finishAttempts(t.db, [...got, ...one, ...rest].map((r) => ({ id: r.id, attempt: r.attempt, status: 'failed' as const, code: 550, text: 'no' })));
    });

    it("a dead node's claim runs out and another node retries; the stale claim can no longer write its result", async () => {
      await queue(t.db, 'lease', ['r@lease.test']);
      const [dead] = await claimDue(t.db, 'dead-node', 1, 10);
      assert.ok(dead);
      assert.deepEqual(await claimDue(t.db, 'n2', 60, 10), [], 'leased: not due');
      await new Promise((r) => setTimeout(r, 1200));
      const [taken] = await claimDue(t.db, 'n2', 60, 10);
      assert.equal(taken?.id, dead.id);
      assert.equal(taken?.attempt, 2);
      // The dead claim comes back to life: too late.
      const stale = await finishAttempts(t.db, [{ id: dead.id, attempt: dead.attempt, status: 'failed', code: 550, text: 'stale' }]);
      assert.equal(stale.size, 0);
      const fresh = await finishAttempts(t.db, [{ id: taken!.id, attempt: taken!.attempt, status: 'queued', nextAttemptAt: new Date(Date.now() + 60_000), code: 451, enhanced: '4.4.1', text: 'later' }]);
      assert.equal(fresh.size, 1);
      const [e] = (await listQueue(t.db)).filter((x) => x.address === 'r@lease.test');
      assert.equal(e?.status, 'queued');
      assert.equal(e?.lastStatus, '4.4.1');
      assert.ok((await nextDueAt(t.db))! > new Date(Date.now() + 30_000));
    });

    it('a renewed lease keeps a long batch its own; a stale claim cannot renew', async () => {
      await queue(t.db, 'renew', ['r@renew.test']);
      const [c] = await claimDue(t.db, 'n1', 1, 10, ['lease.test']);
      assert.ok(c);
      assert.equal(await renewLeases(t.db, [{ id: c.id, attempt: c.attempt }], 60), 1);
      await new Promise((r) => setTimeout(r, 1200));
      assert.deepEqual(await claimDue(t.db, 'n2', 60, 10, ['lease.test']), [], 'renewed: not due after the first lease');
      assert.equal(await renewLeases(t.db, [{ id: c.id, attempt: c.attempt + 1 }], 60), 0, 'another attempt number renews nothing');
      await finishAttempts(t.db, [{ id: c.id, attempt: c.attempt, status: 'delivered', code: 250, text: 'ok' }]);
      assert.equal(await renewLeases(t.db, [{ id: c.id, attempt: c.attempt }], 60), 0, 'finished rows are not renewed');
    });

    it('hold keeps a message back, release and retry make it due now, delete removes it', async () => {
      const id = await queue(t.db, 'admin', ['h@hold.test']);
      assert.equal(await setHeld(t.db, id, true), 1);
      assert.deepEqual(await claimDue(t.db, 'n1', 60, 10, ['lease.test']), [], 'held: not claimed');
      assert.equal((await messageEntries(t.db, id))[0]?.status, 'held');
      assert.equal(await setHeld(t.db, id, false), 1);
      const [c] = await claimDue(t.db, 'n1', 60, 10, ['lease.test']);
      assert.equal(c?.address, 'h@hold.test');
      assert.equal(await retryNow(t.db, id), 1, 'the claimed (queued) row is due again now');
      assert.equal(await deleteQueued(t.db, id), true);
      assert.deepEqual(await messageEntries(t.db, id), []);
      assert.equal(await deleteQueued(t.db, id), false);
    });

    it('the history is pruned with its message, and the blob collector never takes a queued blob', async () => {
      const kept = await queue(t.db, 'kept in queue', ['k@gc.test']);
      const done = await queue(t.db, 'finished long ago', ['f@gc.test']);
      const claimed = await claimDue(t.db, 'n1', 60, 10, ['lease.test']);
      const f = claimed.find((r) => r.message.id === done);
      const k = claimed.find((r) => r.message.id === kept);
      assert.ok(f && k);
      await finishAttempts(t.db, [{ id: f.id, attempt: f.attempt, status: 'delivered', code: 250, text: 'ok' }]);
      // The blob sweep must not queue (or delete) blobs only the queue references.
      await sweepUnreferencedBlobs(t.db);
      await collectGarbageBlobs(t.db, { minAgeSeconds: 0 });
      assert.equal((await readBlobSlice(t.db, k.message.blobId, 0, 4)).toString(), 'From', 'still there');
      // Not old enough yet.
      assert.equal(await pruneQueueHistory(t.db, 1), 0);
      await t.db.query(`UPDATE queue_recipients SET finished_at = now() - interval '2 days' WHERE message_id = $1`, [done]);
      assert.equal(await pruneQueueHistory(t.db, 1), 1);
      assert.deepEqual(await messageEntries(t.db, done), []);
      assert.equal((await messageEntries(t.db, kept)).length, 1, 'queued messages are not history');
      const gc = await t.db.query<{ n: string }>('SELECT count(*) AS n FROM blob_gc_queue');
      assert.ok(Number(gc[0]?.n) >= 1, 'the pruned message blob went to the collector');
    });
  });
}
