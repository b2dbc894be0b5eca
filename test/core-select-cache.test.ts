/**
 * SELECT without reading messages (core/mailbox-sync.ts selectMailbox with a
 * KnownMailboxes): when the node's flag cache holds every message of the
 * mailbox at the modseq and count the statement finds, the UID map and the
 * unseen counts come from the cache, and they equal what a full read gives.
 * Any change the cache did not see (another node's append, expunge or flag
 * change, a different count, another mailbox under the name) means a full
 * read; a cache that changed between the statement and its answer falls back
 * to one. Unit cases of FlagCache.known()/messages() first, then both engines.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it, test } from 'node:test';
import { appendMessage } from '../src/core/append.ts';
import type { CoreContext } from '../src/core/context.ts';
import { FlagCache } from '../src/core/flag-cache.ts';
import { createImapCoreServices } from '../src/core/imap-services.ts';
import { MailboxChangeFeed } from '../src/core/mailbox-change-feed.ts';
import { selectMailbox, type KnownMailboxes, type MailboxView } from '../src/core/mailbox-sync.ts';
import { renameMailbox } from '../src/core/mailbox-tree.ts';
import { storeFlags } from '../src/core/message-flags.ts';
import { localDirectory } from '../src/directory/local.ts';
import type { MailboxId } from '../src/lib/ids.ts';
import type { Database, Row } from '../src/store/db.ts';
import { engines, testContext, type TestDb } from './helpers/db.ts';
import { fill, mailboxId, newAccount, rawMessage } from './helpers/mailbox-ops.ts';

const BOX = 9 as MailboxId;
const row = (uid: number, flags: string[], modseq: bigint) => ({ uid, flags, modseq });

describe('FlagCache.known() / messages()', () => {
  test('complete for the modseq it holds; appends made here join it; any other change makes it unknown', () => {
    const hints = new Map<MailboxId, (m: bigint) => void>();
    const c = new FlagCache({ watch: (id, on) => (hints.set(id, on), () => hints.delete(id)) });
    assert.equal(c.known(BOX), undefined);
    c.begin(BOX);
    c.fill(BOX, 4n, [row(2, ['\\Seen'], 2n), row(1, [], 1n)]);
    assert.deepEqual(c.known(BOX), { modseq: 4n, count: 2 });
    c.applyLocal(BOX, 4n, 5n, { kind: 'append', rows: [row(3, [], 5n)] });
    c.applyLocal(BOX, 5n, 6n, { kind: 'flags', rows: [row(1, ['\\Seen'], 6n)] });
    assert.deepEqual(c.known(BOX), { modseq: 6n, count: 3 });
    assert.deepEqual(c.messages(BOX, 6n), { uids: [1, 2, 3], unseen: 1, firstUnseenUid: 3 });
    assert.equal(c.messages(BOX, 5n), undefined, 'not as of another modseq');
    c.applyLocal(BOX, 6n, 7n, { kind: 'expunge', uids: [3] });
    assert.deepEqual(c.messages(BOX, 7n), { uids: [1, 2], unseen: 0, firstUnseenUid: null });
    hints.get(BOX)!(8n);
    assert.equal(c.known(BOX), undefined, "another node's change");
    assert.equal(c.messages(BOX, 7n), undefined);
  });

  test('entries past the age limit are still offered, and messages() confirms them', () => {
    let now = 0;
    const c = new FlagCache({ watch: () => () => {}, ttlMs: 100, now: () => now });
    c.begin(BOX);
    c.fill(BOX, 3n, [row(1, [], 1n)]);
    now = 500;
    assert.equal(c.get(BOX, [1]), undefined);
    assert.deepEqual(c.known(BOX), { modseq: 3n, count: 1 });
    assert.deepEqual(c.messages(BOX, 3n)?.uids, [1]);
    assert.ok(c.get(BOX, [1]), 'trusted again once the store confirmed the modseq');

    // Aside again; a change made here that follows on exactly is applied to them, and they stay confirmable.
    now = 1000;
    assert.equal(c.get(BOX, [1]), undefined);
    c.applyLocal(BOX, 3n, 4n, { kind: 'append', rows: [row(2, ['\\Seen'], 4n)] });
    assert.deepEqual(c.known(BOX), { modseq: 4n, count: 2 });
    assert.equal(c.messages(BOX, 3n), undefined);
    assert.deepEqual(c.messages(BOX, 4n), { uids: [1, 2], unseen: 1, firstUnseenUid: 1 });
    // One that does not follow on (another node's change came first): they are dropped.
    now = 2000;
    assert.equal(c.get(BOX, [1]), undefined);
    c.applyLocal(BOX, 5n, 6n, { kind: 'flags', rows: [row(1, ['\\Seen'], 6n)] });
    assert.equal(c.known(BOX), undefined);
    assert.equal(c.messages(BOX, 4n), undefined);
  });
});

test('FlagCache: at most maxEntries messages in all, the least recently used mailboxes dropped first', () => {
  const unwatched: MailboxId[] = [];
  const c = new FlagCache({ watch: (id) => () => unwatched.push(id), maxEntries: 5 });
  const a = 1 as MailboxId;
  const b = 2 as MailboxId;
  const d = 3 as MailboxId;
  for (const id of [a, b]) {
    c.begin(id);
    c.fill(id, 1n, [row(1, [], 1n), row(2, [], 1n)]);
  }
  assert.equal(c.entries, 4);
  assert.ok(c.get(a, [1]), 'a used last');
  c.begin(d);
  c.fill(d, 1n, [row(1, [], 1n), row(2, [], 1n), row(3, [], 1n)]);
  assert.deepEqual(unwatched, [b], 'the least recently used other mailbox goes');
  assert.equal(c.entries, 5);
  assert.ok(c.get(a, [1, 2]) && c.get(d, [1, 2, 3]));
  c.applyLocal(d, 1n, 2n, { kind: 'expunge', uids: [3] });
  c.applyLocal(a, 1n, 2n, { kind: 'append', rows: [row(3, [], 2n)] });
  assert.equal(c.entries, 5);
  c.clear();
  assert.equal(c.entries, 0);
});

/** A database that counts the statements that read message rows of the snapshot. */
function counting(db: Database): { db: Database; reads: () => number } {
  let n = 0;
  return {
    db: {
      ...db,
      query: async <R extends Row = Row>(text: string, params?: readonly unknown[], opts?: Parameters<Database['query']>[2]) => {
        const rows = await db.query<R>(text, params, opts);
        if (/all_uids/.test(text) && rows[0] && (rows[0] as Record<string, unknown>).known === false) n++;
        return rows;
      },
    },
    reads: () => n,
  };
}

const strip = (v: MailboxView) => ({ ...v, uids: [...v.uids] });

for (const engine of engines()) {
  describe(`SELECT from the node's flag cache (${engine.name})`, () => {
    let t: TestDb;
    let ctx: CoreContext;
    let feed: MailboxChangeFeed;
    before(async () => {
      t = await engine.create();
      ctx = testContext(t.db);
      feed = new MailboxChangeFeed(t.db);
      await feed.ready();
    });
    after(async () => {
      await feed.close();
      await t.drop();
    });

    it('reads no message once the cache holds them all, and answers exactly what a full read does', async () => {
      const account = await newAccount(ctx, 'selcache');
      const box = await mailboxId(ctx, account, 'INBOX');
      await fill(t.db, box, 5, 'sel');
      await storeFlags(ctx, { accountId: account, mailboxId: box, uids: [{ first: 1, last: 2 }], operation: 'add', flags: ['\\Seen'] });
      const q = counting(t.db);
      const services = createImapCoreServices(q.db, localDirectory(q.db, { subaddressSeparator: () => '+' }), { node: 'n1', feed });
      const full = async (): Promise<MailboxView> => selectMailbox(ctx, account, { name: 'INBOX' });

      await services.selectMailbox(account, { name: 'INBOX' }, { claimRecent: false });
      assert.equal(q.reads(), 1, 'the first SELECT reads the messages (and their flags, into the cache)');
      const cached = await services.selectMailbox(account, { name: 'INBOX' }, { claimRecent: false });
      assert.equal(q.reads(), 1, 'no message read');
      assert.deepEqual(strip(cached), strip(await full()));
      assert.equal(cached.unseen, 3);
      assert.equal(cached.firstUnseenUid, 3);

      // Changes through this node keep it complete: APPEND, STORE, EXPUNGE.
      const acc = { id: account, address: 'selcache@ops.test' } as Parameters<typeof services.appendMessages>[0];
      await services.appendMessages(acc, 'INBOX', [{ message: rawMessage('local'), flags: ['\\Flagged'] }]);
      await services.storeFlags({ accountId: account, mailboxId: box, uids: [{ first: 3, last: 3 }], operation: 'add', flags: ['\\Seen', '\\Deleted'] });
      await services.expunge(account, box, null);
      const after = await services.selectMailbox(account, { name: 'INBOX' }, { claimRecent: true });
      assert.equal(q.reads(), 1, 'still no message read');
      const expected = await full();
      assert.deepEqual({ ...strip(after), recent: null, recentCount: 0 }, { ...strip(expected), recent: null, recentCount: 0 });
      assert.deepEqual([...after.uids], [1, 2, 4, 5, 6]);
      assert.deepEqual(after.recent, { from: 1, to: 7 }, 'the \\Recent claim is made by the same statement');

      // Another node's append (the hint may not have arrived yet): the statement sees another modseq and reads.
      await appendMessage(t.db, { mailboxId: box, raw: rawMessage('remote') });
      const remote = await services.selectMailbox(account, { name: 'INBOX' }, { claimRecent: false });
      assert.equal(q.reads(), 2);
      assert.deepEqual(strip(remote), strip(await full()));
      assert.equal(remote.messageCount, 6);
    });

    it('any change the cache did not see, or another mailbox under the name, means a full read', async () => {
      const account = await newAccount(ctx, 'selcache2');
      const box = await mailboxId(ctx, account, 'INBOX');
      await fill(t.db, box, 3, 'x');
      const known = (over: Partial<{ mailboxId: MailboxId; modseq: bigint; count: number }>, messages?: number[]): KnownMailboxes => ({
        known: () => ({ mailboxId: box, modseq: 4n, count: 3, ...over }),
        messages: () => (messages ? { uids: messages, unseen: messages.length, firstUnseenUid: messages[0] ?? null } : undefined),
        learn: () => {},
      });
      const truth = strip(await selectMailbox(ctx, account, { name: 'INBOX' }));
      // A wrong count, modseq or mailbox: the statement reads the messages, the answer is the truth
      // (the lying cache's messages are never asked for).
      for (const over of [{ count: 2 }, { modseq: 3n }, { mailboxId: (box + 1000) as MailboxId }]) {
        assert.deepEqual(strip(await selectMailbox(ctx, account, { name: 'INBOX' }, { cache: known(over, [7, 8, 9]) })), truth, JSON.stringify(over, (_k, v) => (typeof v === 'bigint' ? String(v) : v)));
      }
      // Right modseq and count, but the cache changed before the answer came: a second, full read.
      assert.deepEqual(strip(await selectMailbox(ctx, account, { name: 'INBOX' }, { cache: known({}) })), truth);
      // INBOX renamed (its messages move to the new name, RFC 9051 6.3.6): a change the cache did not see.
      await renameMailbox(ctx, account, 'INBOX', 'Old');
      const emptied = strip(await selectMailbox(ctx, account, { name: 'INBOX' }, { cache: known({}, [1, 2, 3]) }));
      assert.deepEqual(emptied.uids, []);
      assert.deepEqual(strip(await selectMailbox(ctx, account, { name: 'Old' }, { cache: known({}, [1, 2, 3]) })).uids, [1, 2, 3]);
    });
  });
}
