/**
 * The node's cache of immutable message data (core/message-cache.ts) and
 * FETCH reads through it (core/message-fetch.ts): what it keeps, its byte
 * budget, and that a cached batch reads only flags (or nothing), while a
 * flag change, an expunge and another account stay exactly as without it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { storeFlags } from '../src/core/message-flags.ts';
import { MessageCache, type MessageFacts } from '../src/core/message-cache.ts';
import { cacheAppended, fetchMessages, readMessage } from '../src/core/message-fetch.ts';
import { appendMessages } from '../src/core/append-batch.ts';
import { expungeMessages } from '../src/core/expunge.ts';
import type { MailboxId, MessageId } from '../src/lib/ids.ts';
import type { Database, Row } from '../src/store/db.ts';
import { engines, testContext, type TestDb } from './helpers/db.ts';
import { fill, mailboxId, newAccount, rawMessage } from './helpers/mailbox-ops.ts';
import { appendMessage } from '../src/core/append.ts';

const BOX = 7 as MailboxId;

function facts(uid: number, blob: number, content?: Buffer, headerEnd?: number): MessageFacts {
  const prefix = Buffer.from('Received: x\r\n');
  return {
    id: uid as MessageId,
    uid,
    size: prefix.length + blob,
    internalDate: new Date(0),
    headerPrefix: prefix,
    blobId: uid,
    ...(headerEnd === undefined ? {} : { headerEnd }),
    ...(content ? { content } : {}),
  };
}

describe('MessageCache', () => {
  test('a miss, then a hit once put; what an entry holds decides which needs it meets', () => {
    const c = new MessageCache(1 << 20);
    assert.equal(c.get(BOX, 1, 'none'), undefined);
    c.put(BOX, facts(1, 100, Buffer.alloc(20, 0x41), 20), 'header', false);
    assert.equal(c.get(BOX, 1, 'none')?.uid, 1);
    assert.ok(c.get(BOX, 1, 'headerOnly'), 'the header section is there');
    assert.equal(c.get(BOX, 1, 'header'), undefined, 'the tree was not read');
    assert.equal(c.get(BOX, 1, 'small'), undefined, 'the body was not read');
    assert.equal(c.get((BOX + 1) as MailboxId, 1, 'none'), undefined, 'another mailbox, same UID');
    // A later read with the whole blob and the tree upgrades the entry.
    c.put(BOX, facts(1, 100, Buffer.alloc(100, 0x42), 20), 'whole', true);
    assert.equal(c.get(BOX, 1, 'small')?.content?.length, 100);
    // A header-only read after that does not downgrade it.
    c.put(BOX, facts(1, 100, Buffer.alloc(20, 0x41), 20), 'header', false);
    const f = c.get(BOX, 1, 'small');
    assert.equal(f?.content?.length, 100);
    assert.equal(f?.content?.[0], 0x42);
    assert.equal(c.size, 1);
  });

  test('a blob over the per-entry limit keeps its header section only, and still serves a body FETCH by ranges', () => {
    const c = new MessageCache(1 << 20, 1000);
    c.put(BOX, facts(2, 5000, Buffer.alloc(5000), 40), 'whole', true);
    const f = c.get(BOX, 2, 'small');
    assert.ok(f, 'a large blob is read in ranges: the facts are enough');
    assert.equal(f.content?.length, 40);
    assert.ok(c.weight < 2000, `weight ${c.weight}`);
    // A small blob read without its content does not meet a body need.
    c.put(BOX, facts(3, 500), 'none', true);
    assert.equal(c.get(BOX, 3, 'small'), undefined);
  });

  test('the byte budget evicts the least recently used entries first', () => {
    const c = new MessageCache(9_000);
    for (let uid = 1; uid <= 5; uid++) c.put(BOX, facts(uid, 3000, Buffer.alloc(3000), 10), 'whole', true);
    assert.ok(c.weight <= 9_000);
    assert.equal(c.size, 2);
    assert.equal(c.get(BOX, 3, 'none'), undefined);
    assert.ok(c.get(BOX, 4, 'none'));
    // 4 was just used: putting 6 evicts 5, not 4.
    c.put(BOX, facts(6, 3000, Buffer.alloc(3000), 10), 'whole', true);
    assert.ok(c.get(BOX, 4, 'none'));
    assert.equal(c.get(BOX, 5, 'none'), undefined);
    // An entry larger than the whole budget is not kept; a budget of 0 keeps nothing.
    c.put(BOX, facts(7, 60_000, Buffer.alloc(60_000)), 'whole', true);
    assert.equal(c.get(BOX, 7, 'none'), undefined);
    const off = new MessageCache(0);
    off.put(BOX, facts(1, 10), 'none', true);
    assert.equal(off.size, 0);
  });

  test('a per-entry limit above what the store reads with a row is refused', () => {
    assert.throws(() => new MessageCache(1 << 20, 1 << 20), RangeError);
  });
});

/** A database that counts the queries it runs. */
function counting(db: Database): { db: Database; count: () => number } {
  let n = 0;
  const wrapped: Database = {
    ...db,
    query: async <R extends Row = Row>(text: string, params?: readonly unknown[], opts?: Parameters<Database['query']>[2]) => {
      n++;
      return db.query<R>(text, params, opts);
    },
  };
  return { db: wrapped, count: () => n };
}

for (const engine of engines()) {
  describe(`FETCH through the message cache (${engine.name})`, () => {
    let t: TestDb;
    before(async () => {
      t = await engine.create();
    });
    after(async () => {
      await t.drop();
    });

    test('a cached batch reads flags only (or nothing), and sees a flag change at once', async () => {
      const ctx = testContext(t.db);
      const account = await newAccount(ctx);
      const box = await mailboxId(ctx, account, 'INBOX');
      const uids = await fill(t.db, box, 3, 'cache');
      const cache = new MessageCache(1 << 20);
      const q = counting(t.db);
      const cctx = { ...ctx, db: q.db };

      const first = await fetchMessages(cctx, { messages: cache }, account, box, uids, { content: 'small' });
      assert.equal(q.count(), 1);
      assert.deepEqual(first.map((m) => m.flags), [[], [], []]);
      const body = Buffer.concat(await fromAsync(readMessage(cctx, first[1]!, 0, first[1]!.size)));
      assert.match(body.toString(), /Subject: cache1\r\n/);
      assert.equal(q.count(), 1, 'a small body comes with its row');

      // Again, without flags: no query at all; the octets are the same.
      const again = await fetchMessages(cctx, { messages: cache }, account, box, uids, { content: 'small', withState: false });
      assert.equal(q.count(), 1);
      assert.deepEqual(Buffer.concat(await fromAsync(readMessage(cctx, again[1]!, 0, again[1]!.size))), body);
      assert.equal(again[1]!.flags, undefined);

      // A flag change by anyone is seen by the next FETCH that asks for flags: one narrow query.
      await storeFlags(ctx, { accountId: account, mailboxId: box, uids: [{ first: uids[1]!, last: uids[1]! }], operation: 'add', flags: ['\\Flagged', 'Work'] });
      const before = q.count();
      const withFlags = await fetchMessages(cctx, { messages: cache }, account, box, uids, { content: 'header' });
      assert.equal(q.count(), before + 1);
      assert.deepEqual(withFlags[1]!.flags?.slice().sort(), ['Work', '\\Flagged'].sort());
      assert.ok(withFlags[1]!.modseq! > first[1]!.modseq!);

      // An expunged message leaves a FETCH with flags; another account's FETCH of the same mailbox reads nothing.
      await storeFlags(ctx, { accountId: account, mailboxId: box, uids: [{ first: uids[0]!, last: uids[0]! }], operation: 'add', flags: ['\\Deleted'] });
      await expungeMessages(ctx, { accountId: account, mailboxId: box, uids: null });
      const left = await fetchMessages(cctx, { messages: cache }, account, box, uids, { content: 'small' });
      assert.deepEqual(left.map((m) => m.uid), uids.slice(1));
      const other = await newAccount(ctx, 'other');
      assert.deepEqual(await fetchMessages(cctx, { messages: cache }, other, box, uids, { content: 'small' }), []);
    });

    test('messages appended through the node are cached as a FETCH would read them: no query, the same facts and octets', async () => {
      const ctx = testContext(t.db);
      const account = await newAccount(ctx);
      const box = await mailboxId(ctx, account, 'INBOX');
      const small = Buffer.from(
        'From: "A" <a@ops.test>\r\nTo: b@ops.test\r\nSubject: appended\r\nMessage-ID: <ap1@ops.test>\r\n' +
          'Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b--\r\n',
      );
      const big = rawMessage('appended-big', `${'y'.repeat(76)}\r\n`.repeat(2000));
      const r = await appendMessages(ctx, account, 'INBOX', [{ message: small, flags: ['\\Seen'] }, { message: big, flags: [] }]);
      const cache = new MessageCache(1 << 20);
      cacheAppended(cache, r.mailboxId, r.stored);
      small.fill(0); // the upload's buffer belongs to the session: the cache kept a copy

      const q = counting(t.db);
      const cctx = { ...ctx, db: q.db };
      const warm = await fetchMessages(cctx, { messages: cache }, account, box, r.uids, { content: 'small', withState: false });
      assert.equal(q.count(), 0, 'no query for messages this node appended');
      const cold = await fetchMessages(ctx, { messages: new MessageCache(1 << 20) }, account, box, r.uids, { content: 'small', withState: false });
      const strip = (m: (typeof warm)[number]) => ({ ...m, content: undefined, memo: undefined, flags: undefined, modseq: undefined });
      assert.deepEqual(warm.map(strip), cold.map(strip), 'the same facts, envelope and structure as read from the store');
      assert.equal(warm[0]!.content?.toString(), cold[0]!.content?.toString());
      assert.match(warm[0]!.content!.toString(), /^From: "A"/);
      assert.ok((warm[1]!.content?.length ?? 0) < 1000, 'a large message: its header section only');
      const body = Buffer.concat(await fromAsync(readMessage(cctx, warm[1]!, 0, warm[1]!.size)));
      assert.ok(body.equals(big));
    });

    test('a large message keeps its header in the cache and its body is read in ranges, the same octets', async () => {
      const ctx = testContext(t.db);
      const account = await newAccount(ctx);
      const box = await mailboxId(ctx, account, 'INBOX');
      const big = rawMessage('big', `${'x'.repeat(76)}\r\n`.repeat(2000));
      const { uid } = await appendMessage(t.db, { mailboxId: box, raw: big });
      const cache = new MessageCache(1 << 20);
      const [m] = await fetchMessages(ctx, { messages: cache }, account, box, [uid], { content: 'small' });
      const [cached] = await fetchMessages(ctx, { messages: cache }, account, box, [uid], { content: 'small', withState: false });
      assert.ok(m && cached);
      assert.ok((cached.content?.length ?? 0) < 1000, 'only the header section is kept');
      const whole = Buffer.concat(await fromAsync(readMessage(ctx, cached, 0, cached.size)));
      assert.equal(whole.length, m.size);
      assert.ok(whole.subarray(whole.length - big.length).equals(big));
    });
  });
}

async function fromAsync<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
