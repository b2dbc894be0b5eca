/**
 * Concurrent appends: UIDs and MODSEQs stay distinct and increasing, nothing
 * is lost, identical bytes are stored once. Two separate processes on one real
 * PostgreSQL (only with TEGU_TEST_DATABASE_URL), and many appends from one
 * pool on every engine.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { addAccount } from '../src/core/accounts.ts';
import { appendMessage } from '../src/core/append.ts';
import { getMailboxByName } from '../src/core/mailboxes.ts';
import type { AccountId, MailboxId } from '../src/lib/ids.ts';
import type { Database } from '../src/store/db.ts';
import { getMailbox } from '../src/store/mailboxes.ts';
import { changesSince, countBlobs, listMessages, readBlob } from '../src/store/messages.ts';
import { engines, postgresEngine, testContext, type TestDb } from './helpers/db.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PG_URL = process.env.TEGU_TEST_DATABASE_URL;

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

let accountSeq = 0;
async function newAccount(db: Database): Promise<AccountId> {
  const account = await addAccount(testContext(db), {
    address: `concurrency-${process.pid}-${++accountSeq}@example.com`,
    password: 'correct horse battery staple',
    createDomain: true,
  });
  return account.id;
}

async function mailboxOf(db: Database, accountId: AccountId, name: string): Promise<MailboxId> {
  return (await getMailboxByName(testContext(db), accountId, name)).id;
}

function message(subject: string, body = `Body of "${subject}".`): Buffer {
  return Buffer.from(
    [
      'From: sender@example.com',
      'To: rcpt@example.com',
      `Subject: ${subject}`,
      `Message-ID: <${subject.replace(/\W+/g, '.')}@store-concurrency.test>`,
      '',
      body,
      '',
    ].join('\r\n'),
  );
}

/**
 * What every mailbox must look like after N appends, however they raced:
 * N rows, UIDs exactly 1..N, MODSEQ strictly increasing in UID order, every
 * expected subject present once, uid_next = N + 1, N 'append' journal rows.
 */
async function assertAppendedInOrder(db: Database, mailboxId: MailboxId, subjects: readonly string[]): Promise<void> {
  const n = subjects.length;
  const rows = await listMessages(db, mailboxId);
  assert.equal(rows.length, n, 'one row per acknowledged append');
  assert.deepEqual(
    rows.map((r) => r.uid),
    range(n),
    'UIDs are 1..N, distinct and ascending',
  );
  for (let i = 1; i < rows.length; i++) {
    const prev = rows[i - 1]!;
    const cur = rows[i]!;
    assert.ok(cur.modseq > prev.modseq, `modseq must increase with uid: uid ${prev.uid} has ${prev.modseq}, uid ${cur.uid} has ${cur.modseq}`);
  }
  assert.deepEqual(
    rows.map((r) => r.subject).sort(),
    [...subjects].sort(),
    'every message of every writer is there, once',
  );
  const box = await getMailbox(db, mailboxId);
  assert.ok(box);
  assert.equal(box.uidNext, n + 1);
  assert.equal(box.highestModseq, rows.at(-1)?.modseq, 'highest_modseq is the last message modseq');
  const changes = await changesSince(db, mailboxId, 0n);
  const appends = changes.filter((c) => c.kind === 'append');
  assert.equal(appends.length, n, `${n} append rows in mailbox_changes`);
  assert.deepEqual(
    appends.map((c) => [c.uid, c.modseq]),
    rows.map((r) => [r.uid, r.modseq]),
    'the journal matches the messages',
  );
}

// ---- two processes on one real PostgreSQL

interface Appended {
  subject: string;
  uid: number;
  modseq: string;
  at: number;
}

interface WorkerResult {
  appended: Appended[];
  startedAt: number;
  finishedAt: number;
}

interface AppendWorker {
  ready: Promise<void>;
  done: Promise<WorkerResult>;
  go(): void;
  kill(): void;
}

function startAppendWorker(url: string, mailboxId: MailboxId, tag: string, count: number): AppendWorker {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/append-worker.ts', url, String(mailboxId), tag, String(count)], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => (stderr += d));
  const appended: Appended[] = [];
  let finished: { startedAt: number; finishedAt: number } | undefined;
  let markReady!: () => void;
  let failReady!: (e: Error) => void;
  const ready = new Promise<void>((res, rej) => {
    markReady = res;
    failReady = rej;
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    const msg = JSON.parse(line) as { type: string } & Partial<Appended> & { startedAt?: number; finishedAt?: number };
    if (msg.type === 'ready') markReady();
    else if (msg.type === 'appended') appended.push(msg as Appended);
    else if (msg.type === 'done') finished = { startedAt: msg.startedAt!, finishedAt: msg.finishedAt! };
  });
  const done = new Promise<WorkerResult>((res, rej) => {
    child.on('error', rej);
    child.on('close', (code) => {
      const err = new Error(`append worker ${tag} exited with ${code}:\n${stderr}`);
      failReady(err);
      if (code === 0 && finished) res({ appended, ...finished });
      else rej(err);
    });
  });
  done.catch(() => undefined); // observed through `ready` or awaited later
  return {
    ready,
    done,
    go: () => child.stdin.end('go\n'),
    kill: () => child.kill(),
  };
}

describe('two processes on one real PostgreSQL', () => {
  test(
    'append 20 messages each to the same mailbox at once: 40 rows, 40 distinct increasing UIDs, modseqs strictly increasing, nothing lost',
    { skip: PG_URL ? false : 'TEGU_TEST_DATABASE_URL not set', timeout: 120_000 },
    async (t) => {
      const testDb = await postgresEngine(PG_URL!).create();
      const workers: AppendWorker[] = [];
      try {
        const { db, url } = testDb;
        assert.ok(url);
        const inbox = await mailboxOf(db, await newAccount(db), 'INBOX');
        const perWriter = 20;

        workers.push(startAppendWorker(url, inbox, 'A', perWriter), startAppendWorker(url, inbox, 'B', perWriter));
        // Start barrier: both pools are connected before either appends.
        await Promise.all(workers.map((w) => w.ready));
        for (const w of workers) w.go();
        const [a, b] = await Promise.all(workers.map((w) => w.done));
        assert.ok(a && b);

        // Both processes really appended at the same time.
        assert.ok(
          a.startedAt < b.finishedAt && b.startedAt < a.finishedAt,
          `the writers did not overlap: A ${a.startedAt}..${a.finishedAt}, B ${b.startedAt}..${b.finishedAt}`,
        );
        assert.equal(a.appended.length, perWriter);
        assert.equal(b.appended.length, perWriter);

        const subjects = ['A', 'B'].flatMap((tag) => range(perWriter).map((n) => `writer ${tag} message ${n}`));
        await assertAppendedInOrder(db, inbox, subjects);

        // Every acknowledged append is stored under the UID and MODSEQ its writer was told.
        const byUid = new Map((await listMessages(db, inbox)).map((r) => [r.uid, r]));
        for (const ack of [...a.appended, ...b.appended]) {
          const row = byUid.get(ack.uid);
          assert.ok(row, `acknowledged uid ${ack.uid} is missing`);
          assert.equal(row.subject, ack.subject);
          assert.equal(row.modseq, BigInt(ack.modseq));
        }
        const order = [...byUid.values()].map((r) => r.subject.split(' ')[1]).join('');
        t.diagnostic(`writer of each uid in order: ${order}`);
      } finally {
        for (const w of workers) w.kill();
        await testDb.drop();
      }
    },
  );
});

// ---- one pool, every engine

for (const engine of engines()) {
  describe(`concurrent appends from one pool (${engine.name})`, () => {
    let testDb: TestDb;
    before(async () => {
      testDb = await engine.create();
    });
    after(async () => {
      await testDb?.drop();
    });

    test('40 concurrent appendMessage calls: 40 rows, UIDs 1..40, modseqs strictly increasing, nothing lost', async () => {
      const { db } = testDb;
      const inbox = await mailboxOf(db, await newAccount(db), 'INBOX');
      const subjects = range(40).map((n) => `in-process message ${n}`);
      const results = await Promise.all(subjects.map((s) => appendMessage(db, { mailboxId: inbox, raw: message(s) })));
      assert.deepEqual(
        results.map((r) => r.uid).sort((x, y) => x - y),
        range(40),
        'every call got its own UID',
      );
      assert.equal(new Set(results.map((r) => r.modseq)).size, 40, 'every call got its own MODSEQ');
      await assertAppendedInOrder(db, inbox, subjects);
    });

    test('same blob appended twice = one blob row', async () => {
      const { db } = testDb;
      const account = await newAccount(db);
      const inbox = await mailboxOf(db, account, 'INBOX');
      const archive = await mailboxOf(db, account, 'Archive');
      const raw = message(`dedup ${engine.name}`, 'The same bytes, delivered to two mailboxes.');
      const before = await countBlobs(db);

      // Twice at once, into two different mailboxes: the racing inserts meet on the sha256.
      const [r1, r2] = await Promise.all([
        appendMessage(db, { mailboxId: inbox, raw }),
        appendMessage(db, { mailboxId: archive, raw: Buffer.from(raw) }),
      ]);
      assert.ok(r1 && r2);
      assert.equal(await countBlobs(db), before + 1, 'one blob row for identical bytes');
      const inInbox = await listMessages(db, inbox);
      const inArchive = await listMessages(db, archive);
      assert.equal(inInbox.length, 1);
      assert.equal(inArchive.length, 1);
      assert.equal(inInbox[0]!.blobId, inArchive[0]!.blobId, 'both messages point at the same blob');
      assert.deepEqual(await readBlob(db, inInbox[0]!.blobId), raw);

      // Once more, into the same mailbox: a second message row, still the one blob.
      await appendMessage(db, { mailboxId: inbox, raw });
      assert.equal(await countBlobs(db), before + 1);
      const again = await listMessages(db, inbox);
      assert.equal(again.length, 2);
      assert.equal(again[1]!.blobId, again[0]!.blobId);

      // Different bytes are a different blob.
      await appendMessage(db, { mailboxId: inbox, raw: message(`dedup ${engine.name} other`) });
      assert.equal(await countBlobs(db), before + 2);
    });
  });
}
