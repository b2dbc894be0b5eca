// `tegu user quota` and the usage in `tegu user list`, run as a child process
// against each engine; the tests build on each other's state.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { appendMessage } from '../src/core/append.ts';
import { getMailboxByName } from '../src/core/mailboxes.ts';
import { findAccount } from '../src/store/directory.ts';
import { openDatabase } from '../src/store/open.ts';
import { oneErrorLine, runTegu, targetFactories, type CliResult, type Target } from './helpers/cli.ts';

const T = { timeout: 240_000 };
const MiB = 1024 * 1024;

interface QuotaJson {
  address: string;
  quotaBytes: number | null;
  limitBytes: number;
  usedBytes: number;
  messages: number;
}

function json<V = unknown>(r: CliResult): V {
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as V;
}

describe('tegu user quota', { concurrency: true }, () => {
  for (const factory of targetFactories()) {
    describe(factory.engine, { concurrency: 1 }, () => {
      let t: Target;
      const tegu = (args: string[], input?: string): Promise<CliResult> =>
        runTegu([...args, ...t.args], input === undefined ? {} : { input });

      before(async () => {
        t = await factory.make();
        const r = await tegu(['user', 'add', 'q@example.test'], 'quota password\n');
        assert.equal(r.code, 0, r.stderr);
      });
      after(async () => {
        await t?.cleanup();
      });

      test('without SIZE: shows the quota in force and the usage (a new user: the default, unlimited)', T, async () => {
        assert.deepEqual(json<QuotaJson>(await tegu(['user', 'quota', 'Q@example.test', '--json'])), {
          address: 'q@example.test', quotaBytes: null, limitBytes: 0, usedBytes: 0, messages: 0,
        });
        const r = await tegu(['user', 'quota', 'q@example.test']);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, 'q@example.test: quota unlimited (the default, mailbox.defaultQuotaBytes); used 0 bytes in 0 messages\n');
      });

      test('SIZE 500M sets it; usage shows in user quota and user list --json (usedBytes)', T, async () => {
        const set = json<QuotaJson>(await tegu(['user', 'quota', 'q@example.test', '500M', '--json']));
        assert.deepEqual([set.quotaBytes, set.limitBytes], [500 * MiB, 500 * MiB]);
        // A message, stored the way delivery stores it (the CLI has no command for that).
        const db = await openDatabase({ databaseUrl: t.engine === 'postgres' ? t.args[t.args.indexOf('--database') + 1] : undefined, dataDir: t.dataDir });
        let size: number;
        try {
          const a = (await findAccount(db, 'q@example.test'))!;
          const inbox = await getMailboxByName({ db, actor: 'test', node: 'test' }, a.id, 'INBOX');
          const raw = Buffer.from(`Subject: counted\r\n\r\n${'z'.repeat(5000)}\r\n`);
          await appendMessage(db, { mailboxId: inbox.id, raw });
          size = raw.length;
        } finally {
          await db.close();
        }
        const r = await tegu(['user', 'quota', 'q@example.test']);
        assert.equal(r.stdout, 'q@example.test: quota 500 MiB; used 4.9 KiB in 1 message, 0%\n');
        const users = json<{ address: string; quotaBytes: number | null; usedBytes: number }[]>(await tegu(['user', 'list', '--json']));
        assert.deepEqual(users, [{ ...users[0], address: 'q@example.test', quotaBytes: 500 * MiB, usedBytes: size }]);
        assert.match((await tegu(['user', 'list'])).stdout, /^ADDRESS +NAME +SOURCE +USED +CREATED\nq@example\.test +local +4\.9 KiB /);
      });

      test('"default" goes back to the setting, which then applies; 0 is unlimited', T, async () => {
        assert.equal((await tegu(['settings', 'set', 'mailbox.defaultQuotaBytes', '1000'])).code, 0);
        const d = json<QuotaJson>(await tegu(['user', 'quota', 'q@example.test', 'default', '--json']));
        assert.deepEqual([d.quotaBytes, d.limitBytes], [null, 1000]);
        assert.match((await tegu(['user', 'quota', 'q@example.test'])).stdout, /quota 1000 bytes \(the default, mailbox\.defaultQuotaBytes\); used 4\.9 KiB in 1 message, 502%/);
        const u = json<QuotaJson>(await tegu(['user', 'quota', 'q@example.test', '0', '--json']));
        assert.deepEqual([u.quotaBytes, u.limitBytes], [0, 0]);
      });

      test('a bad SIZE is bad usage (exit 2, before the database is opened); an unknown user exit 1', T, async () => {
        const bad = await tegu(['user', 'quota', 'q@example.test', '12 parsecs']);
        assert.equal(bad.code, 2);
        assert.match(oneErrorLine(bad.stderr), /"12 parsecs" is not a size/);
        const missing = await tegu(['user', 'quota', 'nobody@example.test', '1G']);
        assert.equal(missing.code, 1);
        assert.match(oneErrorLine(missing.stderr), /user nobody@example\.test does not exist/);
      });
    });
  }
});
