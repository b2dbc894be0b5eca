/**
 * Store benchmark: append throughput of the embedded engine (PGlite in a
 * worker thread) and of real PostgreSQL, side by side.
 *
 *   npm run bench:store -- [--n 10000] [--concurrency 8] [--mailboxes 10] [--size 4096]
 *                          [--engines embedded,postgres] [--database URL]
 *
 * Appends N distinct messages of SIZE bytes through core appendMessage (the
 * real path: blob, UID/MODSEQ, message row, journal, NOTIFY) with C concurrent
 * writers spread over M mailboxes, and prints appends/s, p50/p99 latency and
 * peak RSS per engine. --database is an admin URL: a scratch database
 * tegu_bench_<random> is created there and dropped afterwards.
 *
 * Each engine is measured in a fresh child process (this file with --child),
 * so one engine's memory does not show up in the other's figures and the
 * embedded initdb (which alone takes 800+ MB) is done beforehand, untimed, in
 * the parent. Setup (schema, account, mailboxes) is never timed.
 *
 * A benchmark prints figures; it does not fail on speed.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addAccount } from '../src/core/accounts.ts';
import { appendMessage } from '../src/core/append.ts';
import type { CoreContext } from '../src/core/context.ts';
import type { MailboxId } from '../src/lib/ids.ts';
import type { Database } from '../src/store/db.ts';
import { openEmbedded } from '../src/store/embedded.ts';
import { findMailbox, insertMailboxes } from '../src/store/mailboxes.ts';
import { migrate } from '../src/store/migrate.ts';
import { openPostgres } from '../src/store/postgres.ts';
import { argHelpers, type ArgHelpers } from './lib/args.ts';
import { runChildScript, writeResult } from './lib/child.ts';
import { MB, percentile, runTargets } from './lib/harness.ts';
import { filler, plainHead } from './lib/mail.ts';
import { databaseUrlOf, pgSettings, pgVersion, redact, withScratchDatabase } from './lib/scratch-db.ts';
import { fmt, printTitledTable } from './lib/table.ts';

type EngineName = 'embedded' | 'postgres';
const ENGINES: readonly EngineName[] = ['embedded', 'postgres'];
const SELF = fileURLToPath(import.meta.url);
const SAMPLE_MS = 50;

// ---- options

interface Options {
  n: number;
  concurrency: number;
  mailboxes: number;
  size: number;
  engines: EngineName[];
  database: string;
}

const USAGE = `usage: npm run bench:store -- [--n 10000] [--concurrency 8] [--mailboxes 10] [--size 4096]
                             [--engines embedded,postgres] [--database postgres://admin-url]`;

const args: ArgHelpers = argHelpers('bench/store', USAGE);
const { positiveInt, nameList } = args;

function parseOptions(argv: string[]): { opts: Options; child?: { engine: EngineName; target: string; mailboxIds: MailboxId[] } } {
  const values = args.parse(argv, {
    n: { type: 'string' },
    concurrency: { type: 'string', short: 'c' },
    mailboxes: { type: 'string' },
    size: { type: 'string' },
    engines: { type: 'string' },
    // Internal: the measuring child process.
    child: { type: 'string' },
    target: { type: 'string' },
    'mailbox-ids': { type: 'string' },
  });
  const engines = nameList('engines', values.engines, ENGINES);
  const opts: Options = {
    n: positiveInt('n', values.n, 10_000),
    concurrency: positiveInt('concurrency', values.concurrency, 8),
    mailboxes: positiveInt('mailboxes', values.mailboxes, 10),
    size: positiveInt('size', values.size, 4096),
    engines: [...new Set(engines)] as EngineName[],
    database: databaseUrlOf(values.database),
  };
  if (values.child === undefined) return { opts };
  if (!ENGINES.includes(values.child as EngineName) || !values.target || !values['mailbox-ids']) args.fail('bad --child invocation');
  return {
    opts,
    child: {
      engine: values.child as EngineName,
      target: values.target,
      mailboxIds: values['mailbox-ids'].split(',').map((x) => Number(x) as MailboxId),
    },
  };
}

// ---- messages

/**
 * Message `i` of the run: exactly `size` bytes (unless the header alone is
 * longer) and distinct from every other message by its headers, so blob
 * deduplication does not flatter the figures.
 */
function messageMaker(size: number, runId: string): (i: number) => Buffer {
  const body = filler(size);
  return (i) => {
    const head = plainHead('Bench Sender <sender@bench.example>', 'bench@bench.example', `store benchmark message ${i}`, `${runId}.${i}`);
    return Buffer.concat([head, body.subarray(0, Math.max(0, size - head.length))]);
  };
}

// ---- memory

interface ProcMem {
  rss: number;
  anon: number;
  file: number;
  shmem: number;
}

/** VmRSS and its parts from /proc/<pid>/status, in bytes; undefined when unreadable (other OS, process gone). */
function procMem(pid: number): ProcMem | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile'), shmem: kb('RssShmem') };
}

/**
 * Memory of the PostgreSQL backends serving the bench connections. Summing
 * their VmRSS would count the shared buffers (and the mapped binary) once per
 * backend, so: private memory of every backend + the largest shared part once.
 */
function serverMem(pids: readonly number[]): number | undefined {
  const mems = pids.map(procMem).filter((m): m is ProcMem => m !== undefined);
  if (mems.length === 0) return undefined;
  const sum = mems.reduce((s, m) => s + m.anon, 0);
  return sum + Math.max(...mems.map((m) => m.shmem)) + Math.max(...mems.map((m) => m.file));
}

class PeakSampler {
  clientPeak = process.memoryUsage().rss;
  serverPeak: number | undefined;
  serverPids: number[] = [];
  private readonly timer = setInterval(() => this.sample(), SAMPLE_MS);
  sample(): void {
    this.clientPeak = Math.max(this.clientPeak, process.memoryUsage().rss);
    if (this.serverPids.length) {
      const s = serverMem(this.serverPids);
      if (s !== undefined) this.serverPeak = Math.max(this.serverPeak ?? 0, s);
    }
  }
  stop(): void {
    this.sample();
    clearInterval(this.timer);
  }
}

// ---- the measuring child

interface RunResult {
  engine: EngineName;
  n: number;
  stored: number;
  seconds: number;
  appendsPerSec: number;
  p50: number;
  p99: number;
  max: number;
  baselineRssMb: number;
  peakRssMb: number;
  osMaxRssMb: number;
  serverPeakMb?: number;
  serverBackends?: number;
  version: string;
  settings?: string;
}

async function runChild(opts: Options, engine: EngineName, target: string, mailboxIds: readonly MailboxId[]): Promise<RunResult> {
  const baseline = process.memoryUsage().rss;
  const sampler = new PeakSampler();
  const db: Database =
    engine === 'embedded'
      ? await openEmbedded({ dataDir: target })
      : openPostgres({ url: target, max: opts.concurrency, applicationName: 'tegu-bench' });
  try {
    const version = await pgVersion(db);
    let settings: string | undefined;
    if (engine === 'postgres') {
      // Open the whole pool before the clock starts, then find its backends.
      await Promise.all(Array.from({ length: opts.concurrency }, () => db.query('SELECT pg_sleep(0.02)')));
      const rows = await db.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'tegu-bench'`,
      );
      sampler.serverPids = rows.map((r) => r.pid);
      settings = await pgSettings(db);
    } else {
      await db.query('SELECT 1');
    }

    const make = messageMaker(opts.size, randomBytes(6).toString('hex'));
    const latencies = new Float64Array(opts.n);
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: opts.concurrency }, async () => {
        for (let i = next++; i < opts.n; i = next++) {
          const raw = make(i);
          const t0 = performance.now();
          await appendMessage(db, { mailboxId: mailboxIds[i % mailboxIds.length]!, raw });
          latencies[i] = performance.now() - t0;
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    sampler.stop();

    const stored = Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM messages'))[0]?.n ?? 0);
    const sorted = [...latencies].sort((a, b) => a - b);
    return {
      engine,
      n: opts.n,
      stored,
      seconds,
      appendsPerSec: opts.n / seconds,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      max: sorted.at(-1) ?? NaN,
      baselineRssMb: baseline / MB,
      peakRssMb: sampler.clientPeak / MB,
      osMaxRssMb: (process.resourceUsage().maxRSS * 1024) / MB,
      ...(sampler.serverPeak !== undefined
        ? { serverPeakMb: sampler.serverPeak / MB, serverBackends: sampler.serverPids.length }
        : {}),
      version,
      ...(settings ? { settings } : {}),
    };
  } finally {
    sampler.stop();
    await db.close();
  }
}

// ---- the parent: setup, one child per engine, teardown, table

/** Schema, one account and M mailboxes, then closes `db`; returns the mailbox ids. Not timed. */
async function setup(db: Database, mailboxes: number): Promise<MailboxId[]> {
  try {
    return await setupMailboxes(db, mailboxes);
  } finally {
    await db.close();
  }
}

async function setupMailboxes(db: Database, mailboxes: number): Promise<MailboxId[]> {
  await migrate(db);
  const ctx: CoreContext = { db, actor: 'bench', node: 'bench' };
  const account = await addAccount(ctx, { address: 'bench@bench.example', password: 'bench-password', createDomain: true });
  const names = Array.from({ length: mailboxes }, (_, i) => `Bench/${i + 1}`);
  await insertMailboxes(
    db,
    names.map((name) => ({ accountId: account.id, name, specialUse: null, subscribed: true })),
  );
  const ids: MailboxId[] = [];
  for (const name of names) {
    const box = await findMailbox(db, account.id, name);
    if (!box) throw new Error(`mailbox ${name} was not created`);
    ids.push(box.id);
  }
  return ids;
}

function runInChild(opts: Options, engine: EngineName, target: string, mailboxIds: readonly MailboxId[]): Promise<RunResult> {
  const argv = [
    '--child', engine, '--target', target, '--mailbox-ids', mailboxIds.join(','),
    '--n', String(opts.n), '--concurrency', String(opts.concurrency),
    '--mailboxes', String(opts.mailboxes), '--size', String(opts.size),
  ];
  return runChildScript<RunResult>(SELF, argv, `${engine} run`);
}

async function benchEmbedded(opts: Options): Promise<RunResult> {
  const dir = await mkdtemp(join(tmpdir(), 'tegu-bench-'));
  try {
    process.stderr.write('embedded: initdb, schema and mailboxes (not timed)...\n');
    const ids = await setup(await openEmbedded({ dataDir: dir }), opts.mailboxes);
    process.stderr.write(`embedded: appending ${opts.n} messages...\n`);
    return await runInChild(opts, 'embedded', dir, ids);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function benchPostgres(opts: Options): Promise<RunResult> {
  return withScratchDatabase(opts.database, 'tegu_bench', async ({ name, url, create }) => {
    process.stderr.write(`postgres: creating scratch database ${name} on ${redact(opts.database)} (not timed)...\n`);
    await create();
    const ids = await setup(openPostgres({ url, max: 2, applicationName: 'tegu-bench-setup' }), opts.mailboxes);
    process.stderr.write(`postgres: appending ${opts.n} messages...\n`);
    return await runInChild(opts, 'postgres', url, ids);
  });
}

function printTable(opts: Options, results: readonly RunResult[]): void {
  const head = ['engine', 'appends/s', 'p50/p99 latency ms', 'peak RSS MB', 'PG server RSS MB', 'client+server MB'];
  const rows = results.map((r) => [
    r.engine,
    fmt(r.appendsPerSec),
    `${fmt(r.p50, 1)} / ${fmt(r.p99, 1)}`,
    fmt(r.peakRssMb),
    r.engine === 'postgres' ? fmt(r.serverPeakMb) : 'n/a (in process)',
    fmt(r.peakRssMb + (r.serverPeakMb ?? 0)),
  ]);
  printTitledTable(
    `TEGU store benchmark: ${fmt(opts.n)} appends of ${fmt(opts.size)}-byte messages, ` +
      `${opts.concurrency} concurrent writers, ${opts.mailboxes} mailboxes`,
    head,
    rows,
  );

  const e = results.find((r) => r.engine === 'embedded');
  const p = results.find((r) => r.engine === 'postgres');
  if (e && p) {
    const x = (a: number, b: number): string => `${(a / b).toFixed(2)}x`;
    console.log(
      `embedded/postgres: appends/s ${x(e.appendsPerSec, p.appendsPerSec)}, p50 ${x(e.p50, p.p50)}, p99 ${x(e.p99, p.p99)}, ` +
        `peak RSS ${x(e.peakRssMb, p.peakRssMb)} vs client only` +
        (p.serverPeakMb !== undefined ? `, ${x(e.peakRssMb, p.peakRssMb + p.serverPeakMb)} vs client+server` : ''),
    );
    console.log('');
  }
  console.log('Notes:');
  console.log(
    `- peak RSS: process.memoryUsage().rss of the measuring process sampled every ${SAMPLE_MS} ms from open to the last append ` +
      `(a fresh process per engine; the embedded initdb ran beforehand in another process). For embedded it includes PGlite (worker thread).`,
  );
  for (const r of results) {
    console.log(
      `- ${r.engine}: ${r.version.split(',')[0]}; ${fmt(r.seconds, 2)} s; stored ${fmt(r.stored)} of ${fmt(r.n)}` +
        `${r.stored === r.n ? '' : ' (MISMATCH)'}; max latency ${fmt(r.max, 1)} ms; ` +
        `RSS at start ${fmt(r.baselineRssMb)} MB, OS max RSS ${fmt(r.osMaxRssMb)} MB` +
        (r.settings ? `; ${r.settings}` : ''),
    );
  }
  if (p) {
    console.log(
      p.serverPeakMb !== undefined
        ? `- PG server RSS: the ${p.serverBackends} backends of the bench connections (pids from pg_stat_activity, /proc/<pid>/status): ` +
            `their private memory (RssAnon) summed + shared buffers and mapped files counted once; ` +
            `the postmaster, checkpointer, WAL writer and other server processes are not included.`
        : '- PG server RSS: not available (/proc unreadable or server on another host): postgres figures are client-only.',
    );
  }
  if (e) console.log('- embedded: PGlite never calls fsync; PostgreSQL with fsync=on does. Commits are not equally durable.');
}

async function main(): Promise<void> {
  const { opts, child } = parseOptions(process.argv.slice(2));
  if (child) {
    writeResult(await runChild(opts, child.engine, child.target, child.mailboxIds));
    return;
  }
  const { results, failures } = await runTargets(opts.engines, (engine) =>
    engine === 'embedded' ? benchEmbedded(opts) : benchPostgres(opts),
  );
  if (results.length) printTable(opts, results);
  if (failures.length) process.exitCode = 1;
}

await main();
