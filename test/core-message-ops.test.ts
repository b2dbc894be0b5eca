/**
 * Message operations on both engines: STORE with UNCHANGEDSINCE (RFC 7162
 * 3.1.3), EXPUNGE and UID EXPUNGE (RFC 9051 6.4.3, RFC 4315), COPY with
 * COPYUID data (RFC 4315), MOVE (RFC 6851), exact quota counters, access
 * between accounts, change hints, and the blob collector. On PostgreSQL also
 * concurrent MOVEs in both directions (no deadlock), mixed concurrent
 * operations (counters stay exact) and the collector racing a delivery.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { appendMessage } from '../src/core/append.ts';
import { MAILBOX_CHANNEL } from '../src/core/change-hints.ts';
import type { CoreContext } from '../src/core/context.ts';
import { copyMessages, moveMessages } from '../src/core/copy-move.ts';
import { expungeMessages } from '../src/core/expunge.ts';
import { collectGarbageBlobs, sweepUnreferencedBlobs } from '../src/core/mail-gc.ts';
import { createMailbox } from '../src/core/mailbox-tree.ts';
import { selectMailbox } from '../src/core/mailbox-sync.ts';
import { parseFlags, storeFlags } from '../src/core/message-flags.ts';
import { InvalidInputError, NotFoundError, QuotaExceededError } from '../src/lib/errors.ts';
import type { AccountId, MailboxId } from '../src/lib/ids.ts';
import { uidRangesOf } from '../src/lib/uid-ranges.ts';
import { blobExists } from '../src/store/blob-gc.ts';
import { getMailbox } from '../src/store/mailboxes.ts';
import { listMessages, putBlob } from '../src/store/messages.ts';
import { setQuota } from '../src/core/quota.ts';
import { engines, testContext, type TestDb } from './helpers/db.ts';
import { assertCountersExact, eventually, fill, journal, mailboxId, newAccount, rawMessage } from './helpers/mailbox-ops.ts';

const one = (uid: number): { first: number; last: number }[] => [{ first: uid, last: uid }];
const all = [{ first: 1, last: 4294967295 }];

for (const engine of engines()) {
  describe(`message operations (${engine.name})`, () => {
    let t: TestDb;
    let ctx: CoreContext;
    let alice: AccountId;
    let bob: AccountId;
    let inbox: MailboxId;
    let archive: MailboxId;
    let bobInbox: MailboxId;

    before(async () => {
      t = await engine.create();
      ctx = testContext(t.db);
      alice = await newAccount(ctx, 'alice');
      bob = await newAccount(ctx, 'bob');
      inbox = await mailboxId(ctx, alice, 'INBOX');
      archive = await mailboxId(ctx, alice, 'Archive');
      bobInbox = await mailboxId(ctx, bob, 'INBOX');
    });
    after(async () => t.drop());

    it('STORE +FLAGS/-FLAGS/FLAGS: changed messages share one new modseq, unchanged keep theirs, journal rows (RFC 7162 3.1)', async () => {
      const uids = await fill(t.db, inbox, 4, 'store');
      const before = (await getMailbox(t.db, inbox))!.highestModseq;
      const r = await storeFlags(ctx, { accountId: alice, mailboxId: inbox, uids: [{ first: uids[0]!, last: uids[2]! }], operation: 'add', flags: ['\\Seen', '$Work'] });
      assert.equal(r.changed.length, 3);
      assert.equal(r.highestModseq, before + 1n);
      for (const c of r.changed) {
        assert.equal(c.modseq, before + 1n);
        assert.deepEqual(c.flags, ['\\Seen', '$Work']);
      }
      // Again: already so, nothing changes, no new modseq.
      const again = await storeFlags(ctx, { accountId: alice, mailboxId: inbox, uids: [{ first: uids[0]!, last: uids[2]! }], operation: 'add', flags: ['\\seen', '$work'] });
      assert.equal(again.changed.length, 0);
      assert.equal(again.unchanged.length, 3, 'flags and keywords compare case-insensitively');
      assert.equal(again.highestModseq, before + 1n);
      assert.equal((await getMailbox(t.db, inbox))!.highestModseq, before + 1n, 'no bump when nothing changed');
      const rm = await storeFlags(ctx, { accountId: alice, mailboxId: inbox, uids: one(uids[1]!), operation: 'remove', flags: ['$WORK'] });
      assert.deepEqual(rm.changed.map((c) => c.flags), [['\\Seen']]);
      assert.equal(rm.changed[0]!.modseq, before + 2n);
      const rep = await storeFlags(ctx, { accountId: alice, mailboxId: inbox, uids: one(uids[3]!), operation: 'replace', flags: ['\\Flagged', '\\Draft', '$A', '$a'] });
      assert.deepEqual(rep.changed[0]!.flags, ['\\Flagged', '\\Draft', '$A']);
      const flagRows = (await journal(t.db, inbox)).filter(([k]) => k === 'flags');
      assert.deepEqual(flagRows.map(([, u, m]) => [u, m]), [
        [uids[0], before + 1n],
        [uids[1], before + 1n],
        [uids[2], before + 1n],
        [uids[1], before + 2n],
        [uids[3], before + 3n],
      ]);
    });

    it('STORE UNCHANGEDSINCE: messages changed since fail and are reported, the others change (RFC 7162 3.1.3)', async () => {
      const [a, b] = await fill(t.db, inbox, 2, 'cond');
      const snapshot = (await getMailbox(t.db, inbox))!.highestModseq;
      await storeFlags(ctx, { accountId: alice, mailboxId: inbox, uids: one(b!), operation: 'add', flags: ['$Other'] });
      const r = await storeFlags(ctx, {
        accountId: alice,
        mailboxId: inbox,
        uids: [{ first: a!, last: b! }],
        operation: 'add',
        flags: ['\\Answered'],
        unchangedSince: snapshot,
      });
      assert.deepEqual(r.changed.map((c) => c.uid), [a]);
      assert.deepEqual(r.modified.map((c) => c.uid), [b]);
      assert.deepEqual(r.modified[0]!.flags, ['$Other'], 'failed message untouched');
      const zero = await storeFlags(ctx, { accountId: alice, mailboxId: inbox, uids: one(a!), operation: 'add', flags: ['\\Seen'], unchangedSince: 0n });
      assert.deepEqual(zero.modified.map((c) => c.uid), [a], 'UNCHANGEDSINCE 0 always fails');
    });

    it('STORE refuses \\Recent and bad keywords, ignores UIDs that do not exist', async () => {
      await assert.rejects(storeFlags(ctx, { accountId: alice, mailboxId: inbox, uids: all, operation: 'add', flags: ['\\Recent'] }), InvalidInputError);
      await assert.rejects(storeFlags(ctx, { accountId: alice, mailboxId: inbox, uids: all, operation: 'add', flags: ['a b'] }), InvalidInputError);
      assert.throws(() => parseFlags(['\\Bogus']), InvalidInputError);
      const r = await storeFlags(ctx, { accountId: alice, mailboxId: inbox, uids: one(999999), operation: 'add', flags: ['\\Seen'] });
      assert.deepEqual(r, { changed: [], unchanged: [], modified: [], highestModseq: (await getMailbox(t.db, inbox))!.highestModseq });
    });

    it('EXPUNGE removes only \\Deleted messages, one modseq, tombstones, exact counters, blobs queued (RFC 9051 6.4.3)', async () => {
      const box = (await createMailbox(ctx, alice, 'Expunge')).id;
      const uids = await fill(t.db, box, 5, 'exp');
      await storeFlags(ctx, { accountId: alice, mailboxId: box, uids: [one(uids[1]!)[0]!, one(uids[3]!)[0]!], operation: 'add', flags: ['\\Deleted'] });
      const before = (await getMailbox(t.db, box))!.highestModseq;
      const r = await expungeMessages(ctx, { accountId: alice, mailboxId: box });
      assert.deepEqual([...r.uids], [uids[1], uids[3]]);
      assert.equal(r.modseq, before + 1n);
      const left = await listMessages(t.db, box);
      assert.deepEqual(left.map((m) => m.uid), [uids[0], uids[2], uids[4]]);
      const tomb = (await journal(t.db, box)).filter(([k]) => k === 'expunge');
      assert.deepEqual(tomb, [['expunge', uids[1], before + 1n], ['expunge', uids[3], before + 1n]]);
      const queued = await t.db.query('SELECT blob_id FROM blob_gc_queue');
      assert.ok(queued.length >= 2, 'blobs queued for the collector, not deleted');
      const none = await expungeMessages(ctx, { accountId: alice, mailboxId: box });
      assert.equal(none.modseq, null);
      assert.equal((await getMailbox(t.db, box))!.highestModseq, before + 1n, 'an empty expunge changes nothing');
      await assertCountersExact(t.db);
    });

    it('UID EXPUNGE removes only \\Deleted messages among the UIDs (RFC 4315 2.1)', async () => {
      const box = (await createMailbox(ctx, alice, 'UidExpunge')).id;
      const uids = await fill(t.db, box, 6, 'uexp', ['\\Deleted']);
      const r = await expungeMessages(ctx, { accountId: alice, mailboxId: box, uids: [{ first: uids[1]!, last: uids[2]! }, { first: uids[5]!, last: uids[5]! }] });
      assert.deepEqual([...r.uids], [uids[1], uids[2], uids[5]]);
      assert.deepEqual(r.ranges, [{ first: uids[1], last: uids[2] }, { first: uids[5], last: uids[5] }]);
      assert.deepEqual((await listMessages(t.db, box)).map((m) => m.uid), [uids[0], uids[3], uids[4]]);
      await assertCountersExact(t.db);
    });

    it('COPY keeps blob, flags, keywords, internal date; target UIDs are uid_next.. in source order (RFC 4315 COPYUID)', async () => {
      const src = (await createMailbox(ctx, alice, 'CopySrc')).id;
      const dst = (await createMailbox(ctx, alice, 'CopyDst')).id;
      await fill(t.db, dst, 2, 'pre');
      const when = new Date('2021-03-04T05:06:07Z');
      const a = await appendMessage(t.db, { mailboxId: src, raw: rawMessage('copy a'), flags: ['\\Seen'], keywords: ['$Label1'], internalDate: when });
      const b = await appendMessage(t.db, { mailboxId: src, raw: rawMessage('copy b') });
      const dstBefore = (await getMailbox(t.db, dst))!;
      const r = await copyMessages(ctx, { accountId: alice, sourceId: src, targetId: dst, uids: [{ first: b.uid, last: b.uid }, { first: a.uid, last: a.uid }, { first: 500, last: 600 }] });
      assert.equal(r.count, 2);
      assert.equal(r.targetUidValidity, dstBefore.uidValidity);
      assert.deepEqual(r.source, [{ first: a.uid, last: b.uid }]);
      assert.deepEqual(r.target, [{ first: dstBefore.uidNext, last: dstBefore.uidNext + 1 }]);
      assert.equal(r.targetModseq, dstBefore.highestModseq + 1n);
      const srcMsgs = await listMessages(t.db, src);
      const copies = (await listMessages(t.db, dst)).slice(2);
      assert.deepEqual(copies.map((m) => m.uid), [dstBefore.uidNext, dstBefore.uidNext + 1]);
      assert.deepEqual(copies.map((m) => m.blobId), srcMsgs.map((m) => m.blobId), 'same blobs, no bytes copied');
      assert.deepEqual(copies[0]!.keywords, ['$Label1']);
      assert.equal(copies[0]!.flags.seen, true);
      assert.equal(copies[0]!.internalDate.toISOString(), when.toISOString());
      assert.deepEqual(copies.map((m) => m.modseq), [r.targetModseq, r.targetModseq]);
      assert.equal(srcMsgs.length, 2, 'source untouched');
      const search = await t.db.query<{ n: string }>(
        `SELECT count(*) AS n FROM messages m WHERE m.mailbox_id = $1
            AND (EXISTS (SELECT 1 FROM message_search s WHERE s.message_id = m.id) OR EXISTS (SELECT 1 FROM search_pending p WHERE p.message_id = m.id))`,
        [dst],
      );
      assert.equal(Number(search[0]!.n), 4, 'every copy is indexed or queued for the index');
      const selfCopy = await copyMessages(ctx, { accountId: alice, sourceId: src, targetId: src, uids: all });
      assert.equal(selfCopy.count, 2, 'COPY to the same mailbox duplicates');
      await assertCountersExact(t.db);
    });

    it('COPY over quota fails as a whole (RFC 9208 4.3)', async () => {
      const box = (await createMailbox(ctx, alice, 'QuotaCopy')).id;
      await fill(t.db, box, 2, 'quota');
      const used = Number((await t.db.query<{ s: string }>('SELECT sum(total_size) AS s FROM mailboxes WHERE account_id = $1', [alice]))[0]!.s);
      const account = (await t.db.query<{ address: string }>('SELECT address FROM accounts WHERE id = $1', [alice]))[0]!.address;
      await setQuota(ctx, account, used + 10);
      const before = (await getMailbox(t.db, archive))!;
      await assert.rejects(copyMessages(ctx, { accountId: alice, sourceId: box, targetId: archive, uids: all, defaultQuotaBytes: 0 }), QuotaExceededError);
      assert.deepEqual(await getMailbox(t.db, archive), before, 'rolled back: no UID, no modseq used');
      const moved = await moveMessages(ctx, { accountId: alice, sourceId: box, targetId: archive, uids: all });
      assert.equal(moved.count, 2, 'MOVE stays in the account: no quota check');
      await setQuota(ctx, account, null);
      await assertCountersExact(t.db);
    });

    it('MOVE: target gets new UIDs, source gets tombstones, ids and search rows kept, counters exact (RFC 6851)', async () => {
      const src = (await createMailbox(ctx, alice, 'MoveSrc')).id;
      const dst = (await createMailbox(ctx, alice, 'MoveDst')).id;
      const uids = await fill(t.db, src, 4, 'move');
      await storeFlags(ctx, { accountId: alice, mailboxId: src, uids: one(uids[2]!), operation: 'add', flags: ['\\Flagged', '$K'] });
      const ids = new Map((await listMessages(t.db, src)).map((m) => [m.uid, m.id]));
      const s0 = (await getMailbox(t.db, src))!;
      const d0 = (await getMailbox(t.db, dst))!;
      const r = await moveMessages(ctx, { accountId: alice, sourceId: src, targetId: dst, uids: uidRangesOf([uids[1]!, uids[2]!]) });
      assert.deepEqual(r.source, [{ first: uids[1], last: uids[2] }]);
      assert.deepEqual(r.target, [{ first: 1, last: 2 }]);
      assert.equal(r.sourceModseq, s0.highestModseq + 1n);
      assert.equal(r.targetModseq, d0.highestModseq + 1n);
      const moved = await listMessages(t.db, dst);
      assert.deepEqual(moved.map((m) => m.id), [ids.get(uids[1]!), ids.get(uids[2]!)], 'same message rows (EMAILID material)');
      assert.deepEqual(moved[1]!.keywords, ['$K']);
      assert.equal(moved[1]!.flags.flagged, true);
      assert.deepEqual((await listMessages(t.db, src)).map((m) => m.uid), [uids[0], uids[3]]);
      assert.deepEqual(
        (await journal(t.db, src)).filter(([k]) => k === 'expunge'),
        [['expunge', uids[1], s0.highestModseq + 1n], ['expunge', uids[2], s0.highestModseq + 1n]],
      );
      assert.deepEqual((await journal(t.db, dst)).map(([k, u]) => [k, u]), [['append', 1], ['append', 2]]);
      await assert.rejects(moveMessages(ctx, { accountId: alice, sourceId: src, targetId: src, uids: all }), InvalidInputError);
      await assertCountersExact(t.db);
    });

    it('refuses every operation on another account\'s mailbox (NotFoundError), changing nothing', async () => {
      const uids = await fill(t.db, bobInbox, 2, 'bob', ['\\Deleted']);
      const before = await listMessages(t.db, bobInbox);
      const boxBefore = await getMailbox(t.db, bobInbox);
      const u = [{ first: uids[0]!, last: uids[1]! }];
      await assert.rejects(storeFlags(ctx, { accountId: alice, mailboxId: bobInbox, uids: u, operation: 'add', flags: ['\\Seen'] }), NotFoundError);
      await assert.rejects(expungeMessages(ctx, { accountId: alice, mailboxId: bobInbox }), NotFoundError);
      await assert.rejects(copyMessages(ctx, { accountId: alice, sourceId: bobInbox, targetId: inbox, uids: u }), NotFoundError);
      await assert.rejects(copyMessages(ctx, { accountId: alice, sourceId: inbox, targetId: bobInbox, uids: all }), NotFoundError);
      await assert.rejects(moveMessages(ctx, { accountId: alice, sourceId: bobInbox, targetId: inbox, uids: u }), NotFoundError);
      await assert.rejects(moveMessages(ctx, { accountId: alice, sourceId: inbox, targetId: bobInbox, uids: all }), NotFoundError);
      await assert.rejects(selectMailbox(ctx, alice, bobInbox), NotFoundError);
      assert.deepEqual(await listMessages(t.db, bobInbox), before);
      assert.deepEqual(await getMailbox(t.db, bobInbox), boxBefore);
    });

    it('announces every changed mailbox after commit (one hint per mailbox and modseq)', async () => {
      const src = (await createMailbox(ctx, alice, 'HintSrc')).id;
      const dst = (await createMailbox(ctx, alice, 'HintDst')).id;
      const uids = await fill(t.db, src, 2, 'hint');
      const got: { mailbox: number; modseq: string }[] = [];
      const unlisten = await t.db.listen(MAILBOX_CHANNEL, (p) => got.push(JSON.parse(p) as { mailbox: number; modseq: string }));
      try {
        const f = await storeFlags(ctx, { accountId: alice, mailboxId: src, uids: one(uids[0]!), operation: 'add', flags: ['\\Deleted'] });
        const m = await moveMessages(ctx, { accountId: alice, sourceId: src, targetId: dst, uids: one(uids[1]!) });
        const e = await expungeMessages(ctx, { accountId: alice, mailboxId: src });
        const expected = [
          { mailbox: src, modseq: f.highestModseq.toString() },
          { mailbox: dst, modseq: m.targetModseq!.toString() },
          { mailbox: src, modseq: m.sourceModseq!.toString() },
          { mailbox: src, modseq: e.modseq!.toString() },
        ];
        await eventually(() => got.length >= expected.length);
        assert.deepEqual(got, expected);
      } finally {
        await unlisten();
      }
    });

    it('blob collector: deletes blobs no message uses, keeps shared ones; the sweep finds orphans nobody queued', async () => {
      const box = (await createMailbox(ctx, alice, 'Gc')).id;
      const keep = (await createMailbox(ctx, alice, 'GcKeep')).id;
      const [lonely, shared] = await fill(t.db, box, 2, 'gc', ['\\Deleted']);
      await copyMessages(ctx, { accountId: alice, sourceId: box, targetId: keep, uids: one(shared!) });
      const blobOf = new Map((await listMessages(t.db, box)).map((m) => [m.uid, m.blobId]));
      await expungeMessages(ctx, { accountId: alice, mailboxId: box });
      await collectGarbageBlobs(t.db, { minAgeSeconds: 3600 });
      assert.ok(await blobExists(t.db, blobOf.get(lonely!)!), 'younger than the minimum age: kept');
      const r = await collectGarbageBlobs(t.db, { minAgeSeconds: 0 });
      assert.ok(r.deleted >= 1);
      assert.equal(await blobExists(t.db, blobOf.get(lonely!)!), false);
      assert.ok(await blobExists(t.db, blobOf.get(shared!)!), 'still in GcKeep');
      assert.equal((await t.db.query('SELECT 1 FROM blob_gc_queue')).length, 0, 'queue drained');
      // An orphan nobody queued (as after an account deletion).
      const orphan = await putBlob(t.db, createHash('sha256').update('orphan').digest(), Buffer.from('orphan'));
      assert.ok((await sweepUnreferencedBlobs(t.db)) >= 1);
      await collectGarbageBlobs(t.db, { minAgeSeconds: 0 });
      assert.equal(await blobExists(t.db, orphan), false);
      // Content that comes back after its blob was collected is stored again.
      const again = await appendMessage(t.db, { mailboxId: box, raw: rawMessage('after gc') });
      assert.ok(again.uid);
      await assertCountersExact(t.db);
    });

    if (engine.name === 'postgres') {
      it('concurrent MOVE A->B and B->A never deadlock; counters stay exact (locks in id order)', async () => {
        const a = (await createMailbox(ctx, alice, 'PingA')).id;
        const b = (await createMailbox(ctx, alice, 'PingB')).id;
        await fill(t.db, a, 20, 'pa');
        await fill(t.db, b, 20, 'pb');
        const errors: unknown[] = [];
        const mover = async (from: MailboxId, to: MailboxId): Promise<void> => {
          for (let i = 0; i < 25; i++) {
            try {
              // Move the lowest few UIDs present (as a client would after a SEARCH).
              const view = await selectMailbox(ctx, alice, from);
              const pick = [...view.uids].slice(0, 3);
              if (pick.length) await moveMessages(ctx, { accountId: alice, sourceId: from, targetId: to, uids: uidRangesOf(pick) });
            } catch (e) {
              errors.push(e);
            }
          }
        };
        await Promise.all([mover(a, b), mover(b, a), mover(a, b), mover(b, a)]);
        assert.deepEqual(errors, [], 'no deadlock or serialization errors');
        const total = (await listMessages(t.db, a)).length + (await listMessages(t.db, b)).length;
        assert.equal(total, 40, 'no message lost or duplicated');
        await assertCountersExact(t.db);
      });

      it('concurrent STOREs on the same messages: no lost update, one distinct modseq per changing STORE, journal complete', async () => {
        const box = (await createMailbox(ctx, alice, 'Race')).id;
        const uids = await fill(t.db, box, 3, 'race');
        const range = [{ first: uids[0]!, last: uids[2]! }];
        // 12 STOREs at once, each adding its own keyword to all three messages.
        const results = await Promise.all(
          Array.from({ length: 12 }, (_, i) => storeFlags(ctx, { accountId: alice, mailboxId: box, uids: range, operation: 'add', flags: [`k${i}`] })),
        );
        const modseqs = results.map((r) => r.highestModseq);
        assert.equal(new Set(modseqs).size, 12, 'each STORE got its own modseq');
        for (const r of results) assert.equal(r.changed.length, 3);
        const rows = await listMessages(t.db, box);
        for (const m of rows) {
          assert.deepEqual([...m.keywords].sort(), Array.from({ length: 12 }, (_, i) => `k${i}`).sort(), 'no keyword lost');
          assert.equal(BigInt(m.modseq), modseqs.reduce((a, b) => (a > b ? a : b)), 'the last STORE\'s modseq');
        }
        const flagChanges = (await journal(t.db, box)).filter(([k]) => k === 'flags');
        assert.equal(flagChanges.length, 36, 'a journal row per message per STORE');
        assert.deepEqual(new Set(flagChanges.map(([, , ms]) => ms)), new Set(modseqs));
        const mailbox = await getMailbox(t.db, box);
        assert.equal(BigInt(mailbox!.highestModseq), modseqs.reduce((a, b) => (a > b ? a : b)));
      });

      it('concurrent +FLAGS and -FLAGS of one flag: the last changing STORE (highest modseq) decides, each change journaled once', async () => {
        const box = (await createMailbox(ctx, alice, 'Toggle')).id;
        const [uid] = await fill(t.db, box, 1, 'toggle');
        const one = [{ first: uid!, last: uid! }];
        for (let round = 0; round < 3; round++) {
          const results = await Promise.all(
            Array.from({ length: 16 }, (_, i) =>
              storeFlags(ctx, { accountId: alice, mailboxId: box, uids: one, operation: i % 2 ? 'add' : 'remove', flags: ['\\Seen'] }).then((r) => ({ r, add: i % 2 === 1 })),
            ),
          );
          const changing = results.filter(({ r }) => r.changed.length > 0);
          assert.ok(changing.length >= 1);
          assert.equal(new Set(changing.map(({ r }) => r.changed[0]!.modseq)).size, changing.length, 'one modseq per changing STORE');
          const last = changing.reduce((a, b) => (a.r.changed[0]!.modseq > b.r.changed[0]!.modseq ? a : b));
          const [m] = await listMessages(t.db, box);
          assert.equal(m!.flags.seen, last.add, 'the state the last changing STORE reported');
          assert.equal(BigInt(m!.modseq), last.r.changed[0]!.modseq);
          // Each changing STORE reported the flag as it made it.
          for (const { r, add } of changing) assert.equal(r.changed[0]!.flags.includes('\\Seen'), add);
        }
        const mailbox = await getMailbox(t.db, box);
        const flagChanges = (await journal(t.db, box)).filter(([k]) => k === 'flags');
        assert.ok(BigInt(mailbox!.highestModseq) >= BigInt(flagChanges.length));
      });

      it('mixed concurrent appends, stores, copies, moves and expunges keep counters exact', async () => {
        const boxes = [
          (await createMailbox(ctx, alice, 'MixA')).id,
          (await createMailbox(ctx, alice, 'MixB')).id,
          (await createMailbox(ctx, alice, 'MixC')).id,
        ];
        for (const b of boxes) await fill(t.db, b, 10, `mix${b}`);
        const errors: unknown[] = [];
        const pick = (n: number): MailboxId => boxes[n % boxes.length]!;
        const worker = async (w: number): Promise<void> => {
          for (let i = 0; i < 30; i++) {
            const from = pick(w + i);
            const to = pick(w + i + 1);
            try {
              switch ((w + i) % 5) {
                case 0:
                  await appendMessage(t.db, { mailboxId: from, raw: rawMessage(`mix ${w} ${i}`) });
                  break;
                case 1:
                  await storeFlags(ctx, { accountId: alice, mailboxId: from, uids: all, operation: i % 2 ? 'add' : 'remove', flags: ['\\Deleted'] });
                  break;
                case 2:
                  await copyMessages(ctx, { accountId: alice, sourceId: from, targetId: to, uids: [{ first: 1, last: 4 + i }] });
                  break;
                case 3:
                  await moveMessages(ctx, { accountId: alice, sourceId: from, targetId: to, uids: [{ first: i + 1, last: i + 6 }] });
                  break;
                default:
                  await expungeMessages(ctx, { accountId: alice, mailboxId: from, uids: i % 2 ? null : [{ first: 1, last: 20 + i }] });
              }
            } catch (e) {
              errors.push(e);
            }
          }
        };
        await Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
        assert.deepEqual(errors, []);
        await assertCountersExact(t.db);
        for (const b of boxes) {
          const changes = await journal(t.db, b);
          const uids = (await listMessages(t.db, b)).map((m) => m.uid);
          const expunged = new Set(changes.filter(([k]) => k === 'expunge').map(([, u]) => u));
          assert.ok(uids.every((u) => !expunged.has(u)), 'no live message has a tombstone');
          assert.equal(new Set(uids).size, uids.length);
        }
      });

      it('the blob collector skips a blob a delivery is reusing, and never deletes it from under it', async () => {
        const box = (await createMailbox(ctx, alice, 'GcRace')).id;
        const raw = rawMessage('gc race');
        const first = await appendMessage(t.db, { mailboxId: box, raw });
        await storeFlags(ctx, { accountId: alice, mailboxId: box, uids: one(first.uid), operation: 'add', flags: ['\\Deleted'] });
        const oldBlob = (await listMessages(t.db, box))[0]!.blobId;
        await collectGarbageBlobs(t.db, { minAgeSeconds: 0 }); // drain what earlier tests queued
        await expungeMessages(ctx, { accountId: alice, mailboxId: box });
        const sha = createHash('sha256').update(raw).digest();
        let release!: () => void;
        const hold = new Promise<void>((res) => (release = res));
        let reused!: () => void;
        const reusedNow = new Promise<void>((res) => (reused = res));
        // A multi-recipient delivery: putBlob (FOR KEY SHARE) finds the old blob, then pauses before inserting.
        const delivery = t.db.transaction(async (tx) => {
          const id = await putBlob(tx, sha, raw);
          reused();
          await hold;
          return id;
        });
        await reusedNow;
        try {
          const during = await collectGarbageBlobs(t.db, { minAgeSeconds: 0 });
          assert.deepEqual(during, { deleted: 0, busy: 1 }, 'the blob in use was skipped and stays queued');
        } finally {
          release();
        }
        const blobId = await delivery;
        assert.equal(blobId, oldBlob, 'the delivery reused the old blob');
        assert.ok(await blobExists(t.db, blobId));
        // The other path: insertMessage's ON CONFLICT DO UPDATE racing the collector.
        const results = await Promise.all([appendMessage(t.db, { mailboxId: box, raw }), collectGarbageBlobs(t.db, { minAgeSeconds: 0 })]);
        const msgs = await listMessages(t.db, box);
        assert.equal(msgs.length, 1);
        assert.ok(await blobExists(t.db, msgs[0]!.blobId), `blob of the new message exists (${JSON.stringify(results[1])})`);
      });
    }
  });
}
