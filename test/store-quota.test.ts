// Quota accounting in the store: mailboxes.message_count / total_size kept by
// every append (also concurrent ones), backfilled by migration 0002; the core
// quota functions on top. Both engines.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { addAccount } from '../src/core/accounts.ts';
import { appendMessage } from '../src/core/append.ts';
import type { CoreContext } from '../src/core/context.ts';
import { deliverMessage } from '../src/core/deliver.ts';
import { getMailboxByName } from '../src/core/mailboxes.ts';
import { checkQuota, exceedsQuota, getQuota, limitedAccounts, parseQuotaSize, setQuota } from '../src/core/quota.ts';
import { InvalidInputError, NotFoundError } from '../src/lib/errors.ts';
import type { AccountId, MailboxId } from '../src/lib/ids.ts';
import { findAccount } from '../src/store/directory.ts';
import { MIGRATIONS } from '../src/store/migrations/index.ts';
import { recentAudit } from '../src/store/ops.ts';
import { engines, testContext, type TestDb } from './helpers/db.ts';

const PW = 'quota store password';
/** Rows as plain objects in a plain array (the postgres driver returns its own Result array). */
const plain = (rows: readonly Record<string, unknown>[]): Record<string, unknown>[] => rows.map((r) => ({ ...r }));
const raw = (subject: string, fill = 0): Buffer => Buffer.from(`From: a@b.test\r\nSubject: ${subject}\r\n\r\n${'y'.repeat(fill)}\r\n`);

describe('quota sizes as operators write them', () => {
  it('parseQuotaSize: K/M/G/T are powers of 1024; 0/unlimited = 0; default = null', () => {
    assert.equal(parseQuotaSize('500M'), 500 * 1024 ** 2);
    assert.equal(parseQuotaSize('2G'), 2 * 1024 ** 3);
    assert.equal(parseQuotaSize('1.5g'), 1.5 * 1024 ** 3);
    assert.equal(parseQuotaSize('100KiB'), 102_400);
    assert.equal(parseQuotaSize('10MB'), 10 * 1024 ** 2);
    assert.equal(parseQuotaSize('12345'), 12_345);
    assert.equal(parseQuotaSize('0'), 0);
    assert.equal(parseQuotaSize('unlimited'), 0);
    assert.equal(parseQuotaSize('Default'), null);
    for (const bad of ['', '-1', '5X', 'M', '1e9', '0.1', '99999999T']) assert.throws(() => parseQuotaSize(bad), InvalidInputError, bad);
  });

  it('exceedsQuota: used + max(incoming, 1) > limit; limit 0 never', () => {
    assert.equal(exceedsQuota(100, 100, 0), true, 'exactly full: nothing more fits');
    assert.equal(exceedsQuota(99, 100, 0), false);
    assert.equal(exceedsQuota(50, 100, 50), false);
    assert.equal(exceedsQuota(50, 100, 51), true);
    assert.equal(exceedsQuota(10 ** 12, 0, 10 ** 9), false);
  });
});

for (const engine of engines()) {
  describe(`quota accounting (${engine.name})`, () => {
    let t: TestDb;
    let ctx: CoreContext;
    const ids: Record<string, AccountId> = {};
    const box = async (user: string, name = 'INBOX'): Promise<MailboxId> => (await getMailboxByName(ctx, ids[user]!, name)).id;
    /** Mailboxes whose counters differ from count(*)/sum(size) of their messages. */
    const drift = async (): Promise<unknown[]> =>
      plain(await t.db.query(
        `SELECT mb.id, mb.message_count, mb.total_size FROM mailboxes mb
          WHERE mb.message_count <> (SELECT count(*) FROM messages m WHERE m.mailbox_id = mb.id)
             OR mb.total_size <> (SELECT coalesce(sum(size), 0) FROM messages m WHERE m.mailbox_id = mb.id)`,
      ));

    before(async () => {
      t = await engine.create();
      ctx = testContext(t.db);
      for (const u of ['ann', 'ben', 'cat']) {
        ids[u] = (await addAccount(ctx, { address: `${u}@corp.test`, password: PW, createDomain: true })).id;
      }
    });
    after(async () => t.drop());

    it('appends and deliveries keep message_count and total_size (header_prefix included), across mailboxes', async () => {
      await appendMessage(t.db, { mailboxId: await box('ann'), raw: raw('one', 100) });
      await appendMessage(t.db, { mailboxId: await box('ann', 'Junk'), raw: raw('two', 200) });
      // One blob, two recipients: each message row counts its own Delivered-To.
      await deliverMessage(t.db, {
        message: raw('shared', 300),
        recipients: [
          { accountId: ids.ann!, mailbox: 'INBOX', deliveredTo: 'ann@corp.test' },
          { accountId: ids.ben!, mailbox: 'INBOX', deliveredTo: 'ben@corp.test' },
        ],
      });
      assert.deepEqual(await drift(), []);
      const sum = await t.db.query<{ s: string }>(
        'SELECT sum(m.size)::text AS s FROM messages m JOIN mailboxes mb ON mb.id = m.mailbox_id WHERE mb.account_id = $1',
        [ids.ann],
      );
      const q = await getQuota(ctx, 'ann@corp.test');
      assert.equal(q.usedBytes, Number(sum[0]!.s));
      assert.equal(q.messages, 3);
    });

    it('concurrent appends to one mailbox: the counters add up', async () => {
      const inbox = await box('cat');
      await Promise.all(Array.from({ length: 20 }, (_, i) => appendMessage(t.db, { mailboxId: inbox, raw: raw(`c${i}`, i * 10) })));
      assert.deepEqual(await drift(), []);
      assert.equal((await getQuota(ctx, 'cat@corp.test')).messages, 20);
    });

    it('checkQuota: one query for several accounts, the default for quota_bytes NULL, 0 unlimited', async () => {
      await setQuota(ctx, 'ann@corp.test', 1);
      await setQuota(ctx, 'ben@corp.test', 0);
      const usedCat = (await getQuota(ctx, 'cat@corp.test')).usedBytes;
      const byId = async (incoming: number, def: number): Promise<Record<string, boolean>> => {
        const checks = await checkQuota(t.db, [ids.ann!, ids.ben!, ids.cat!, ids.cat!], incoming, def);
        assert.equal(checks.length, 3, 'duplicates checked once');
        return Object.fromEntries(checks.map((c) => [Object.keys(ids).find((k) => ids[k] === c.accountId)!, c.over]));
      };
      assert.deepEqual(await byId(0, 0), { ann: true, ben: false, cat: false });
      assert.deepEqual(await byId(0, usedCat), { ann: true, ben: false, cat: true });
      assert.deepEqual(await byId(10, usedCat + 10), { ann: true, ben: false, cat: false });
      assert.deepEqual(await checkQuota(t.db, [999_999 as AccountId], 0, 0), [], 'unknown accounts are not reported');
    });

    it('setQuota: audited, "default" is NULL again, unknown user is NotFound', async () => {
      const q = await setQuota(ctx, 'ann@corp.test', null);
      assert.deepEqual([q.quotaBytes, q.limitBytes], [null, 0]);
      const audit = await recentAudit(t.db, 5);
      assert.ok(audit.some((e) => e.action === 'account.quota' && e.target === 'ann@corp.test'));
      await assert.rejects(setQuota(ctx, 'nobody@corp.test', 5), NotFoundError);
      await assert.rejects(setQuota(ctx, 'ann@corp.test', -1), InvalidInputError);
      assert.equal((await findAccount(t.db, 'ann@corp.test'))!.quotaBytes, null);
    });

    it('migration 0002 backfills the counters from the messages already stored', async () => {
      const counters = async (): Promise<Record<string, unknown>[]> => plain(await t.db.query('SELECT id, message_count, total_size FROM mailboxes ORDER BY id'));
      const before = await counters();
      assert.ok(before.some((r) => Number(r.total_size) > 0), 'there is something to backfill');
      // The mailboxes as before 0002 (no counters) with the messages kept, then 0002's SQL again.
      const m0002 = MIGRATIONS.find((m) => m.version === 2)!;
      assert.equal(m0002.name, 'quota-usage');
      await t.db.transaction(async (tx) => {
        await tx.exec('ALTER TABLE mailboxes DROP COLUMN message_count, DROP COLUMN total_size');
        await tx.exec(m0002.sql);
      });
      assert.deepEqual(await counters(), before);
      assert.deepEqual(await drift(), []);
    });
  });
}

describe('quota subjects', () => {
  it('only accounts that can be over a limit are queried: a known 0, or unset with an unlimited default, are not', () => {
    const id = (n: number): AccountId => n as AccountId;
    const accounts = [
      { accountId: id(1), quotaBytes: 0 },
      { accountId: id(2), quotaBytes: null },
      { accountId: id(3), quotaBytes: 1000 },
      { accountId: id(4) }, // not known: ask the store
    ];
    assert.deepEqual(limitedAccounts(accounts, 0), [3, 4]);
    assert.deepEqual(limitedAccounts(accounts, 5000), [2, 3, 4]);
  });
});
