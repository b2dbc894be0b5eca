/**
 * The node's flag cache (core/flag-cache.ts): what it serves, when it drops
 * a mailbox (a change it cannot account for, a hint from another node, a
 * fill that raced with a change, age), and, over a real database with two
 * "nodes" (each its own caches and change feed), that a flag change made
 * through one node is read by the other at once after its hint, and within
 * the age limit when the hint is lost.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FlagCache } from '../src/core/flag-cache.ts';
import { createImapCoreServices } from '../src/core/imap-services.ts';
import { MailboxChangeFeed } from '../src/core/mailbox-change-feed.ts';
import { MessageCache } from '../src/core/message-cache.ts';
import { fetchMessages } from '../src/core/message-fetch.ts';
import { localDirectory } from '../src/directory/local.ts';
import type { MailboxId } from '../src/lib/ids.ts';
import { engines, testContext, type TestDb } from './helpers/db.ts';
import { fill, mailboxId, newAccount } from './helpers/mailbox-ops.ts';

const BOX = 3 as MailboxId;
const row = (uid: number, flags: string[], modseq: bigint) => ({ uid, flags, modseq });

function fakeFeed() {
  const hints = new Map<MailboxId, (modseq: bigint) => void>();
  let unwatched = 0;
  return {
    watch: (id: MailboxId, onHint: (m: bigint) => void) => {
      hints.set(id, onHint);
      return () => {
        hints.delete(id);
        unwatched++;
      };
    },
    hint: (id: MailboxId, m: bigint) => hints.get(id)?.(m),
    watching: () => hints.size,
    unwatched: () => unwatched,
  };
}

describe('FlagCache', () => {
  test('filled, then served; a change made here is applied in place; any other change drops the mailbox', () => {
    const feed = fakeFeed();
    const c = new FlagCache({ watch: feed.watch });
    assert.equal(c.get(BOX, [1]), undefined);
    c.begin(BOX);
    c.fill(BOX, 5n, [row(1, ['\\Seen'], 3n), row(2, [], 5n)]);
    assert.deepEqual(c.get(BOX, [1, 2])?.map((e) => e.flags), [['\\Seen'], []]);
    assert.equal(c.get(BOX, [1, 3]), undefined, 'a UID not read is a miss');

    c.applyLocal(BOX, 5n, 6n, { kind: 'flags', rows: [row(2, ['\\Flagged'], 6n)] });
    assert.deepEqual(c.get(BOX, [2]), [row(2, ['\\Flagged'], 6n)]);
    c.applyLocal(BOX, 6n, 8n, { kind: 'append' });
    assert.ok(c.get(BOX, [1, 2]), 'appended messages change no flags');
    c.applyLocal(BOX, 8n, 9n, { kind: 'expunge', uids: [1] });
    assert.equal(c.get(BOX, [1]), undefined);
    assert.ok(c.get(BOX, [2]));
    // The hints of those changes come back from the database: nothing new.
    for (const m of [6n, 8n, 9n]) feed.hint(BOX, m);
    assert.ok(c.get(BOX, [2]));

    // Another node's change: its hint drops the mailbox.
    feed.hint(BOX, 10n);
    assert.equal(c.get(BOX, [2]), undefined);
    // A fill read before that change is not kept; one read after it is.
    c.fill(BOX, 9n, [row(2, ['\\Flagged'], 6n)]);
    assert.equal(c.get(BOX, [2]), undefined);
    c.fill(BOX, 10n, [row(2, [], 10n)]);
    assert.deepEqual(c.get(BOX, [2])?.[0]?.flags, []);

    // A change made here that does not follow on (another node's came first, its hint not here yet): dropped.
    c.applyLocal(BOX, 11n, 12n, { kind: 'flags', rows: [row(2, ['\\Seen'], 12n)] });
    assert.equal(c.get(BOX, [2]), undefined);
    c.fill(BOX, 11n, [row(2, [], 10n)]);
    assert.equal(c.get(BOX, [2]), undefined, 'older than the change made here');
  });

  test('a fill that raced with a change or hint is not kept', () => {
    const feed = fakeFeed();
    const c = new FlagCache({ watch: feed.watch });
    c.begin(BOX);
    feed.hint(BOX, 7n); // arrives while the query is in flight
    c.fill(BOX, 6n, [row(1, [], 6n)]);
    assert.equal(c.get(BOX, [1]), undefined);
    c.applyLocal(BOX, 7n, 8n, { kind: 'flags', rows: [row(1, ['\\Seen'], 8n)] });
    c.fill(BOX, 7n, [row(1, [], 6n)]);
    assert.equal(c.get(BOX, [1]), undefined);
    c.fill(BOX, 8n, [row(1, ['\\Seen'], 8n)]);
    assert.deepEqual(c.get(BOX, [1])?.[0]?.flags, ['\\Seen']);
    // Without begin() nothing is kept (no subscription, so no way to hear of changes).
    c.fill(4 as MailboxId, 1n, [row(1, [], 1n)]);
    assert.equal(c.get(4 as MailboxId, [1]), undefined);
  });

  test('entries are trusted for ttlMs only; limits per mailbox and on mailboxes (which unsubscribe)', () => {
    let now = 1000;
    const feed = fakeFeed();
    const c = new FlagCache({ watch: feed.watch, ttlMs: 500, maxPerMailbox: 3, maxMailboxes: 2, now: () => now });
    c.begin(BOX);
    c.fill(BOX, 1n, [row(1, [], 1n)]);
    now += 400;
    assert.ok(c.get(BOX, [1]));
    now += 200;
    assert.equal(c.get(BOX, [1]), undefined, 'older than ttlMs');
    c.fill(BOX, 1n, [row(2, [], 1n)]);
    assert.ok(c.get(BOX, [1, 2]), 'a fill at the same modseq confirms the entries kept aside (nothing changed)');
    now += 600;
    assert.equal(c.get(BOX, [1]), undefined);
    c.fill(BOX, 2n, [row(2, ['\\Seen'], 2n)]);
    assert.equal(c.get(BOX, [1]), undefined, 'a fill at a newer modseq does not: UID 1 may have changed');
    assert.deepEqual(c.get(BOX, [2])?.[0]?.flags, ['\\Seen']);
    now += 600;
    assert.equal(c.get(BOX, [2]), undefined);
    feed.hint(BOX, 3n);
    c.fill(BOX, 2n, [row(3, [], 2n)]);
    assert.equal(c.get(BOX, [2, 3]), undefined, 'a hint above the old entries: a fill read before it is not kept');
    c.fill(BOX, 3n, [row(3, [], 2n)]);
    assert.equal(c.get(BOX, [2]), undefined, 'nor are the old entries confirmed by a newer fill');
    assert.ok(c.get(BOX, [3]));
    now += 600;
    assert.equal(c.get(BOX, [3]), undefined);
    c.applyLocal(BOX, 3n, 4n, { kind: 'flags', rows: [row(3, ['\\Seen'], 4n)] });
    c.fill(BOX, 3n, [row(1, [], 1n)]);
    assert.equal(c.get(BOX, [3]), undefined, 'a change made here while the entries were aside: a fill older than it is not kept');
    c.fill(BOX, 5n, [row(1, [], 1n), row(2, [], 1n), row(3, [], 1n), row(4, [], 1n)]);
    assert.equal(c.get(BOX, [1]), undefined, 'more than maxPerMailbox');
    for (const id of [10, 11, 12] as MailboxId[]) {
      c.begin(id);
      c.fill(id, 1n, [row(1, [], 1n)]);
    }
    assert.equal(c.mailboxes, 2);
    assert.equal(feed.watching(), 2);
    assert.ok(feed.unwatched() >= 2);
    assert.ok(c.get(12 as MailboxId, [1]));
    c.clear();
    assert.equal(feed.watching(), 0);
  });
});

for (const engine of engines()) {
  describe(`flags through two nodes' caches (${engine.name})`, () => {
    let t: TestDb;
    const feeds: MailboxChangeFeed[] = [];
    before(async () => {
      t = await engine.create();
    });
    after(async () => {
      for (const f of feeds) await f.close();
      await t.drop();
    });

    test('a change through node 1 is read through node 2 once its hint arrives; without the hint, after ttlMs', async () => {
      const ctx = testContext(t.db);
      const account = await newAccount(ctx);
      const box = await mailboxId(ctx, account, 'INBOX');
      const uids = await fill(t.db, box, 3, 'flagcache');
      const node = () => {
        const feed = new MailboxChangeFeed(t.db);
        feeds.push(feed);
        return { feed, services: createImapCoreServices(t.db, localDirectory(t.db, { subaddressSeparator: () => '+' }), { node: 'n', feed }) };
      };
      const one = node();
      const two = node();
      await Promise.all([one.feed.ready(), two.feed.ready()]);
      const read = async (n: { services: ReturnType<typeof createImapCoreServices> }) =>
        (await n.services.fetchMessages(account, box, uids, { content: 'header' })).map((m) => m.flags);
      assert.deepEqual(await read(two), [[], [], []]);

      await one.services.storeFlags({ accountId: account, mailboxId: box, uids: [{ first: uids[1]!, last: uids[1]! }], operation: 'add', flags: ['\\Flagged'] });
      // Node 1 applied its own change before answering: exact at once.
      assert.deepEqual(await read(one), [[], ['\\Flagged'], []]);
      // Node 2 hears of it through the NOTIFY.
      const deadline = Date.now() + 1000;
      let seen = await read(two);
      while (seen[1]!.length === 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
        seen = await read(two);
      }
      assert.deepEqual(seen, [[], ['\\Flagged'], []]);

      // A node whose hints are lost (no subscription works): the change is read once ttlMs passed.
      let clock = 0;
      const deaf = new FlagCache({ watch: () => () => undefined, ttlMs: 1000, now: () => clock });
      const caches = { messages: new MessageCache(1 << 20), flags: deaf };
      const viaDeaf = async () => (await fetchMessages(ctx, caches, account, box, uids, { content: 'header' })).map((m) => m.flags);
      assert.deepEqual(await viaDeaf(), [[], ['\\Flagged'], []]);
      await one.services.storeFlags({ accountId: account, mailboxId: box, uids: [{ first: uids[0]!, last: uids[0]! }], operation: 'add', flags: ['\\Seen'] });
      assert.deepEqual(await viaDeaf(), [[], ['\\Flagged'], []], 'served from the cache within ttlMs');
      clock += 1001;
      assert.deepEqual(await viaDeaf(), [['\\Seen'], ['\\Flagged'], []]);
    });
  });
}
