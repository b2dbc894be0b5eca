// `tegu queue list|show|hold|release|retry|delete` and `tegu domain dkim`, run
// as child processes against a database with two queued messages, on each engine.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { addAccount } from '../src/core/accounts.ts';
import { deliverMessage } from '../src/core/deliver.ts';
import type { Database } from '../src/store/db.ts';
import { embeddedEngine, postgresEngine, testContext, type TestDb } from './helpers/db.ts';
import { oneErrorLine, runTegu, type CliResult } from './helpers/cli.ts';

const T = { timeout: 240_000 };

interface Row { id: number; to: string; status: string; from: string }

function json<V = unknown>(r: CliResult): V {
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as V;
}

async function seed(db: Database): Promise<void> {
  await addAccount(testContext(db), { address: 'alice@corp.test', password: 'cli queue password', createDomain: true });
  for (const [subject, rcpts] of [['first', ['a@remote.test', 'b@remote.test']], ['second', ['c@other.test']]] as const) {
    await deliverMessage(db, {
      message: Buffer.from(`From: alice@corp.test\r\nSubject: ${subject}\r\n\r\nbody\r\n`),
      recipients: [],
      outbound: {
        headerPrefix: Buffer.alloc(0), mailFrom: 'alice@corp.test', expiresAt: new Date(Date.now() + 3_600_000),
        recipients: rcpts.map((address) => ({ address })),
      },
    });
  }
  // Not due for an hour: no worker runs here, but a list should show a future time.
  await db.query(`UPDATE queue_recipients SET next_attempt_at = now() + interval '1 hour'`);
}

const targets: { engine: string; make(): Promise<{ args: string[]; cleanup(): Promise<void> }> }[] = [
  {
    engine: 'embedded',
    async make() {
      const t = await embeddedEngine().create();
      await seed(t.db);
      await t.db.close();
      return { args: ['--data', t.dataDir!], cleanup: () => t.drop() };
    },
  },
];
const PG = process.env.TEGU_TEST_DATABASE_URL;
if (PG) {
  targets.push({
    engine: 'postgres',
    async make() {
      const t: TestDb = await postgresEngine(PG).create();
      await seed(t.db);
      const dir = await mkdtemp(join(tmpdir(), 'tegu-cli-queue-'));
      return {
        args: ['--database', t.url!, '--data', dir],
        cleanup: async () => {
          await t.drop();
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
  });
}

describe('tegu queue and tegu domain dkim', { concurrency: true }, () => {
  for (const factory of targets) {
    describe(factory.engine, { concurrency: 1 }, () => {
      let t: { args: string[]; cleanup(): Promise<void> };
      const tegu = (args: string[]): Promise<CliResult> => runTegu([...args, ...t.args]);
      const list = async (history = false): Promise<Row[]> => json<Row[]>(await tegu(['queue', 'list', '--json', ...(history ? ['--history'] : [])]));
      before(async () => {
        t = await factory.make();
      });
      after(async () => {
        await t?.cleanup();
      });

      test('list shows each waiting recipient; show gives one message', T, async () => {
        const rows = await list();
        assert.deepEqual(rows.map((r) => [r.to, r.status, r.from]), [
          ['a@remote.test', 'queued', 'alice@corp.test'],
          ['b@remote.test', 'queued', 'alice@corp.test'],
          ['c@other.test', 'queued', 'alice@corp.test'],
        ]);
        const human = await tegu(['queue', 'list']);
        assert.equal(human.code, 0, human.stderr);
        assert.match(human.stdout, /a@remote\.test/);
        const shown = await tegu(['queue', 'show', String(rows[0]!.id)]);
        assert.equal(shown.code, 0, shown.stderr);
        assert.match(shown.stdout, new RegExp(`^message ${rows[0]!.id} \\(mail\\) from alice@corp\\.test`));
        assert.match(shown.stdout, /a@remote\.test: queued, 0 attempt/);
        assert.match(shown.stdout, /b@remote\.test: queued/);
        assert.doesNotMatch(shown.stdout, /c@other\.test/);
      });

      test('hold and release; retry makes it due now', T, async () => {
        const id = String((await list()).find((r) => r.to === 'c@other.test')!.id);
        assert.match((await tegu(['queue', 'hold', id])).stdout, /1 recipient\(s\) held/);
        assert.equal((await list()).find((r) => r.to === 'c@other.test')?.status, 'held');
        assert.match((await tegu(['queue', 'release', id])).stdout, /1 recipient\(s\) released/);
        assert.equal((await list()).find((r) => r.to === 'c@other.test')?.status, 'queued');
        const retry = json<{ retried: number }>(await tegu(['queue', 'retry', 'all', '--json']));
        assert.equal(retry.retried, 3);
      });

      test('delete removes a message without a bounce; bad and unknown ids fail clearly', T, async () => {
        const id = String((await list()).find((r) => r.to === 'a@remote.test')!.id);
        assert.equal((await tegu(['queue', 'delete', id])).code, 0);
        assert.deepEqual((await list(true)).map((r) => r.to), ['c@other.test']);
        const again = await tegu(['queue', 'delete', id]);
        assert.equal(again.code, 1);
        assert.match(oneErrorLine(again.stderr), /no queued message/);
        const bad = await tegu(['queue', 'show', 'abc']);
        assert.equal(bad.code, 2);
        assert.match(oneErrorLine(bad.stderr), /not a queue message id/);
      });

      test('the smarthost password setting is never shown back', T, async () => {
        const set = await tegu(['settings', 'set', 'queue.smarthostPassword', 'hunter2 relay']);
        assert.equal(set.code, 0, set.stderr);
        assert.equal(set.stdout.includes('hunter2'), false, set.stdout);
        assert.equal((await tegu(['settings', 'get', 'queue.smarthostPassword'])).stdout.trim(), '(set)');
        const all = await tegu(['settings', 'list', '--json']);
        assert.equal(all.stdout.includes('hunter2'), false);
        assert.ok(all.stdout.includes('"queue.smarthostPassword"'));
      });

      test('domain dkim generates a key once, prints its TXT record, rotates on request', T, async () => {
        const first = json<{ selector: string; name: string; value: string; created: boolean }>(await tegu(['domain', 'dkim', 'corp.test', '--json']));
        assert.equal(first.created, true);
        assert.equal(first.name, `${first.selector}._domainkey.corp.test`);
        assert.match(first.value, /^v=DKIM1; k=rsa; p=[A-Za-z0-9+/=]{300,}$/);
        const again = json<{ selector: string; created: boolean }>(await tegu(['domain', 'dkim', 'corp.test', '--json']));
        assert.deepEqual(again, { ...again, selector: first.selector, created: false });
        const human = await tegu(['domain', 'dkim', 'corp.test']);
        assert.match(human.stdout, new RegExp(`${first.selector}\\._domainkey\\.corp\\.test\\.?\\s+IN\\s+TXT\\s+"v=DKIM1; k=rsa; p=`));
        const rotated = json<{ selector: string; created: boolean }>(await tegu(['domain', 'dkim', 'corp.test', '--rotate', '--json']));
        assert.equal(rotated.created, true);
        assert.notEqual(rotated.selector, first.selector);
        const current = json<{ selector: string; created: boolean }>(await tegu(['domain', 'dkim', 'corp.test', '--json']));
        assert.deepEqual([current.selector, current.created], [rotated.selector, false], 'the rotated key is the one that signs now');
        const ed = json<{ value: string }>(await tegu(['domain', 'dkim', 'corp.test', '--algorithm', 'ed25519-sha256', '--json']));
        assert.match(ed.value, /^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$/);
        const unknown = await tegu(['domain', 'dkim', 'nowhere.test']);
        assert.equal(unknown.code, 1);
        assert.match(oneErrorLine(unknown.stderr), /no such domain/);
        const badAlg = await tegu(['domain', 'dkim', 'corp.test', '--algorithm', 'md5']);
        assert.equal(badAlg.code, 2);
      });
    });
  }
});
