// The admin commands of `tegu` (domain, user, alias, group, settings, status),
// run as a child process against each engine, in one shared database per engine:
// each test builds on the state the previous ones left.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { oneErrorLine, runTegu, targetFactories, type CliResult, type Target } from './helpers/cli.ts';

const T = { timeout: 240_000 };

function json<V = unknown>(r: CliResult): V {
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as V;
}

// The engines' suites run side by side (separate databases); the tests within one run in
// order (concurrency 1: subtests would otherwise inherit the parent's `true`).
describe('tegu admin commands', { concurrency: true }, () => {
  for (const factory of targetFactories()) {
    describe(factory.engine, { concurrency: 1 }, () => {
      let t: Target;
      const tegu = (args: string[], input?: string): Promise<CliResult> =>
        runTegu([...args, ...t.args], input === undefined ? {} : { input });

      before(async () => {
        t = await factory.make();
      });
      after(async () => {
        await t?.cleanup();
      });

      test('user add reads the password from stdin and creates the domain; user list shows the user', T, async () => {
        const r = await tegu(['user', 'add', 'A@Example.test', '--name', 'Ada Lovelace'], 'correct horse\n');
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^created domain example\.test$/m);
        assert.match(r.stdout, /^added user a@example\.test$/m);
        const users = json<{ address: string; displayName: string; createdAt: string }[]>(await tegu(['user', 'list', '--json']));
        assert.deepEqual(users.map((u) => [u.address, u.displayName]), [['a@example.test', 'Ada Lovelace']]);
        assert.ok(!Number.isNaN(Date.parse(users[0]!.createdAt)), 'createdAt is an ISO date');
        assert.ok(!('passwordHash' in users[0]!), 'the hash is never shown');
      });

      test('adding the same user again fails with exit 1 and one line', T, async () => {
        const r = await tegu(['user', 'add', 'a@example.test'], 'another password\n');
        assert.equal(r.code, 1);
        assert.match(oneErrorLine(r.stderr), /a@example\.test already exists/);
      });

      test('a too short password is invalid input: exit 2', T, async () => {
        const r = await tegu(['user', 'add', 'short@example.test'], 'abc\n');
        assert.equal(r.code, 2);
        assert.match(oneErrorLine(r.stderr), /password too short/);
      });

      test('domain add, list, rm (rm refused while the domain has users)', T, async () => {
        assert.deepEqual(json<{ name: string }>(await tegu(['domain', 'add', 'Other.TEST', '--json'])).name, 'other.test');
        const domains = json<{ name: string }[]>(await tegu(['domain', 'list', '--json']));
        assert.deepEqual(domains.map((d) => d.name), ['example.test', 'other.test']);
        const busy = await tegu(['domain', 'rm', 'example.test']);
        assert.equal(busy.code, 1);
        assert.match(oneErrorLine(busy.stderr), /example\.test still has 1/);
        const rm = await tegu(['domain', 'rm', 'other.test']);
        assert.equal(rm.code, 0, rm.stderr);
        assert.equal(rm.stdout, 'removed domain other.test\n');
      });

      test('alias add (plain and catch-all), list, rm', T, async () => {
        const plain = await tegu(['alias', 'add', 'postmaster@example.test', 'A@example.test']);
        assert.equal(plain.code, 0, plain.stderr);
        assert.equal(plain.stdout, 'added alias postmaster@example.test -> a@example.test\n');
        const catchAll = json<{ address: string; domainCreated: boolean }>(
          await tegu(['alias', 'add', '@example.test', 'a@example.test', '--json']),
        );
        assert.deepEqual(catchAll, { address: '@example.test', targets: ['a@example.test'], domainCreated: false });
        const aliases = json<{ address: string; targets: string[] }[]>(await tegu(['alias', 'list', '--json']));
        assert.deepEqual(aliases.map((a) => a.address).sort(), ['@example.test', 'postmaster@example.test']);
        assert.equal((await tegu(['alias', 'rm', '@example.test'])).code, 0);
        const missing = await tegu(['alias', 'rm', '@example.test']);
        assert.equal(missing.code, 1);
        assert.match(oneErrorLine(missing.stderr), /alias @example\.test does not exist/);
      });

      test('group add in a new domain, members --add/--remove, list, rm', T, async () => {
        const g = json<{ members: string[]; domainCreated: boolean }>(
          await tegu(['group', 'add', 'team@groups.test', '--name', 'Team', 'a@example.test', '--json']),
        );
        assert.deepEqual(g.members, ['a@example.test']);
        assert.equal(g.domainCreated, true);
        const changed = await tegu([
          'group', 'members', 'team@groups.test', '--add', 'b@example.test', '--add', 'c@example.test', '--remove', 'a@example.test',
        ]);
        assert.equal(changed.code, 0, changed.stderr);
        assert.equal(changed.stdout, 'b@example.test\nc@example.test\n');
        const groups = json<{ address: string; displayName: string; members: string[] }[]>(await tegu(['group', 'list', '--json']));
        assert.deepEqual(groups, [{ address: 'team@groups.test', displayName: 'Team', members: ['b@example.test', 'c@example.test'] }]);
        assert.equal((await tegu(['group', 'rm', 'team@groups.test'])).code, 0);
      });

      test('settings set, get, invalid value (exit 2), reset, list', T, async () => {
        const set = await tegu(['settings', 'set', 'smtp.maxRecipients', '250']);
        assert.equal(set.code, 0, set.stderr);
        const got = json<{ value: number; default: number; overridden: boolean }>(
          await tegu(['settings', 'get', 'smtp.maxRecipients', '--json']),
        );
        assert.deepEqual([got.value, got.default, got.overridden], [250, 100, true]);
        const bad = await tegu(['settings', 'set', 'auth.allowPlaintext', 'maybe']);
        assert.equal(bad.code, 2);
        assert.match(oneErrorLine(bad.stderr), /"maybe" is not true or false/);
        assert.equal((await tegu(['settings', 'reset', 'smtp.maxRecipients'])).code, 0);
        const all = json<{ key: string; value: unknown; overridden: boolean; description: string }[]>(
          await tegu(['settings', 'list', '--json']),
        );
        const s = all.find((x) => x.key === 'smtp.maxRecipients');
        assert.deepEqual([s?.value, s?.overridden], [100, false]);
        assert.ok(all.every((x) => x.description.length > 0));
      });

      test('status --json: engine, schema, counts', T, async () => {
        const s = json<{ engine: string; schema: { version: number; latest: number; upToDate: boolean }; counts: Record<string, number> }>(
          await tegu(['status', '--json']),
        );
        assert.equal(s.engine, factory.engine);
        assert.equal(s.schema.upToDate, true);
        assert.equal(s.schema.version, s.schema.latest);
        assert.deepEqual([s.counts.domains, s.counts.accounts, s.counts.aliases, s.counts.groups], [2, 1, 1, 0]);
      });

      test('user passwd and user rm', T, async () => {
        const p = await tegu(['user', 'passwd', 'a@example.test', '--password-stdin'], 'a new password\r\nignored\n');
        assert.equal(p.code, 0, p.stderr);
        const rm = await tegu(['user', 'rm', 'a@example.test']);
        assert.equal(rm.code, 0, rm.stderr);
        const again = await tegu(['user', 'rm', 'a@example.test']);
        assert.equal(again.code, 1);
        assert.match(oneErrorLine(again.stderr), /user a@example\.test does not exist/);
      });
    });
  }
});
