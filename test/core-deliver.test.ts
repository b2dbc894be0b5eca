import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { addAccount } from '../src/core/accounts.ts';
import { addAlias } from '../src/core/aliases.ts';
import type { CoreContext } from '../src/core/context.ts';
import { MAILBOX_CHANNEL } from '../src/core/change-hints.ts';
import { deliverMessage, type DeliveryRecipient } from '../src/core/deliver.ts';
import { addGroup } from '../src/core/groups.ts';
import { getMailboxByName } from '../src/core/mailboxes.ts';
import { resolveRecipient, type ResolvedRecipients } from '../src/core/recipients.ts';
import { MessageSpool, STALE_SPOOL_HOURS } from '../src/core/spool.ts';
import { purgeStaleSpool } from '../src/store/spool.ts';
import { localDirectory } from '../src/directory/local.ts';
import type { Directory } from '../src/directory/types.ts';
import { NotFoundError } from '../src/lib/errors.ts';
import type { AccountId } from '../src/lib/ids.ts';
import { findDomain } from '../src/store/directory.ts';
import { countBlobs, listMessages, readMessageBytes } from '../src/store/messages.ts';
import { engines, testContext, type TestDb } from './helpers/db.ts';

const PW = 'deliver test password';
const raw = (subject: string): Buffer =>
  Buffer.from(`Return-Path: <sender@remote.test>\r\nFrom: sender@remote.test\r\nSubject: ${subject}\r\n\r\nbody of ${subject}\r\n`);

for (const engine of engines()) {
  describe(`local delivery (${engine.name})`, () => {
    let t: TestDb;
    let ctx: CoreContext;
    let dir: Directory;
    const resolve = (address: string): Promise<ResolvedRecipients | undefined> =>
      resolveRecipient(dir, address, { isLocalDomain: async (d) => (await findDomain(t.db, d)) !== undefined });
    const toRecipients = (r: ResolvedRecipients): DeliveryRecipient[] =>
      r.local.map((l) => ({ accountId: l.account.id, mailbox: 'INBOX', deliveredTo: l.via }));

    before(async () => {
      t = await engine.create();
      ctx = testContext(t.db);
      dir = localDirectory(t.db, { subaddressSeparator: () => '+' });
      for (let i = 1; i <= 40; i++) {
        await addAccount(ctx, { address: `u${String(i).padStart(2, '0')}@corp.test`, password: PW, createDomain: true });
      }
      await addAlias(ctx, 'sales@corp.test', ['u01@corp.test', 'u02@corp.test', 'friend@remote.test']);
      await addGroup(ctx, { address: 'staff@corp.test', members: Array.from({ length: 10 }, (_, i) => `u${String(i + 31).padStart(2, '0')}@corp.test`) });
      await addAlias(ctx, 'loop-a@corp.test', ['loop-b@corp.test', 'u03@corp.test']);
      await addAlias(ctx, 'loop-b@corp.test', ['loop-a@corp.test']);
      await addAlias(ctx, 'ghost@corp.test', ['nobody@corp.test']);
    });
    after(async () => t.drop());

    it('resolves aliases, groups, subaddresses; loops end; unknown local targets are dropped', async () => {
      assert.equal(await resolve('missing@corp.test'), undefined);
      const sales = await resolve('sales@corp.test');
      assert.deepEqual(sales?.local.map((l) => l.account.address).sort(), ['u01@corp.test', 'u02@corp.test']);
      assert.deepEqual(sales?.remote, ['friend@remote.test']);
      const staff = await resolve('staff@corp.test');
      assert.equal(staff?.local.length, 10);
      const loop = await resolve('loop-a@corp.test');
      assert.deepEqual(loop?.local.map((l) => l.account.address), ['u03@corp.test']);
      assert.deepEqual((await resolve('ghost@corp.test'))?.local, []);
      assert.deepEqual((await resolve('ghost@corp.test'))?.remote, [], 'nobody@corp.test is ours: never forwarded');
      const plus = await resolve('u05+news@corp.test');
      assert.equal(plus?.local[0]?.via, 'u05+news@corp.test');
    });

    it('50 recipients (aliases and a group among them): one blob, a copy in every INBOX', async () => {
      const envelope = [
        ...Array.from({ length: 30 }, (_, i) => `u${String(i + 1).padStart(2, '0')}@corp.test`),
        'sales@corp.test', // u01, u02 again: one copy each
        'staff@corp.test', // u31..u40
      ];
      const byAccount = new Map<AccountId, DeliveryRecipient>();
      for (const a of envelope) for (const r of toRecipients((await resolve(a))!)) if (!byAccount.has(r.accountId)) byAccount.set(r.accountId, r);
      assert.equal(byAccount.size, 40);
      const blobsBefore = await countBlobs(t.db);
      const message = raw('all hands');
      const copies = await deliverMessage(t.db, { message, recipients: [...byAccount.values()] });
      assert.equal(copies.length, 40);
      assert.equal(await countBlobs(t.db), blobsBefore + 1, 'stored once');
      for (const c of copies) {
        assert.equal(c.uid, 1);
        const [m] = await listMessages(t.db, c.mailboxId);
        const bytes = await readMessageBytes(t.db, m!.id);
        const to = byAccount.get(c.accountId)!.deliveredTo;
        assert.ok(bytes?.equals(Buffer.concat([Buffer.from(`Delivered-To: ${to}\r\n`), message])), 'Delivered-To + the bytes as received');
        assert.equal(m!.size, bytes!.length, 'RFC822.SIZE counts the prefix');
      }
    });

    it('a failing recipient stores nothing for anyone (one transaction)', async () => {
      const a = (await resolve('u10@corp.test'))!.local[0]!.account;
      const b = (await resolve('u11@corp.test'))!.local[0]!.account;
      const inboxA = await getMailboxByName(ctx, a.id, 'INBOX');
      const before = { blobs: await countBlobs(t.db), a: (await listMessages(t.db, inboxA.id)).length };
      await assert.rejects(
        deliverMessage(t.db, {
          message: raw('half'),
          recipients: [
            { accountId: a.id, mailbox: 'INBOX', deliveredTo: a.address },
            { accountId: b.id, mailbox: 'No Such Folder', deliveredTo: b.address },
          ],
        }),
        NotFoundError,
      );
      assert.equal(await countBlobs(t.db), before.blobs);
      assert.equal((await listMessages(t.db, inboxA.id)).length, before.a);
      assert.equal((await getMailboxByName(ctx, a.id, 'INBOX')).uidNext, inboxA.uidNext, 'no UID consumed');
    });

    it('concurrent deliveries to the same recipients in opposite orders do not deadlock', async () => {
      const ids = await Promise.all(['u20', 'u21', 'u22'].map(async (u) => (await resolve(`${u}@corp.test`))!.local[0]!.account));
      const rec = ids.map((a) => ({ accountId: a.id, mailbox: 'INBOX', deliveredTo: a.address }));
      const runs = Array.from({ length: 10 }, (_, i) =>
        deliverMessage(t.db, { message: raw(`race ${i}`), recipients: i % 2 ? rec : [...rec].reverse() }),
      );
      await Promise.all(runs);
      for (const a of ids) {
        const box = await getMailboxByName(ctx, a.id, 'INBOX');
        const uids = (await listMessages(t.db, box.id)).map((m) => m.uid);
        assert.equal(new Set(uids).size, uids.length);
        assert.equal(uids.length, 11);
      }
    });

    it('a spooled message (written in chunks as it arrived) becomes one blob; per-delivery headers go before it', async () => {
      const a = (await resolve('u12@corp.test'))!.local[0]!.account;
      const spool = new MessageSpool(t.db, 1000); // small chunks: many rows
      const body = Buffer.from(`Subject: spooled\r\n\r\n${'line of text\r\n'.repeat(500)}`);
      for (let i = 0; i < body.length; i += 777) await spool.write(body.subarray(i, i + 777));
      const trace = Buffer.from('Received: from test\r\n');
      const small = new MessageSpool(t.db, 1_000_000);
      await small.write(Buffer.from('Subject: small\r\n\r\nx\r\n'));
      assert.ok(Buffer.isBuffer(await small.finish()), 'a message below one chunk never touches the spool table');
      const [copy] = await deliverMessage(t.db, {
        message: await spool.finish(),
        headers: trace,
        recipients: [{ accountId: a.id, mailbox: 'INBOX', deliveredTo: a.address }],
      });
      const stored = (await listMessages(t.db, copy!.mailboxId)).find((m) => m.uid === copy!.uid)!;
      const bytes = await readMessageBytes(t.db, stored.id);
      assert.ok(bytes?.equals(Buffer.concat([Buffer.from(`Delivered-To: ${a.address}\r\n`), trace, body])));
      assert.equal(stored.subject, 'spooled');
      const left = await t.db.query('SELECT count(*)::int AS n FROM spool_chunks');
      assert.equal(left[0]?.n, 0, 'spool rows deleted with the delivery');
    });

    it('a spool missing a chunk stores nothing', async () => {
      const a = (await resolve('u13@corp.test'))!.local[0]!.account;
      const spool = new MessageSpool(t.db, 100);
      for (let i = 0; i < 5; i++) await spool.write(Buffer.alloc(100, 65 + i));
      const spooled = await spool.finish();
      assert.ok(!Buffer.isBuffer(spooled));
      await t.db.query('DELETE FROM spool_chunks WHERE spool_id = $1 AND seq = 2', [spooled.spoolId]);
      const blobs = await countBlobs(t.db);
      await assert.rejects(deliverMessage(t.db, { message: spooled, recipients: [{ accountId: a.id, mailbox: 'INBOX', deliveredTo: a.address }] }), /incomplete/);
      assert.equal(await countBlobs(t.db), blobs);
      await spool.discard();
    });

    it('stale spool rows of dead sessions are purged; fresh ones stay', async () => {
      const old = new MessageSpool(t.db, 10);
      await old.write(Buffer.alloc(20, 1));
      const fresh = new MessageSpool(t.db, 10);
      await fresh.write(Buffer.alloc(20, 2));
      await t.db.query(`UPDATE spool_chunks SET created_at = now() - interval '2 days' WHERE spool_id = $1`, [old.spoolId]);
      assert.equal(await purgeStaleSpool(t.db, STALE_SPOOL_HOURS), 1, "one chunk row of the old spool");
      const left = await t.db.query<{ id: string }>('SELECT DISTINCT spool_id::text AS id FROM spool_chunks');
      assert.deepEqual(left.map((r) => r.id), [fresh.spoolId]);
      await fresh.discard();
    });

    it('one recipient (one statement, no transaction): an unknown folder stores nothing, not even the blob', async () => {
      const a = (await resolve('u12@corp.test'))!.local[0]!.account;
      const blobs = await countBlobs(t.db);
      await assert.rejects(
        deliverMessage(t.db, { message: raw('nowhere'), recipients: [{ accountId: a.id, mailbox: 'No Such Folder', deliveredTo: a.address }] }),
        NotFoundError,
      );
      assert.equal(await countBlobs(t.db), blobs);
    });

    it('announces each delivered copy with a NOTIFY hint after commit', async () => {
      const a = (await resolve('u13@corp.test'))!.local[0]!.account;
      const got: string[] = [];
      const unlisten = await t.db.listen(MAILBOX_CHANNEL, (p) => got.push(p));
      try {
        const copies = await Promise.all(
          ['one', 'two', 'three'].map((s) => deliverMessage(t.db, { message: raw(s), recipients: [{ accountId: a.id, mailbox: 'INBOX', deliveredTo: a.address }] })),
        );
        const deadline = Date.now() + 5000;
        while (got.length < 3 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
        const want = copies.flat().map((c) => ({ mailbox: c.mailboxId, modseq: c.modseq.toString() }));
        assert.deepEqual(new Set(got.map((p) => JSON.stringify(JSON.parse(p)))), new Set(want.map((w) => JSON.stringify(w))));
      } finally {
        await unlisten();
      }
    });

    it('an account without mailboxes (directory user, first delivery) gets them and the message', async () => {
      const a = (await resolve('u14@corp.test'))!.local[0]!.account;
      await t.db.query('DELETE FROM mailboxes WHERE account_id = $1', [a.id]);
      const [copy] = await deliverMessage(t.db, { message: raw('first ever'), recipients: [{ accountId: a.id, mailbox: 'INBOX', deliveredTo: a.address }] });
      const box = await getMailboxByName(ctx, a.id, 'INBOX');
      assert.equal(copy!.mailboxId, box.id);
      assert.equal(copy!.uid, 1);
      await getMailboxByName(ctx, a.id, 'Junk');
    });
  });
}
