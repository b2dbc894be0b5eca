/**
 * Reading mailbox state: SELECT/EXAMINE snapshot (RFC 9051 6.3.2), \Recent
 * claims (RFC 3501 2.3.2), STATUS (RFC 9051 6.3.11, RFC 8438), FETCH FLAGS in
 * chunks with CHANGEDSINCE (RFC 7162 3.1.4.1), VANISHED since a modseq
 * (RFC 7162 3.2.5) and the journal pruning policy. Both engines, with a
 * 100,000-message mailbox.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { appendMessage } from '../src/core/append.ts';
import type { CoreContext } from '../src/core/context.ts';
import { expungeMessages } from '../src/core/expunge.ts';
import { pruneJournal } from '../src/core/mail-gc.ts';
import { mailboxObjectId } from '../src/core/mailbox-names.ts';
import { claimRecent, iterateFlags, mailboxStatus, mailboxStatuses, selectMailbox, vanishedSince } from '../src/core/mailbox-sync.ts';
import { createMailbox } from '../src/core/mailbox-tree.ts';
import { storeFlags, type FlagState } from '../src/core/message-flags.ts';
import { NotFoundError } from '../src/lib/errors.ts';
import type { AccountId } from '../src/lib/ids.ts';
import { countUids, expandUidRanges, uidRangesOf } from '../src/lib/uid-ranges.ts';
import { getMailbox } from '../src/store/mailboxes.ts';
import { engines, testContext, type TestDb } from './helpers/db.ts';
import { assertCountersExact, fill, journal, newAccount, rawMessage } from './helpers/mailbox-ops.ts';

async function collect(gen: AsyncIterable<FlagState[]>): Promise<{ chunks: number; rows: FlagState[] }> {
  let chunks = 0;
  const rows: FlagState[] = [];
  for await (const c of gen) {
    chunks++;
    rows.push(...c);
  }
  return { chunks, rows };
}

for (const engine of engines()) {
  describe(`mailbox sync (${engine.name})`, () => {
    let t: TestDb;
    let ctx: CoreContext;
    let alice: AccountId;
    let bob: AccountId;

    before(async () => {
      t = await engine.create();
      ctx = testContext(t.db);
      alice = await newAccount(ctx, 'alice');
      bob = await newAccount(ctx, 'bob');
    });
    after(async () => t.drop());

    it('SELECT snapshot: UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, EXISTS, the UID map, UNSEEN, MAILBOXID (RFC 9051 6.3.2)', async () => {
      const box = (await createMailbox(ctx, alice, 'Snap')).id;
      const uids = await fill(t.db, box, 6, 'snap');
      await storeFlags(ctx, { accountId: alice, mailboxId: box, uids: [{ first: uids[0]!, last: uids[1]! }], operation: 'add', flags: ['\\Seen'] });
      await storeFlags(ctx, { accountId: alice, mailboxId: box, uids: [{ first: uids[3]!, last: uids[3]! }], operation: 'add', flags: ['\\Deleted'] });
      await expungeMessages(ctx, { accountId: alice, mailboxId: box });
      const v = await selectMailbox(ctx, alice, box);
      const row = (await getMailbox(t.db, box))!;
      assert.deepEqual([...v.uids], [uids[0], uids[1], uids[2], uids[4], uids[5]]);
      assert.deepEqual(v.uidRanges, [{ first: uids[0], last: uids[2] }, { first: uids[4], last: uids[5] }]);
      assert.equal(v.messageCount, 5);
      assert.equal(v.uidNext, row.uidNext);
      assert.equal(v.uidValidity, row.uidValidity);
      assert.equal(v.highestModseq, row.highestModseq);
      assert.equal(v.unseen, 3);
      assert.equal(v.firstUnseenUid, uids[2]);
      assert.equal(v.objectId, mailboxObjectId(box, row.uidValidity));
      assert.equal(v.recent, null, 'EXAMINE / rev2 SELECT claim nothing');
      const empty = await selectMailbox(ctx, alice, (await createMailbox(ctx, alice, 'Empty')).id);
      assert.equal(empty.uids.length, 0);
      assert.equal(empty.firstUnseenUid, null);
    });

    it('\\Recent: the first read-write SELECT claims, the next gets none; new mail goes to one claimer (RFC 3501 2.3.2)', async () => {
      const box = (await createMailbox(ctx, alice, 'Recent')).id;
      await fill(t.db, box, 3, 'recent');
      const s1 = await selectMailbox(ctx, alice, box, { claimRecent: true });
      assert.equal(s1.recentCount, 3);
      assert.deepEqual(s1.recent, { from: 1, to: 4 });
      const s2 = await selectMailbox(ctx, alice, box, { claimRecent: true });
      assert.equal(s2.recentCount, 0);
      const examine = await selectMailbox(ctx, alice, box);
      assert.equal(examine.recentCount, 0);
      assert.equal((await mailboxStatus(ctx, alice, box)).recent, 0);
      await fill(t.db, box, 2, 'later');
      assert.equal((await mailboxStatus(ctx, alice, box)).recent, 2, 'STATUS RECENT: not claimed yet');
      const claims = await Promise.all([claimRecent(ctx, alice, box), claimRecent(ctx, alice, box)]);
      const sizes = claims.map((c) => c.to - c.from).sort();
      assert.deepEqual(sizes, [0, 2], 'exactly one session gets the new messages');
      await assert.rejects(claimRecent(ctx, bob, box), NotFoundError);
    });

    it('SELECT by name: found and read in one statement; concurrent claims by name are disjoint; another account\'s name or a bad name is NotFound', async () => {
      const box = (await createMailbox(ctx, alice, 'ByName/Sub')).id;
      await fill(t.db, box, 4, 'byname');
      const views = await Promise.all([1, 2, 3].map(() => selectMailbox(ctx, alice, { name: 'ByName/Sub' }, { claimRecent: true })));
      assert.ok(views.every((v) => v.id === box && v.messageCount === 4));
      assert.deepEqual(views.map((v) => v.recentCount).sort(), [0, 0, 4], 'one SELECT claims all four');
      assert.equal((await selectMailbox(ctx, alice, { name: 'inbox' })).name, 'INBOX', 'INBOX in any case (RFC 9051 5.1)');
      await assert.rejects(selectMailbox(ctx, bob, { name: 'ByName/Sub' }), NotFoundError);
      await assert.rejects(selectMailbox(ctx, alice, { name: 'ByName/Nope' }), NotFoundError, 'a name that is not there');
      await assert.rejects(selectMailbox(ctx, alice, { name: 'Bad\u0000Name' }), NotFoundError);
    });

    it('STATUS and LIST-STATUS: MESSAGES, UIDNEXT, UNSEEN, DELETED, SIZE, HIGHESTMODSEQ of several mailboxes in one query', async () => {
      const a = (await createMailbox(ctx, alice, 'StatA')).id;
      const b = (await createMailbox(ctx, alice, 'StatB')).id;
      const uids = await fill(t.db, a, 4, 'stat');
      await storeFlags(ctx, { accountId: alice, mailboxId: a, uids: [{ first: uids[0]!, last: uids[0]! }], operation: 'add', flags: ['\\Seen', '\\Deleted'] });
      const [sa, sb] = await mailboxStatuses(ctx, alice, [b, a]);
      assert.equal(sa!.id, a);
      assert.equal(sa!.messages, 4);
      assert.equal(sa!.unseen, 3);
      assert.equal(sa!.deleted, 1);
      assert.equal(sa!.size, (await getMailbox(t.db, a)) && Number((await t.db.query<{ s: string }>('SELECT sum(size) AS s FROM messages WHERE mailbox_id = $1', [a]))[0]!.s));
      assert.equal(sa!.highestModseq, (await getMailbox(t.db, a))!.highestModseq);
      assert.equal(sb!.messages, 0);
      const bobBox = (await createMailbox(ctx, bob, 'BobStat')).id;
      assert.deepEqual((await mailboxStatuses(ctx, alice, [bobBox, a])).map((s) => s.id), [a], 'another account\'s mailbox is left out');
      await assert.rejects(mailboxStatus(ctx, alice, bobBox), NotFoundError);
    });

    it('FETCH FLAGS over any UID set in chunks, with CHANGEDSINCE (RFC 7162 3.1.4.1)', async () => {
      const box = (await createMailbox(ctx, alice, 'Flags')).id;
      const uids = await fill(t.db, box, 10, 'flags');
      const whole = await collect(iterateFlags(ctx, alice, box, { chunkSize: 3 }));
      assert.equal(whole.chunks, 4);
      assert.deepEqual(whole.rows.map((r) => r.uid), uids);
      const one = await collect(iterateFlags(ctx, alice, box));
      assert.equal(one.chunks, 1, 'a whole mailbox in one query when it fits');
      const mark = (await getMailbox(t.db, box))!.highestModseq;
      await storeFlags(ctx, { accountId: alice, mailboxId: box, uids: uidRangesOf([uids[2]!, uids[7]!]), operation: 'add', flags: ['\\Flagged', '$Todo'] });
      const changed = await collect(iterateFlags(ctx, alice, box, { changedSince: mark }));
      assert.deepEqual(changed.rows.map((r) => [r.uid, r.flags]), [
        [uids[2], ['\\Flagged', '$Todo']],
        [uids[7], ['\\Flagged', '$Todo']],
      ]);
      assert.ok(changed.rows.every((r) => r.modseq === mark + 1n));
      await storeFlags(ctx, { accountId: alice, mailboxId: box, uids: uidRangesOf([uids[4]!]), operation: 'replace', flags: ['\\Draft', '\\Deleted', '\\Flagged', '\\Answered', '\\Seen'] });
      const allFive = await collect(iterateFlags(ctx, alice, box, { uids: uidRangesOf([uids[4]!]) }));
      assert.deepEqual(allFive.rows[0]!.flags, ['\\Seen', '\\Answered', '\\Flagged', '\\Deleted', '\\Draft']);
      const subset = await collect(iterateFlags(ctx, alice, box, { uids: [{ first: uids[8]!, last: 99 }, { first: uids[0]!, last: uids[1]! }], chunkSize: 1 }));
      assert.deepEqual(subset.rows.map((r) => r.uid), [uids[0], uids[1], uids[8], uids[9]]);
      assert.equal((await collect(iterateFlags(ctx, alice, box, { uids: [] }))).rows.length, 0);
      await assert.rejects(collect(iterateFlags(ctx, bob, box)), NotFoundError);
      await assert.rejects(collect(iterateFlags(ctx, bob, box, { uids: [] })), NotFoundError);
    });

    it('VANISHED since a modseq: exactly the expunged UIDs, bounded by upTo (RFC 7162 3.2.5, 3.2.10)', async () => {
      const box = (await createMailbox(ctx, alice, 'Vanish')).id;
      const uids = await fill(t.db, box, 8, 'van', ['\\Deleted']);
      const m0 = (await getMailbox(t.db, box))!.highestModseq;
      await expungeMessages(ctx, { accountId: alice, mailboxId: box, uids: uidRangesOf([uids[1]!, uids[2]!]) });
      const m1 = (await getMailbox(t.db, box))!.highestModseq;
      await expungeMessages(ctx, { accountId: alice, mailboxId: box, uids: uidRangesOf([uids[5]!]) });
      const v = await vanishedSince(ctx, alice, box, m0);
      assert.equal(v.complete, true);
      assert.deepEqual(v.vanished, [{ first: uids[1], last: uids[2] }, { first: uids[5], last: uids[5] }]);
      assert.equal(v.vanishedCount, 3);
      assert.deepEqual((await vanishedSince(ctx, alice, box, m1)).vanished, [{ first: uids[5], last: uids[5] }]);
      assert.deepEqual((await vanishedSince(ctx, alice, box, m0, { upTo: m1 })).vanished, [{ first: uids[1], last: uids[2] }]);
      assert.deepEqual((await vanishedSince(ctx, alice, box, v.highestModseq)).vanished, []);
      await assert.rejects(vanishedSince(ctx, bob, box, 0n), NotFoundError);
    });

    it('journal pruning: flag/append rows go early, tombstones later; past the floor VANISHED is a superset and says so', async () => {
      const box = (await createMailbox(ctx, alice, 'Prune')).id;
      const uids = await fill(t.db, box, 6, 'prune');
      await storeFlags(ctx, { accountId: alice, mailboxId: box, uids: uidRangesOf([uids[0]!, uids[3]!]), operation: 'add', flags: ['\\Deleted'] });
      await expungeMessages(ctx, { accountId: alice, mailboxId: box });
      await pruneJournal(t.db, { tombstoneSeconds: 3600, changeSeconds: 0 });
      assert.deepEqual((await journal(t.db, box)).map(([k, u]) => [k, u]), [['expunge', uids[0]], ['expunge', uids[3]]], 'only tombstones left');
      assert.equal((await vanishedSince(ctx, alice, box, 0n)).complete, true);
      await pruneJournal(t.db, { tombstoneSeconds: 0, changeSeconds: 0 });
      assert.deepEqual(await journal(t.db, box), []);
      const floor = await t.db.query<{ f: string }>('SELECT tombstone_floor AS f FROM mailboxes WHERE id = $1', [box]);
      const head = (await getMailbox(t.db, box))!.highestModseq;
      assert.equal(BigInt(floor[0]!.f), head, 'floor = modseq of the newest pruned tombstone');
      const old = await vanishedSince(ctx, alice, box, 0n);
      assert.equal(old.complete, false);
      assert.deepEqual(old.vanished, [{ first: uids[0], last: uids[0] }, { first: uids[3], last: uids[3] }], 'here the superset is exact: no other gaps');
      await expungeMessages(ctx, { accountId: alice, mailboxId: box }); // nothing
      const fresh = await vanishedSince(ctx, alice, box, head);
      assert.equal(fresh.complete, true, 'clients at or after the floor still get exact answers');
      assert.deepEqual(fresh.vanished, []);
      // A mailbox with UID gaps that were never messages (rolled-back appends): the superset includes them.
      const gappy = (await createMailbox(ctx, alice, 'Gappy')).id;
      await fill(t.db, gappy, 2, 'gap');
      await t.db.query('UPDATE mailboxes SET uid_next = uid_next + 3, tombstone_floor = 5 WHERE id = $1', [gappy]);
      await appendMessage(t.db, { mailboxId: gappy, raw: rawMessage('after gap') });
      const g = await vanishedSince(ctx, alice, gappy, 1n);
      assert.deepEqual(g.vanished, [{ first: 3, last: 5 }]);
      assert.equal(g.complete, false);
    });

    it('a 100,000-message mailbox: SELECT in one compact query, FETCH FLAGS 1:* in bounded chunks', async () => {
      const box = (await createMailbox(ctx, alice, 'Huge')).id;
      const [first] = await fill(t.db, box, 1, 'huge');
      const N = 100000;
      // Bulk rows sharing the first message's blob (what 100,000 appends would leave, minus the time).
      await t.db.query(
        `WITH src AS (SELECT * FROM messages WHERE mailbox_id = $1 AND uid = $2),
              ins AS (INSERT INTO messages(mailbox_id, uid, modseq, blob_id, size, seen)
                      SELECT $1, g, src.modseq + g, src.blob_id, src.size, g % 3 = 0 FROM src, generate_series(2, $3::int) g
                      RETURNING size)
         UPDATE mailboxes SET uid_next = $3::int + 1, highest_modseq = highest_modseq + $3::int,
                message_count = message_count + (SELECT count(*) FROM ins), total_size = total_size + (SELECT sum(size) FROM ins)
          WHERE id = $1`,
        [box, first, N],
      );
      const gone = Array.from({ length: 100 }, (_, i) => (i + 1) * 997);
      await storeFlags(ctx, { accountId: alice, mailboxId: box, uids: uidRangesOf(gone), operation: 'add', flags: ['\\Deleted'] });
      const ex = await expungeMessages(ctx, { accountId: alice, mailboxId: box });
      assert.equal(ex.uids.length, 100);
      await assertCountersExact(t.db);

      const t0 = performance.now();
      const v = await selectMailbox(ctx, alice, box);
      const ms = performance.now() - t0;
      assert.equal(v.messageCount, N - 100);
      assert.equal(v.uids.length, N - 100);
      assert.equal(v.uidRanges.length, 101, 'a hundred gaps: 101 ranges instead of 99,900 rows');
      assert.equal(countUids(v.uidRanges), N - 100);
      assert.deepEqual(v.uids, expandUidRanges(v.uidRanges));
      assert.equal(v.uids[996], 998, 'sequence number 997 is UID 998 (UID 997 expunged)');
      assert.ok(ms < 5000, `SELECT took ${ms.toFixed(0)} ms`);
      console.log(`# ${engine.name}: SELECT of ${v.messageCount} messages: ${ms.toFixed(0)} ms`);

      const t1 = performance.now();
      let chunks = 0;
      let count = 0;
      let maxChunk = 0;
      let last = 0;
      for await (const c of iterateFlags(ctx, alice, box, { chunkSize: 20000 })) {
        chunks++;
        count += c.length;
        maxChunk = Math.max(maxChunk, c.length);
        assert.ok(c[0]!.uid > last, 'ascending across chunks');
        last = c[c.length - 1]!.uid;
      }
      console.log(`# ${engine.name}: FETCH 1:* (FLAGS) of ${count} messages in ${chunks} chunks: ${(performance.now() - t1).toFixed(0)} ms`);
      assert.equal(count, N - 100);
      assert.equal(chunks, 5);
      assert.ok(maxChunk <= 20000);
    });
  });
}
