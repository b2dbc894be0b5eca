/** The per-node fan-out of mailbox change hints (core/mailbox-change-feed.ts), on both engines. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { appendMessage } from '../src/core/append.ts';
import { MAILBOX_CHANNEL } from '../src/core/change-hints.ts';
import { MailboxChangeFeed, parseMailboxHint, type MailboxChange } from '../src/core/mailbox-change-feed.ts';
import type { MailboxId } from '../src/lib/ids.ts';
import { engines, testContext, type TestDb } from './helpers/db.ts';
import { eventually, mailboxId, newAccount, rawMessage } from './helpers/mailbox-ops.ts';

describe('parseMailboxHint', () => {
  it('reads the payload change-hints.ts sends and drops anything else', () => {
    assert.deepEqual(parseMailboxHint('{"mailbox":12,"modseq":"34"}'), { mailboxId: 12, modseq: 34n });
    for (const bad of ['', 'null', '[]', '{"mailbox":"12","modseq":"34"}', '{"mailbox":12,"modseq":34}', '{"mailbox":-1,"modseq":"1"}', '{"mailbox":1.5,"modseq":"1"}', '{"mailbox":1,"modseq":"1e3"}', '{"mailbox":1}', 'not json']) {
      assert.equal(parseMailboxHint(bad), undefined, bad);
    }
  });
});

for (const engine of engines()) {
  describe(`mailbox change feed (${engine.name})`, () => {
    let t: TestDb;
    before(async () => {
      t = await engine.create();
    });
    after(async () => {
      await t.drop();
    });

    it('one LISTEN fans out to every watcher of a mailbox; others and unsubscribed ones hear nothing', async () => {
      const ctx = testContext(t.db);
      const account = await newAccount(ctx, 'feed');
      const inbox = await mailboxId(ctx, account, 'INBOX');
      const drafts = await mailboxId(ctx, account, 'Drafts');
      const feed = new MailboxChangeFeed(t.db);
      try {
        const a: MailboxChange[] = [];
        const b: MailboxChange[] = [];
        const d: MailboxChange[] = [];
        const stopA = feed.watchMailbox(inbox, (c) => a.push(c));
        const stopB = feed.watchMailbox(inbox, (c) => b.push(c));
        feed.watchMailbox(drafts, (c) => d.push(c));
        await feed.ready();
        assert.equal(feed.watchedMailboxes, 2);
        const r = await appendMessage(t.db, { mailboxId: inbox, raw: rawMessage('hint one') });
        await eventually(() => a.length >= 1 && b.length >= 1);
        assert.deepEqual(a.at(-1), { mailboxId: inbox, modseq: r.modseq });
        assert.deepEqual(b.at(-1), { mailboxId: inbox, modseq: r.modseq });
        assert.equal(d.length, 0, 'a watcher of another mailbox is not called');
        stopA();
        stopA(); // idempotent
        const r2 = await appendMessage(t.db, { mailboxId: inbox, raw: rawMessage('hint two') });
        await eventually(() => b.some((c) => c.modseq === r2.modseq));
        assert.ok(!a.some((c) => c.modseq === r2.modseq), 'unsubscribed');
        stopB();
        assert.equal(feed.watchedMailboxes, 1);
        // Junk on the channel (anyone with database access can NOTIFY) is dropped, not thrown.
        await t.db.notify(MAILBOX_CHANNEL, 'garbage');
        await t.db.notify(MAILBOX_CHANNEL, JSON.stringify({ mailbox: drafts, modseq: '7' }));
        await eventually(() => d.length === 1);
        assert.deepEqual(d[0], { mailboxId: drafts as MailboxId, modseq: 7n });
      } finally {
        await feed.close();
      }
      assert.equal(feed.watchedMailboxes, 0);
      const late: MailboxChange[] = [];
      feed.watchMailbox(inbox, (c) => late.push(c));
      assert.equal(feed.watchedMailboxes, 0, 'a closed feed takes no subscriptions');
    });
  });
}
