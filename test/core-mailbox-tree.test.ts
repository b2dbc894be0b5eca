/**
 * The mailbox tree (RFC 9051 6.3.4-6.3.9, RFC 6154, RFC 3348, RFC 8474):
 * create with superiors, delete with inferiors, rename with inferiors and of
 * INBOX, subscriptions, the LIST data, access between accounts. Both engines;
 * concurrent tree changes on PostgreSQL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CoreContext } from '../src/core/context.ts';
import { DELIMITER, matchMailboxPattern, normalizeMailboxName, superiorsOf } from '../src/core/mailbox-names.ts';
import { selectMailbox } from '../src/core/mailbox-sync.ts';
import {
  createMailbox,
  deleteMailbox,
  listMailboxTree,
  listSubscriptions,
  renameMailbox,
  subscribe,
  unsubscribe,
  type TreeEntry,
} from '../src/core/mailbox-tree.ts';
import { AlreadyExistsError, InvalidInputError, NotFoundError, SpecialUseError } from '../src/lib/errors.ts';
import type { AccountId } from '../src/lib/ids.ts';
import { getMailbox } from '../src/store/mailboxes.ts';
import { engines, testContext, type TestDb } from './helpers/db.ts';
import { assertCountersExact, fill, journal, mailboxId, newAccount } from './helpers/mailbox-ops.ts';

describe('mailbox names (RFC 9051 5.1)', () => {
  it('stores NFC, spells INBOX as INBOX also as a first level, refuses empty levels, controls and wildcards', () => {
    assert.equal(normalizeMailboxName('inbox'), 'INBOX');
    assert.equal(normalizeMailboxName('iNbOx/Work'), 'INBOX/Work');
    assert.equal(normalizeMailboxName('Inboxes'), 'Inboxes');
    assert.equal(normalizeMailboxName('Cafe\u0301'), 'Caf\u00e9');
    assert.equal(normalizeMailboxName('Проекты/2026'), 'Проекты/2026');
    assert.equal(normalizeMailboxName('a/', { allowTrailingDelimiter: true }), 'a');
    for (const bad of ['', '/a', 'a//b', 'a/', 'a\u0000b', 'a\tb', 'a%', 'b*', '\ud800x', 'x'.repeat(1001)]) {
      assert.throws(() => normalizeMailboxName(bad), InvalidInputError, JSON.stringify(bad));
    }
    assert.equal(DELIMITER, '/');
    assert.deepEqual(superiorsOf('a/b/c'), ['a', 'a/b']);
  });

  it('matches LIST patterns: * crosses levels, % does not, INBOX case-insensitively (RFC 9051 6.3.9)', () => {
    assert.ok(matchMailboxPattern('a/b/c', '*'));
    assert.ok(matchMailboxPattern('a/b/c', 'a/*'));
    assert.ok(!matchMailboxPattern('a/b/c', 'a/%'));
    assert.ok(matchMailboxPattern('a/b', 'a/%'));
    assert.ok(matchMailboxPattern('a', '%'));
    assert.ok(matchMailboxPattern('INBOX', 'inbox'));
    assert.ok(matchMailboxPattern('INBOX/x', 'Inbox/%'));
    assert.ok(matchMailboxPattern('INBOX', 'in*'));
    assert.ok(!matchMailboxPattern('Inboxes', 'INBOXES'));
    assert.ok(matchMailboxPattern('a.b(c)', 'a.b(c)'));
    assert.ok(!matchMailboxPattern('axb', 'a.b'));
  });
});

for (const engine of engines()) {
  describe(`mailbox tree (${engine.name})`, () => {
    let t: TestDb;
    let ctx: CoreContext;
    let alice: AccountId;
    let bob: AccountId;
    const tree = async (a: AccountId): Promise<Map<string, TreeEntry>> => new Map((await listMailboxTree(ctx, a)).map((e) => [e.name, e]));

    before(async () => {
      t = await engine.create();
      ctx = testContext(t.db);
      alice = await newAccount(ctx, 'alice');
      bob = await newAccount(ctx, 'bob');
    });
    after(async () => t.drop());

    it('CREATE makes missing superiors (RFC 9051 6.3.4), with fresh UIDVALIDITY each', async () => {
      const c = await createMailbox(ctx, alice, 'Projects/2026/Q1');
      assert.deepEqual(c.createdSuperiors, ['Projects', 'Projects/2026']);
      assert.equal(c.name, 'Projects/2026/Q1');
      assert.match(c.objectId, /^[A-Za-z0-9_-]{1,255}$/, 'RFC 8474 objectid syntax');
      const names = new Set((await listMailboxTree(ctx, alice)).filter((e) => e.mailbox).map((e) => e.name));
      for (const n of ['Projects', 'Projects/2026', 'Projects/2026/Q1']) assert.ok(names.has(n), n);
      const validities = (await listMailboxTree(ctx, alice)).flatMap((e) => (e.mailbox ? [e.mailbox.uidValidity] : []));
      assert.equal(new Set(validities).size, validities.length, 'UIDVALIDITY unique per mailbox');
      const again = await createMailbox(ctx, alice, 'Projects/2026/Q2/'); // trailing delimiter: ignored
      assert.deepEqual(again.createdSuperiors, []);
      assert.equal(again.name, 'Projects/2026/Q2');
    });

    it('CREATE refuses an existing name (INBOX in any case too)', async () => {
      await assert.rejects(createMailbox(ctx, alice, 'Projects'), AlreadyExistsError);
      await assert.rejects(createMailbox(ctx, alice, 'inbox'), AlreadyExistsError);
      await assert.rejects(createMailbox(ctx, alice, 'a//b'), InvalidInputError);
    });

    it('CREATE-SPECIAL-USE (RFC 6154 5.3): real attributes kept, \\All and \\Flagged refused, nothing created', async () => {
      const c = await createMailbox(ctx, alice, 'Old mail', { specialUse: '\\Archive' });
      assert.equal((await tree(alice)).get('Old mail')?.mailbox?.specialUse, '\\Archive');
      assert.ok(c.id);
      for (const use of ['\\All', '\\Flagged', '\\Important', 'Sent']) {
        await assert.rejects(createMailbox(ctx, alice, `Virtual ${use}/x`, { specialUse: use }), SpecialUseError);
      }
      assert.ok(![...(await tree(alice)).keys()].some((n) => n.startsWith('Virtual')), 'no superior left behind');
    });

    it('LIST data: \\HasChildren/\\HasNoChildren, special use, subscription; default mailboxes subscribed', async () => {
      const m = await tree(alice);
      assert.equal(m.get('Projects')?.hasChildren, true);
      assert.equal(m.get('Projects/2026/Q1')?.hasChildren, false);
      assert.equal(m.get('INBOX')?.subscribed, true);
      assert.equal(m.get('Sent')?.mailbox?.specialUse, '\\Sent');
      assert.equal(m.get('Projects')?.subscribed, false, 'CREATE does not subscribe');
    });

    it('DELETE removes the mailbox and its messages, keeps inferiors; the name becomes \\NonExistent with children (RFC 9051 6.3.5)', async () => {
      await createMailbox(ctx, alice, 'Work/Clients/Acme');
      const work = await mailboxId(ctx, alice, 'Work');
      await fill(t.db, work, 3);
      const uidValidity = (await getMailbox(t.db, work))!.uidValidity;
      const d = await deleteMailbox(ctx, alice, 'Work');
      assert.equal(d.id, work);
      assert.equal(await getMailbox(t.db, work), undefined);
      const m = await tree(alice);
      assert.equal(m.get('Work')?.mailbox, null, '\\NonExistent');
      assert.equal(m.get('Work')?.hasChildren, true);
      assert.ok(m.get('Work/Clients')?.mailbox, 'inferiors stay');
      assert.ok(m.get('Work/Clients/Acme')?.mailbox);
      await assert.rejects(deleteMailbox(ctx, alice, 'Work'), NotFoundError, 'a name that only holds inferiors cannot be deleted');
      const again = await createMailbox(ctx, alice, 'Work');
      assert.notEqual(again.uidValidity, uidValidity, 'a new incarnation gets a new UIDVALIDITY (RFC 9051 6.3.5)');
      assert.equal((await selectMailbox(ctx, alice, again.id)).messageCount, 0);
      await assertCountersExact(t.db);
    });

    it('DELETE refuses INBOX and names that do not exist', async () => {
      await assert.rejects(deleteMailbox(ctx, alice, 'INBOX'), InvalidInputError);
      await assert.rejects(deleteMailbox(ctx, alice, 'inbox'), InvalidInputError);
      await assert.rejects(deleteMailbox(ctx, alice, 'Nowhere'), NotFoundError);
    });

    it('RENAME moves inferiors, creates superiors, keeps ids and UIDVALIDITY; OBJECTID is stable (RFC 9051 6.3.6, RFC 8474)', async () => {
      await createMailbox(ctx, alice, 'Trip/Photos/Day1');
      const before = await tree(alice);
      const trip = before.get('Trip')!.mailbox!;
      const day1 = before.get('Trip/Photos/Day1')!.mailbox!;
      const r = await renameMailbox(ctx, alice, 'Trip', 'Archive/2025/Trip');
      assert.deepEqual(r.created, ['Archive/2025'], 'Archive exists (default mailbox); Archive/2025 is new');
      assert.deepEqual(r.renamed.map((x) => x.to).sort(), ['Archive/2025/Trip', 'Archive/2025/Trip/Photos', 'Archive/2025/Trip/Photos/Day1']);
      const m = await tree(alice);
      assert.equal(m.has('Trip'), false);
      assert.deepEqual(m.get('Archive/2025/Trip')?.mailbox, trip, 'same id, UIDVALIDITY and OBJECTID');
      assert.deepEqual(m.get('Archive/2025/Trip/Photos/Day1')?.mailbox, day1);
    });

    it('RENAME refuses an existing target, a missing source and a target below the source', async () => {
      await assert.rejects(renameMailbox(ctx, alice, 'Drafts', 'Sent'), AlreadyExistsError);
      await assert.rejects(renameMailbox(ctx, alice, 'Drafts', 'Drafts'), AlreadyExistsError);
      await assert.rejects(renameMailbox(ctx, alice, 'Nowhere', 'Somewhere'), NotFoundError);
      await assert.rejects(renameMailbox(ctx, alice, 'Projects', 'Projects/Sub'), InvalidInputError);
      // An inferior of the target name taken: "Projects/2026" would land on "Taken/2026".
      await createMailbox(ctx, alice, 'Taken/2026');
      await assert.rejects(renameMailbox(ctx, alice, 'Projects', 'Taken'), AlreadyExistsError);
      assert.ok((await tree(alice)).get('Projects/2026/Q1')?.mailbox, 'nothing renamed');
    });

    it('RENAME up a level where new names equal old ones ("n/b" to "n": "n/b/b" becomes "n/b")', async () => {
      await createMailbox(ctx, alice, 'n/b/b/x');
      await createMailbox(ctx, alice, 'n/b/c');
      await deleteMailbox(ctx, alice, 'n');
      const ids = await tree(alice);
      const bb = ids.get('n/b/b')!.mailbox!.id;
      await renameMailbox(ctx, alice, 'n/b', 'n');
      const m = await tree(alice);
      assert.equal(m.get('n/b')?.mailbox?.id, bb);
      assert.ok(m.get('n/b/x')?.mailbox);
      assert.ok(m.get('n/c')?.mailbox);
      assert.equal(m.has('n/b/b'), false);
    });

    it('RENAME of a name that only holds inferiors moves them', async () => {
      await createMailbox(ctx, alice, 'ghost/child');
      await deleteMailbox(ctx, alice, 'ghost');
      await renameMailbox(ctx, alice, 'ghost', 'spirit');
      const m = await tree(alice);
      assert.ok(m.get('spirit/child')?.mailbox);
      assert.equal(m.get('spirit')?.mailbox, null);
      assert.equal(m.has('ghost'), false);
    });

    it('RENAME INBOX moves its messages to a new mailbox and leaves INBOX empty; its inferiors stay (RFC 9051 6.3.6)', async () => {
      const inbox = await mailboxId(ctx, alice, 'INBOX');
      await createMailbox(ctx, alice, 'INBOX/Receipts');
      await fill(t.db, inbox, 4, 'inbox', ['\\Seen']);
      const before = await selectMailbox(ctx, alice, inbox);
      const r = await renameMailbox(ctx, alice, 'inbox', 'Old Inbox');
      assert.equal(r.inboxMove?.count, 4);
      const moved = await selectMailbox(ctx, alice, r.inboxMove!.mailboxId);
      assert.equal(moved.name, 'Old Inbox');
      assert.deepEqual([...moved.uids], [1, 2, 3, 4], 'UIDs 1..n under the new UIDVALIDITY');
      assert.notEqual(moved.uidValidity, before.uidValidity);
      assert.equal(moved.unseen, 0, 'flags kept');
      const after = await selectMailbox(ctx, alice, inbox);
      assert.equal(after.messageCount, 0);
      assert.equal(after.objectId, before.objectId, 'INBOX keeps its MAILBOXID');
      assert.equal(after.uidValidity, before.uidValidity);
      assert.ok(after.highestModseq > before.highestModseq);
      const tomb = (await journal(t.db, inbox)).filter(([k]) => k === 'expunge').map(([, u]) => u);
      assert.deepEqual(tomb, [...before.uids], 'tombstones for QRESYNC clients of INBOX');
      assert.ok((await tree(alice)).get('INBOX/Receipts')?.mailbox, 'inferiors of INBOX unaffected');
      await assert.rejects(renameMailbox(ctx, alice, 'INBOX', 'Old Inbox'), AlreadyExistsError);
      await assertCountersExact(t.db);
    });

    it('subscriptions are names: may not exist, survive DELETE, move with RENAME (RFC 9051 6.3.7-6.3.8)', async () => {
      await subscribe(ctx, alice, 'Not/There/Yet');
      await createMailbox(ctx, alice, 'Lists/tegu');
      await subscribe(ctx, alice, 'Lists/tegu');
      await subscribe(ctx, alice, 'Lists/tegu'); // idempotent
      let m = await tree(alice);
      assert.equal(m.get('Not/There/Yet')?.subscribed, true);
      assert.equal(m.get('Not/There/Yet')?.mailbox, null);
      assert.equal(m.get('Not')?.childSubscribed, true, 'CHILDINFO ("SUBSCRIBED") (RFC 5258)');
      assert.equal(m.get('Not')?.hasChildren, false, 'no mailbox below');
      await renameMailbox(ctx, alice, 'Lists', 'Groups');
      assert.ok((await listSubscriptions(ctx, alice)).includes('Groups/tegu'));
      assert.ok(!(await listSubscriptions(ctx, alice)).includes('Lists/tegu'));
      await deleteMailbox(ctx, alice, 'Groups/tegu');
      m = await tree(alice);
      assert.equal(m.get('Groups/tegu')?.subscribed, true, 'the subscription outlives the mailbox');
      assert.equal(m.get('Groups/tegu')?.mailbox, null);
      assert.equal(await unsubscribe(ctx, alice, 'Groups/tegu'), true);
      assert.equal(await unsubscribe(ctx, alice, 'Groups/tegu'), false);
      await assert.rejects(subscribe(ctx, alice, 'bad%name'), InvalidInputError);
    });

    it('accounts never see or touch each other\'s mailboxes', async () => {
      await createMailbox(ctx, alice, 'Private');
      await assert.rejects(deleteMailbox(ctx, bob, 'Private'), NotFoundError);
      await assert.rejects(renameMailbox(ctx, bob, 'Private', 'Mine'), NotFoundError);
      const privateId = (await tree(alice)).get('Private')!.mailbox!.id;
      await assert.rejects(selectMailbox(ctx, bob, privateId), NotFoundError);
      const bobs = await tree(bob);
      assert.equal(bobs.has('Private'), false);
      assert.deepEqual([...bobs.keys()].sort(), ['Archive', 'Drafts', 'INBOX', 'Junk', 'Sent', 'Trash']);
      assert.ok((await tree(alice)).get('Private')?.mailbox);
      await createMailbox(ctx, bob, 'Private'); // same name, other account: fine
    });

    if (engine.name === 'postgres') {
      it('concurrent CREATE of one name: one wins, the other gets AlreadyExists; concurrent RENAME and CREATE below stay consistent', async () => {
        const results = await Promise.allSettled(Array.from({ length: 6 }, () => createMailbox(ctx, alice, 'Race/Same')));
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
        for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof AlreadyExistsError, String(r.reason));
        const ops = await Promise.allSettled([
          renameMailbox(ctx, alice, 'Race', 'Raced'),
          createMailbox(ctx, alice, 'Race/Other'),
          createMailbox(ctx, alice, 'Race/Third'),
        ]);
        assert.equal(ops[0].status, 'fulfilled');
        const names = [...(await tree(alice)).keys()].filter((n) => n.startsWith('Race'));
        // Creates that ran before the rename moved with it; those after made a new "Race".
        for (const n of names) assert.ok(n === 'Race' || n.startsWith('Race/') || n.startsWith('Raced'), n);
        assert.ok(names.some((n) => n.startsWith('Raced/Same')));
      });
    }
  });
}
