import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { addAccount, getAccount, listAccounts, removeAccount, setPassword } from '../src/core/accounts.ts';
import { addAlias, listAliases, removeAlias } from '../src/core/aliases.ts';
import { addDomain, listDomains, removeDomain } from '../src/core/domains.ts';
import { addGroup, changeGroupMembers, getGroupMembers, listGroups, removeGroup } from '../src/core/groups.ts';
import { DEFAULT_MAILBOXES, listMailboxes } from '../src/core/mailboxes.ts';
import { loadSettings, resetSetting, setSetting } from '../src/core/settings.ts';
import type { CoreContext } from '../src/core/context.ts';
import { localDirectory } from '../src/directory/local.ts';
import { AlreadyExistsError, InUseError, InvalidInputError, NotFoundError } from '../src/lib/errors.ts';
import { recentAudit } from '../src/store/ops.ts';
import { engines, testContext, type TestDb } from './helpers/db.ts';

const PW = 'correct horse battery';

for (const engine of engines({ remote: true })) {
  describe(`directory services (${engine.name})`, () => {
    let t: TestDb;
    let ctx: CoreContext;
    before(async () => {
      t = await engine.create();
      ctx = testContext(t.db);
    });
    after(async () => t.drop());

    it('domains: add normalizes, duplicates are refused, list is sorted', async () => {
      const d = await addDomain(ctx, 'Example.TEST.');
      assert.equal(d.name, 'example.test');
      await assert.rejects(addDomain(ctx, 'example.test'), AlreadyExistsError);
      await addDomain(ctx, 'alpha.test');
      assert.deepEqual((await listDomains(ctx)).map((x) => x.name), ['alpha.test', 'example.test']);
      await assert.rejects(addDomain(ctx, 'bad_domain!'), InvalidInputError);
    });

    it('accounts: created with the default mailboxes and SPECIAL-USE (RFC 6154)', async () => {
      const a = await addAccount(ctx, { address: 'Alice@Example.test', password: PW, displayName: 'Alice' });
      assert.equal(a.address, 'alice@example.test');
      assert.equal(a.passwordHash?.startsWith('$scrypt$'), true);
      const boxes = await listMailboxes(ctx, a.id);
      assert.deepEqual(boxes.map((b) => b.name).sort(), DEFAULT_MAILBOXES.map((m) => m.name).sort());
      assert.equal(boxes.find((b) => b.name === 'Sent')?.specialUse, '\\Sent');
      assert.equal(boxes.find((b) => b.name === 'INBOX')?.specialUse, null);
      const validities = new Set(boxes.map((b) => b.uidValidity));
      assert.equal(validities.size, boxes.length, 'each mailbox has its own UIDVALIDITY');
      for (const b of boxes) assert.equal(b.uidNext, 1);
    });

    it('accounts: duplicate, unknown domain, weak password and bad address are refused', async () => {
      await assert.rejects(addAccount(ctx, { address: 'alice@example.test', password: PW }), AlreadyExistsError);
      await assert.rejects(addAccount(ctx, { address: 'bob@nowhere.test', password: PW }), NotFoundError);
      await assert.rejects(addAccount(ctx, { address: 'bob@example.test', password: 'short' }), InvalidInputError);
      await assert.rejects(addAccount(ctx, { address: 'no-at-sign', password: PW }), InvalidInputError);
      await assert.rejects(addAccount(ctx, { address: 'bob@example.test' }), InvalidInputError);
      assert.equal((await listAccounts(ctx)).length, 1);
    });

    it('accounts: createDomain adds the domain on the fly', async () => {
      await addAccount(ctx, { address: 'carol@new.test', password: PW, createDomain: true });
      assert.ok((await listDomains(ctx)).some((d) => d.name === 'new.test'));
      assert.deepEqual((await listAccounts(ctx, 'new.test')).map((a) => a.address), ['carol@new.test']);
    });

    it('concurrent creation of one address: exactly one wins', async () => {
      const results = await Promise.allSettled(
        Array.from({ length: 5 }, () => addAccount(ctx, { address: 'race@example.test', password: PW })),
      );
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof AlreadyExistsError);
    });

    it('authenticate: right password only, disabled never, unknown never', async () => {
      const dir = localDirectory(t.db, { subaddressSeparator: () => '+' });
      assert.equal((await dir.authenticate('ALICE@example.test', PW))?.address, 'alice@example.test');
      assert.equal(await dir.authenticate('alice@example.test', 'wrong password'), undefined);
      assert.equal(await dir.authenticate('nobody@example.test', PW), undefined);
      assert.equal(await dir.authenticate('not an address', PW), undefined);
      await setPassword(ctx, 'alice@example.test', 'another fine password');
      assert.equal(await dir.authenticate('alice@example.test', PW), undefined);
      assert.ok(await dir.authenticate('alice@example.test', 'another fine password'));
      await assert.rejects(setPassword(ctx, 'ghost@example.test', PW), NotFoundError);
    });

    it('addresses share one namespace across users, aliases and groups', async () => {
      await assert.rejects(addAlias(ctx, 'alice@example.test', ['x@remote.test']), AlreadyExistsError);
      await assert.rejects(addGroup(ctx, { address: 'alice@example.test' }), AlreadyExistsError);
      await addAlias(ctx, 'sales@example.test', ['alice@example.test', 'Bob@Remote.test']);
      await assert.rejects(addAccount(ctx, { address: 'sales@example.test', password: PW }), AlreadyExistsError);
      const aliases = await listAliases(ctx);
      assert.deepEqual(aliases.find((a) => a.address === 'sales@example.test')?.targets, ['alice@example.test', 'bob@remote.test']);
      await assert.rejects(addAlias(ctx, 'loop@example.test', ['loop@example.test']), InvalidInputError);
      await assert.rejects(addAlias(ctx, 'empty@example.test', []), InvalidInputError);
    });

    it('lookup: exact, subaddress (RFC 5233), alias, group, catch-all last', async () => {
      const dir = localDirectory(t.db, { subaddressSeparator: () => '+' });
      assert.deepEqual(await dir.lookup('unknown@example.test'), undefined);
      assert.equal((await dir.lookup('Alice@example.test'))?.kind, 'account');
      const plus = await dir.lookup('alice+lists@example.test');
      assert.equal(plus?.kind === 'account' && plus.account.address, 'alice@example.test');
      const noPlus = localDirectory(t.db, { subaddressSeparator: () => '' });
      assert.equal(await noPlus.lookup('alice+lists@example.test'), undefined);
      assert.deepEqual(await dir.lookup('sales@example.test'), { kind: 'alias', targets: ['alice@example.test', 'bob@remote.test'] });

      await addGroup(ctx, { address: 'team@example.test', displayName: 'Team', members: ['alice@example.test', 'x@remote.test'] });
      assert.deepEqual(await dir.lookup('team@example.test'), { kind: 'group', members: ['alice@example.test', 'x@remote.test'] });

      await addAlias(ctx, '@example.test', ['alice@example.test']);
      assert.deepEqual(await dir.lookup('whoever@example.test'), { kind: 'alias', targets: ['alice@example.test'] });
      assert.equal((await dir.lookup('alice@example.test'))?.kind, 'account', 'a real address beats the catch-all');
      assert.equal(await dir.lookup('whoever@other.test'), undefined);
      await removeAlias(ctx, '@example.test');
      assert.equal(await dir.lookup('whoever@example.test'), undefined);
      await assert.rejects(removeAlias(ctx, '@example.test'), NotFoundError);
    });

    it('groups: members change in one step; removal works', async () => {
      const after1 = await changeGroupMembers(ctx, 'team@example.test', { add: ['Carol@New.test'], remove: ['x@remote.test'] });
      assert.deepEqual(after1, ['alice@example.test', 'carol@new.test']);
      assert.deepEqual(await getGroupMembers(ctx, 'team@example.test'), after1);
      assert.equal((await listGroups(ctx)).find((g) => g.address === 'team@example.test')?.displayName, 'Team');
      await assert.rejects(changeGroupMembers(ctx, 'nogroup@example.test', { add: ['a@b.test'] }), NotFoundError);
      await removeGroup(ctx, 'team@example.test');
      await assert.rejects(getGroupMembers(ctx, 'team@example.test'), NotFoundError);
    });

    it('domains in use cannot be removed; empty ones can', async () => {
      await assert.rejects(removeDomain(ctx, 'example.test'), InUseError);
      await removeDomain(ctx, 'alpha.test');
      await assert.rejects(removeDomain(ctx, 'alpha.test'), NotFoundError);
    });

    it('removing an account removes its mailboxes', async () => {
      const carol = await getAccount(ctx, 'carol@new.test');
      await removeAccount(ctx, 'carol@new.test');
      assert.deepEqual(await listMailboxes(ctx, carol.id), []);
      await assert.rejects(removeAccount(ctx, 'carol@new.test'), NotFoundError);
    });

    it('settings: validated, stored, reset to default, audited', async () => {
      await setSetting(ctx, 'smtp.maxMessageBytes', 10_000_000);
      let s = await loadSettings(t.db);
      assert.equal(s.values['smtp.maxMessageBytes'], 10_000_000);
      assert.ok(s.overridden.has('smtp.maxMessageBytes'));
      await assert.rejects(setSetting(ctx, 'smtp.maxMessageBytes', 'lots'), InvalidInputError);
      await assert.rejects(setSetting(ctx, 'no.such.setting', 1), InvalidInputError);
      await resetSetting(ctx, 'smtp.maxMessageBytes');
      s = await loadSettings(t.db);
      assert.equal(s.overridden.has('smtp.maxMessageBytes'), false);
      const actions = (await recentAudit(t.db, 100)).map((e) => e.action);
      for (const a of ['setting.set', 'setting.reset', 'account.create', 'account.password', 'domain.delete']) {
        assert.ok(actions.includes(a), `audit has ${a}`);
      }
    });

    it('a secret setting (queue.smarthostPassword) is stored and used, but audited only as "(set)"', async () => {
      await setSetting(ctx, 'queue.smarthostPassword', 'hunter2 smarthost');
      assert.equal((await loadSettings(t.db)).values['queue.smarthostPassword'], 'hunter2 smarthost');
      const events = await recentAudit(t.db, 10);
      const event = events.find((e) => e.target === 'queue.smarthostPassword');
      assert.deepEqual(event?.details, { value: '(set)' });
      assert.equal(JSON.stringify(events).includes('hunter2'), false);
    });
  });
}
