/**
 * Outbound queue benchmark: authenticated submission, queueing and delivery
 * to a remote MTA, for TEGU on PostgreSQL and for Postfix on the same
 * machine, both delivering to the same kind of sink, in one run.
 *
 *   npm run bench:queue -- [--n 2000] [--concurrency 20] [--size 4096]
 *                          [--targets tegu,reference] [--database URL] [--deliver-timeout 60]
 *                          [--reference-port 20587] [--reference-dir ../shared/reference]
 *
 * - The sink (bench/lib/sink.ts) is a minimal SMTP server on a free
 *   127.0.0.1 port in a child process of its own, fresh per target: it
 *   offers PIPELINING, 8BITMIME and SIZE (no STARTTLS), takes everything and
 *   counts the messages by their `Subject: q-<run>-<n>` line, duplicates
 *   apart, with the time of the latest arrival.
 * - C concurrent submission sessions (RFC 6409: STARTTLS, any certificate,
 *   then AUTH PLAIN), session k logged in as u<k>@example.test, submit N
 *   distinct messages of SIZE bytes (bench/lib/mail.ts), message n from
 *   u<k>@example.test to r<n>@sink.test, one transaction after another per
 *   session (MAIL, RCPT, DATA, lock-step). The sessions are open and
 *   authenticated before the clock starts.
 * - Printed per target: submitted msgs/s (final 250s over the submission
 *   time), p50/p99 submit latency (MAIL to the final reply), delivered
 *   msgs/s (messages at the sink over the time from the first submission to
 *   the last arrival), how many arrived (and duplicates), and server CPU per
 *   message from the start of the submissions until everything arrived
 *   (user + system time of all server processes: immune to other load on
 *   the machine, unlike rates); then TEGU/Postfix ratios.
 *
 * - tegu: a scratch database tegu_bench_queue_<random> on the --database
 *   admin URL, migrated, users u1..uC@example.test (not timed), the static
 *   route `queue.routes` = sink.test=127.0.0.1:<sink port>, and `tegu serve
 *   --listen-submission` as a child process. CPU: tegu serve and the
 *   PostgreSQL backends of its database.
 * - reference: Postfix of ../shared/reference (start.sh is run if nothing
 *   listens on --reference-port, stop.sh at the end only then); submission
 *   127.0.0.1:20587 with AUTH through Dovecot, users u1..u200 / pass. For the
 *   run it relays sink.test to the sink (relay_domains, transport_maps
 *   inline:, and an smtp service in master.cf, which the reference lacks),
 *   all restored afterwards. CPU: the Postfix master process tree.
 *
 * The submitting clients run in a child process per target (this file with
 * --child). Only 127.0.0.1 is contacted. A benchmark prints figures; it
 * does not fail on speed.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { addAccount } from '../src/core/accounts.ts';
import type { CoreContext } from '../src/core/context.ts';
import { setSetting } from '../src/core/settings.ts';
import { migrate } from '../src/store/migrate.ts';
import { openPostgres } from '../src/store/postgres.ts';
import { argHelpers, REFERENCE_OPTIONS, type ArgHelpers } from './lib/args.ts';
import { runChildScript, writeResult } from './lib/child.ts';
import { errorText, HOST, MB, percentile, pool, ROOT, runTargets, say, sleep, stopChild, tail } from './lib/harness.ts';
import { smtpMessageMaker } from './lib/mail.ts';
import { listProcs, PssSampler, withDescendants } from './lib/proc.ts';
import { DOMAIN, ensureReference, POSTFIX_PID, readPid, REFERENCE_USERS, referenceDirOf, stopReference, TARGETS, versionOf, type TargetName } from './lib/reference.ts';
import { databaseUrlOf, pgNote, redact, withScratchDatabase } from './lib/scratch-db.ts';
import { epochMs, startSink, type Sink, type SinkResult } from './lib/sink.ts';
import { SmtpClient, type SmtpReply } from './lib/smtp-client.ts';
import { fmt, printTitledTable, table } from './lib/table.ts';
import { cpuSplit, startTeguServe, teguNodePids, teguServerPids } from './lib/tegu-serve.ts';

const SELF = fileURLToPath(import.meta.url);
const execFileAsync = promisify(execFile);
const SINK_DOMAIN = 'sink.test';
const TEGU_PASSWORD = 'bench-password';
const REFERENCE_PASSWORD = 'pass';
const POSTFIX_CONFIG = '/tmp/tegu-ref/postfix';
const SAMPLE_MS = 250;
/** After the last arrival: the servers record the results (TEGU's queue rows, Postfix's queue files) and are counted for it. */
const SETTLE_MS = 1000;
const REPLY_TIMEOUT_MS = 60_000;

// ---- options

interface Options {
  n: number;
  concurrency: number;
  size: number;
  targets: TargetName[];
  database: string;
  deliverTimeout: number;
  referencePort: number;
  referenceDir: string;
}

interface ChildOptions {
  target: TargetName;
  port: number;
  runId: string;
}

const USAGE = `usage: npm run bench:queue -- [--n 2000] [--concurrency 20] [--size 4096]
                             [--targets tegu,reference] [--database postgres://admin-url] [--deliver-timeout 60]
                             [--reference-port 20587] [--reference-dir ../shared/reference]`;

const args: ArgHelpers = argHelpers('bench/queue', USAGE);

function parseOptions(argv: string[]): { opts: Options; child?: ChildOptions } {
  const values = args.parse(argv, {
    n: { type: 'string' },
    concurrency: { type: 'string', short: 'c' },
    size: { type: 'string' },
    targets: { type: 'string' },
    'deliver-timeout': { type: 'string' },
    ...REFERENCE_OPTIONS,
    // Internal: the submitting child process.
    child: { type: 'string' },
    port: { type: 'string' },
    'run-id': { type: 'string' },
  });
  const opts: Options = {
    n: args.positiveInt('n', values.n, 2000),
    concurrency: args.positiveInt('concurrency', values.concurrency, 20),
    size: args.positiveInt('size', values.size, 4096),
    targets: [...new Set(args.nameList('targets', values.targets, TARGETS))],
    database: databaseUrlOf(values.database),
    deliverTimeout: args.positiveInt('deliver-timeout', values['deliver-timeout'], 60),
    referencePort: args.port('reference-port', values['reference-port'], 20587),
    referenceDir: referenceDirOf(values['reference-dir']),
  };
  if (values.child === undefined) return { opts };
  const target = TARGETS.find((t) => t === values.child);
  if (!target || !values.port || !values['run-id']) args.fail('bad --child invocation');
  return { opts, child: { target, port: args.port('port', values.port, 587), runId: values['run-id'] } };
}

// ---- the submitting child

interface SubmitResult {
  n: number;
  accepted: number;
  rejected: number;
  errors: number;
  /** Messages never tried because every session gave up. */
  notSent: number;
  rejections: Record<string, number>;
  firstError?: string;
  users: number;
  connectMs: number;
  /** epochMs() when the first MAIL went out. */
  startedAt: number;
  seconds: number;
  submittedPerSec: number;
  p50: number;
  p99: number;
  max: number;
}

/** The users the sessions log in as: u1..uC, on the reference at most its u1..u200. */
const usersFor = (target: TargetName, concurrency: number): number =>
  target === 'reference' ? Math.min(concurrency, REFERENCE_USERS) : concurrency;

/**
 * Message i as DATA bytes of exactly `size` bytes (see smtpMessageMaker),
 * with the Subject the sink counts: `q-<run>-<i>` in place of the stock
 * one, the stock message made longer by what the shorter Subject takes off.
 */
function queueMessageMaker(size: number, runId: string): (i: number, from: string, to: string) => Buffer {
  const stock = 'smtp benchmark message ';
  const ours = `q-${runId}-`;
  const make = smtpMessageMaker(size + stock.length - ours.length, runId);
  return (i, from, to) => {
    const raw = make(i, from, to);
    const line = `\r\nSubject: ${stock}${i}\r\n`;
    const at = raw.indexOf(line);
    if (at < 0) throw new Error(`no "Subject: ${stock}${i}" in the stock message`);
    return Buffer.concat([raw.subarray(0, at), Buffer.from(`\r\nSubject: ${ours}${i}\r\n`), raw.subarray(at + line.length)]);
  };
}

type Submitted = { ok: true } | { ok: false; stage: string; reply: SmtpReply };

/** One lock-step transaction on a session; throws on a broken connection. */
async function submit(c: SmtpClient, from: string, to: string, raw: Buffer): Promise<Submitted> {
  const steps = [
    { stage: 'MAIL', line: `MAIL FROM:<${from}> SIZE=${raw.length}`, want: 250 },
    { stage: 'RCPT', line: `RCPT TO:<${to}>`, want: 250 },
    { stage: 'DATA', line: 'DATA', want: 354 },
  ];
  for (const { stage, line, want } of steps) {
    const reply = await c.command(line);
    if (reply.code === want) continue;
    if (stage !== 'MAIL') await c.command('RSET');
    return { ok: false, stage, reply };
  }
  c.write(raw);
  const reply = await c.read();
  return reply.code === 250 ? { ok: true } : { ok: false, stage: 'end of DATA', reply };
}

/** Resolves on the parent's GO line; rejects when stdin ends first (the parent is gone). */
function parentSaysGo(): Promise<void> {
  return new Promise((resolve, reject) => {
    const input = createInterface({ input: process.stdin });
    input.on('line', (line) => {
      if (line.trim() === 'GO') resolve();
    });
    input.once('close', () => reject(new Error('stdin closed before GO')));
  });
}

async function runChild(opts: Options, child: ChildOptions): Promise<SubmitResult> {
  const { n, concurrency } = opts;
  const users = usersFor(child.target, concurrency);
  const password = child.target === 'tegu' ? TEGU_PASSWORD : REFERENCE_PASSWORD;
  const userOf = (session: number): string => `u${(session % users) + 1}@${DOMAIN}`;
  const open = (session: number): Promise<SmtpClient> =>
    SmtpClient.openSubmission(HOST, child.port, { helo: 'bench-client.example', timeoutMs: REPLY_TIMEOUT_MS, user: userOf(session), password });

  const t0 = performance.now();
  // Every session has its TLS and its AUTH before the clock starts.
  const sessions: (SmtpClient | undefined)[] = await Promise.all(Array.from({ length: concurrency }, (_, k) => open(k)));
  const connectMs = performance.now() - t0;
  const make = queueMessageMaker(opts.size, child.runId);
  const go = parentSaysGo();
  process.stdout.write('READY\n');
  await go;

  const latencies: number[] = [];
  const rejections: Record<string, number> = {};
  let accepted = 0;
  let rejected = 0;
  let errors = 0;
  let firstError: string | undefined;
  let next = 0;
  const startedAt = epochMs();
  const started = performance.now();
  await Promise.all(
    sessions.map(async (first, k) => {
      let c = first;
      let failedOpens = 0;
      while (next < n) {
        if (!c || c.broken) {
          c = await open(k).catch((err: unknown) => {
            errors++;
            firstError ??= `connect: ${errorText(err)}`;
            return undefined;
          });
          if (!c) {
            // This session gives up after 5 failed opens in a row; the others carry on.
            if (++failedOpens >= 5) return;
            await sleep(100);
            continue;
          }
          failedOpens = 0;
        }
        const i = next++;
        const from = userOf(k);
        const t = performance.now();
        try {
          const outcome = await submit(c, from, `r${i}@${SINK_DOMAIN}`, make(i, from, `r${i}@${SINK_DOMAIN}`));
          if (outcome.ok) {
            latencies.push(performance.now() - t);
            accepted++;
            continue;
          }
          rejected++;
          const key = `${outcome.stage} ${outcome.reply.code}`;
          rejections[key] = (rejections[key] ?? 0) + 1;
          firstError ??= `${outcome.stage}: ${outcome.reply.code} ${outcome.reply.text.split('\n')[0]}`;
        } catch (err) {
          errors++;
          firstError ??= `session ${k}: ${errorText(err)}`;
          c.destroy();
        }
      }
      sessions[k] = c;
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(sessions.map((c) => c?.quit()));
  const sorted = latencies.sort((a, b) => a - b);
  return {
    n,
    accepted,
    rejected,
    errors,
    notSent: Math.max(0, n - Math.min(next, n)),
    rejections,
    ...(firstError ? { firstError } : {}),
    users,
    connectMs,
    startedAt,
    seconds,
    submittedPerSec: accepted / seconds,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? NaN,
  };
}

// ---- the parent: one run against a target that is up

interface TargetResult extends SubmitResult {
  target: TargetName;
  sink: SinkResult;
  /** Every accepted message reached the sink before --deliver-timeout. */
  allArrived: boolean;
  deliveredSeconds?: number;
  deliveredPerSec?: number;
  /** Server CPU (user + system, all its processes) per accepted message, in ms. */
  serverCpuMsPerMsg?: number;
  cpuWhat: string;
  notes: string[];
}

/**
 * Runs the submitting child against `port`, samples the server's processes
 * from the first submission until the sink has every accepted message (and
 * SETTLE_MS more), and stops the sink.
 */
async function submitAndDeliver(
  opts: Options,
  target: TargetName,
  port: number,
  runId: string,
  sink: Sink,
  serverPids: () => number[],
  nodePids?: () => number[],
): Promise<{ sent: SubmitResult; sink: SinkResult; allArrived: boolean; cpuSeconds: number; nodeCpuSeconds?: number }> {
  const argv = [
    '--child', target, '--port', String(port), '--run-id', runId,
    '--n', String(opts.n), '--concurrency', String(opts.concurrency), '--size', String(opts.size),
  ];
  let all: PssSampler | undefined;
  let node: PssSampler | undefined;
  let sent: SubmitResult;
  let allArrived: boolean;
  try {
    sent = await runChildScript<SubmitResult>(SELF, argv, `${target} submitter`, {
      stdin: true,
      onLine: (line, child: ChildProcess) => {
        if (line !== 'READY') return void console.log(line);
        all = new PssSampler(serverPids, SAMPLE_MS);
        if (nodePids) node = new PssSampler(nodePids, SAMPLE_MS);
        say(`${target}: ${opts.concurrency} sessions authenticated; submitting ${opts.n} messages...`);
        child.stdin!.end('GO\n');
      },
    });
    say(`${target}: ${sent.accepted} submitted in ${sent.seconds.toFixed(2)} s; waiting for them at the sink...`);
    allArrived = await sink.waitFor(sent.accepted, opts.deliverTimeout * 1000);
    await sleep(SETTLE_MS);
  } finally {
    all?.stop();
    node?.stop();
  }
  return {
    sent,
    sink: await sink.stop(),
    allArrived,
    cpuSeconds: all?.cpuSeconds() ?? NaN,
    ...(node ? { nodeCpuSeconds: node.cpuSeconds() } : {}),
  };
}

/** The figures of a run, as a TargetResult. */
function resultOf(target: TargetName, run: Awaited<ReturnType<typeof submitAndDeliver>>, cpuWhat: string, notes: string[]): TargetResult {
  const { sent, sink } = run;
  const deliveredSeconds = sink.lastAt !== undefined ? (sink.lastAt - sent.startedAt) / 1000 : undefined;
  return {
    ...sent,
    target,
    sink,
    allArrived: run.allArrived,
    ...(deliveredSeconds !== undefined ? { deliveredSeconds, deliveredPerSec: sink.distinct / deliveredSeconds } : {}),
    ...(sent.accepted > 0 && Number.isFinite(run.cpuSeconds) ? { serverCpuMsPerMsg: (run.cpuSeconds * 1000) / sent.accepted } : {}),
    cpuWhat,
    notes,
  };
}

// ---- tegu

async function benchTegu(opts: Options, runId: string): Promise<TargetResult> {
  return withScratchDatabase(opts.database, 'tegu_bench_queue', async ({ admin, name, url, create }) => {
    const notes: string[] = [await pgNote(admin)];
    const users = usersFor('tegu', opts.concurrency);
    say(`tegu: creating scratch database ${name} on ${redact(opts.database)}, ${users} users (not timed)...`);
    await create();
    const dataDir = await mkdtemp(join(tmpdir(), 'tegu-bench-queue-'));
    const log = join(dataDir, 'tegu.log');
    let server: ChildProcess | undefined;
    const sink = await startSink(runId);
    try {
      const db = openPostgres({ url, max: 4, applicationName: 'tegu-bench-setup' });
      try {
        await migrate(db);
        const ctx: CoreContext = { db, actor: 'bench', node: 'bench' };
        await addAccount(ctx, { address: `u1@${DOMAIN}`, password: TEGU_PASSWORD, createDomain: true });
        // scrypt hashing dominates: a few at a time.
        await pool(Array.from({ length: users - 1 }, (_, k) => `u${k + 2}@${DOMAIN}`), 4, async (address) => {
          await addAccount(ctx, { address, password: TEGU_PASSWORD });
        });
        await setSetting(ctx, 'queue.routes', [`${SINK_DOMAIN}=${HOST}:${sink.port}`]);
        if (opts.concurrency > 100) {
          await setSetting(ctx, 'limits.maxConnectionsPerIp', 0);
          notes.push(`limits.maxConnectionsPerIp set to 0 (unlimited) for ${opts.concurrency} connections`);
        }
      } finally {
        await db.close();
      }
      notes.push(
        `queue: static route ${SINK_DOMAIN}=${HOST}:${sink.port}; default limits queue.concurrency 20, queue.domainConcurrency 4 ` +
          '(connections to the sink), up to 25 recipients claimed per batch; no DKIM key for example.test (unsigned, like Postfix)',
      );

      const serve = await startTeguServe({ url, dataDir, nodeName: 'bench-queue', listen: '--listen-submission', host: HOST, log });
      const srv = serve.child;
      server = srv;
      say(`tegu: serve pid ${srv.pid} ready, submission ${HOST}:${serve.port}, sink ${HOST}:${sink.port}`);
      const run = await submitAndDeliver(opts, 'tegu', serve.port, runId, sink, () => teguServerPids(srv.pid!, name), () => teguNodePids(srv.pid!));
      if (run.sent.accepted > 0 && run.nodeCpuSeconds !== undefined) {
        notes.push(
          `${cpuSplit('message', run.nodeCpuSeconds, run.cpuSeconds, run.sent.accepted)} ` +
            "(PostgreSQL's WAL writer and checkpointer are not counted: they serve every database of the cluster)",
        );
      }

      const check = openPostgres({ url, max: 1, applicationName: 'tegu-bench-check' });
      try {
        const rows = await check.query<{ status: string; n: string }>('SELECT status, count(*) AS n FROM queue_recipients GROUP BY status ORDER BY status');
        notes.push(`queue_recipients afterwards: ${rows.map((r) => `${fmt(Number(r.n))} ${r.status}`).join(', ') || 'none'}`);
      } finally {
        await check.close();
      }
      await stopChild(srv);
      if (srv.exitCode !== 0) notes.push(`tegu serve exited with ${srv.exitCode ?? srv.signalCode} on SIGTERM`);
      return resultOf('tegu', run, 'tegu serve + the PostgreSQL backends of its database', notes);
    } catch (err) {
      if (existsSync(log)) say(`tegu: server log (last lines):\n${tail(log)}`);
      throw err;
    } finally {
      await sink.stop().catch(() => undefined);
      if (server) await stopChild(server);
      await rm(dataDir, { recursive: true, force: true });
    }
  });
}

// ---- reference

async function postconf(...argv: string[]): Promise<string> {
  return (await execFileAsync('postconf', ['-c', POSTFIX_CONFIG, ...argv], { timeout: 10_000 })).stdout;
}

async function postfixReload(): Promise<void> {
  await execFileAsync('postfix', ['-c', POSTFIX_CONFIG, 'reload'], { timeout: 10_000 });
  // The master re-reads its configuration and restarts qmgr after the signal.
  await sleep(1000);
}

/**
 * Makes the reference relay sink.test to the sink: relay_domains,
 * transport_maps (an inline: table, Postfix 3.0+) and, when master.cf has
 * none, an smtp(8) client service. Resolves with the undo: the two
 * parameters as they were (set in main.cf, or not), the service removed
 * again if it was added, and a reload.
 */
async function routeSinkThroughPostfix(sinkPort: number): Promise<() => Promise<void>> {
  const keys = ['relay_domains', 'transport_maps'];
  // `postconf -n KEY` prints "KEY = value" only when main.cf sets it.
  const saved = await Promise.all(keys.map(async (key) => ({ key, line: (await postconf('-n', key)).trim() })));
  const hadSmtp = (await postconf('-M', 'smtp/unix')).trim() !== '';
  const undo = async (): Promise<void> => {
    const set = saved.filter((s) => s.line !== '').map((s) => s.line);
    const unset = saved.filter((s) => s.line === '').map((s) => s.key);
    if (set.length) await postconf('-e', ...set);
    if (unset.length) await postconf('-X', ...unset);
    if (!hadSmtp) await postconf('-MX', 'smtp/unix');
    await postfixReload();
  };
  try {
    if (!hadSmtp) await postconf('-M', 'smtp/unix=smtp unix - - n - - smtp');
    await postconf('-e', `relay_domains = ${SINK_DOMAIN}`, `transport_maps = inline:{ ${SINK_DOMAIN}=smtp:[${HOST}]:${sinkPort} }`);
    await postfixReload();
  } catch (err) {
    await undo();
    throw err;
  }
  return undo;
}

/** Messages in the reference's queue (postqueue -j: one JSON object a line), or undefined. */
async function postfixQueued(): Promise<number | undefined> {
  try {
    const { stdout } = await execFileAsync('postqueue', ['-c', POSTFIX_CONFIG, '-j'], { timeout: 10_000 });
    return stdout.split('\n').filter((l) => l.startsWith('{')).length;
  } catch {
    return undefined;
  }
}

async function benchReference(opts: Options, runId: string): Promise<TargetResult> {
  const startedByUs = await ensureReference(HOST, opts.referencePort, opts.referenceDir);
  const notes: string[] = [];
  try {
    const users = usersFor('reference', opts.concurrency);
    if (users < opts.concurrency) notes.push(`sessions log in as u1..u${users} (the reference has ${REFERENCE_USERS} users)`);
    notes.push(`Postfix ${await versionOf('postconf', ['-d', '-h', 'mail_version'])}, ${startedByUs ? 'started by this run' : 'already running'}`);
    const master = readPid(POSTFIX_PID);
    if (master === undefined) throw new Error(`no Postfix master pid in ${POSTFIX_PID}`);
    const sink = await startSink(runId);
    try {
      const undo = await routeSinkThroughPostfix(sink.port);
      try {
        const limits = (await postconf('-x', '-h', 'smtp_destination_concurrency_limit', 'initial_destination_concurrency', 'smtp_tls_security_level'))
          .split('\n');
        notes.push(
          `relays ${SINK_DOMAIN} to ${HOST}:${sink.port} for the run (transport_maps inline:, restored afterwards); ` +
            `smtp_destination_concurrency_limit ${limits[0] || '?'}, initial_destination_concurrency ${limits[1] || '?'}, ` +
            `smtp_tls_security_level ${limits[2] || 'none'}`,
        );
        say(`reference: submission ${HOST}:${opts.referencePort}, relaying ${SINK_DOMAIN} to the sink ${HOST}:${sink.port}`);
        const run = await submitAndDeliver(opts, 'reference', opts.referencePort, runId, sink, () => withDescendants(listProcs(), [master]));
        const left = await postfixQueued();
        if (left !== undefined) notes.push(`Postfix queue afterwards: ${fmt(left)} messages`);
        return resultOf('reference', run, 'the Postfix master process tree (Dovecot only answers the AUTH, before the clock)', notes);
      } finally {
        await undo();
      }
    } finally {
      await sink.stop().catch(() => undefined);
    }
  } finally {
    if (startedByUs) await stopReference(opts.referenceDir);
  }
}

// ---- the tables

const LABELS: Record<TargetName, string> = { tegu: 'tegu (PostgreSQL)', reference: 'reference (Postfix)' };

function printTables(opts: Options, results: readonly TargetResult[], failures: readonly { target: TargetName; error: string }[], machine: string[]): void {
  const head = ['target', 'submitted msgs/s', 'p50 / p99 ms', 'delivered msgs/s', 'arrived (duplicates)', 'server CPU ms/msg'];
  const rows = results.map((r) => [
    LABELS[r.target],
    fmt(r.submittedPerSec),
    `${fmt(r.p50, 1)} / ${fmt(r.p99, 1)}`,
    `${fmt(r.deliveredPerSec)}${r.allArrived ? '' : ' (timeout)'}`,
    `${fmt(r.sink.distinct)} of ${fmt(r.accepted)} (${fmt(r.sink.duplicates)})`,
    fmt(r.serverCpuMsPerMsg, 2),
  ]);
  for (const f of failures) rows.push([LABELS[f.target], 'not measured', '-', '-', '-', '-']);
  printTitledTable(
    `TEGU queue benchmark: ${fmt(opts.n)} messages of ${fmt(opts.size)} bytes submitted (STARTTLS, AUTH PLAIN) over ` +
      `${opts.concurrency} sessions, delivered to a sink on ${HOST}`,
    head,
    rows,
  );

  const t = results.find((r) => r.target === 'tegu');
  const ref = results.find((r) => r.target === 'reference');
  if (t && ref) {
    const x = (a: number | undefined, b: number | undefined): string =>
      a === undefined || b === undefined || !Number.isFinite(a / b) ? '-' : `${(a / b).toFixed(2)}x`;
    const line = (what: string, a: number | undefined, b: number | undefined, digits: number, better: string): string[] =>
      [what, fmt(a, digits), fmt(b, digits), x(a, b), better];
    table(['TEGU/Postfix', 'TEGU', 'Postfix', 'ratio', 'better'], [
      line('submitted msgs/s', t.submittedPerSec, ref.submittedPerSec, 0, 'higher'),
      line('delivered msgs/s', t.deliveredPerSec, ref.deliveredPerSec, 0, 'higher'),
      line('submit p50 ms', t.p50, ref.p50, 1, 'lower'),
      line('submit p99 ms', t.p99, ref.p99, 1, 'lower'),
      line('server CPU ms/msg', t.serverCpuMsPerMsg, ref.serverCpuMsPerMsg, 2, 'lower'),
    ]);
    console.log('');
  }

  console.log('Notes:');
  for (const m of machine) console.log(`- ${m}`);
  for (const r of results) {
    const trouble = [
      ...Object.entries(r.rejections).map(([what, count]) => `${fmt(count)} rejected at ${what}`),
      ...(r.errors ? [`${fmt(r.errors)} connection errors`] : []),
      ...(r.notSent ? [`${fmt(r.notSent)} never sent`] : []),
    ];
    console.log(
      `- ${r.target}: ${fmt(r.accepted)} of ${fmt(r.n)} submitted in ${fmt(r.seconds, 2)} s` +
        (trouble.length ? `; ${trouble.join(', ')}${r.firstError ? `; first: ${r.firstError}` : ''}` : '') +
        `; max latency ${fmt(r.max, 1)} ms; ${opts.concurrency} sessions as u1..u${r.users} opened (STARTTLS, AUTH) in ${fmt(r.connectMs)} ms (not timed)`,
    );
    const s = r.sink;
    console.log(
      `  sink: ${fmt(s.distinct)} distinct messages ${r.allArrived ? 'all there' : `(TIMEOUT: none new for ${opts.deliverTimeout} s)`} ` +
        `${fmt(r.deliveredSeconds, 2)} s after the first submission; ${fmt(s.duplicates)} duplicates, ${fmt(s.foreign)} foreign, ` +
        `${fmt(s.connections)} connections, ${fmt(s.bytes / MB, 1)} MB, sink CPU ${fmt(s.cpuSeconds, 2)} s (not counted)`,
    );
    console.log(
      `  server CPU: user + system time (with reaped children) of ${r.cpuWhat}, sampled every ${SAMPLE_MS} ms from the first ` +
        `submission until the last arrival + ${SETTLE_MS} ms, per submitted message`,
    );
    for (const n of r.notes) console.log(`  ${n}`);
  }
  for (const f of failures) {
    console.log(`- ${f.target}: NOT MEASURED: ${f.error.replace(/\n/g, '\n    ')}`);
    if (f.target === 'reference') console.log('  The figures above are TEGU alone; there is no Postfix to compare with in this run.');
  }
  console.log(
    '- latency: from writing MAIL FROM to reading the final reply after the message, per transaction; delivered msgs/s: ' +
      'distinct messages at the sink over the time from the first submission to the last arrival. The submitting clients and the sink run in processes of their own on this machine.',
  );
}

/** Where the figures come from: the machine, its load, node and the TEGU commit. */
async function machineNotes(): Promise<string[]> {
  const cpu = cpus();
  const load = loadavg().map((l) => l.toFixed(2)).join(' ');
  const commit = await versionOf('git', ['-C', ROOT, 'log', '-1', '--format=%h %cs %s']);
  const head = commit.length > 80 ? `${commit.slice(0, 79)}...` : commit;
  const changed = await versionOf('sh', ['-c', `git -C '${ROOT}' status --porcelain src | wc -l`]);
  return [
    `machine: ${cpu.length} x ${cpu[0]?.model ?? '?'}, ${fmt(totalmem() / MB / 1024, 1)} GB RAM; load average ${load} before the run ` +
      `(shared: other work runs meanwhile); node ${process.version}, ${process.platform}/${process.arch}`,
    `TEGU at ${head}${changed !== '0' && changed !== '?' ? ` (+${changed} uncommitted files in src/)` : ''}`,
  ];
}

// ---- main

async function main(): Promise<void> {
  const { opts, child } = parseOptions(process.argv.slice(2));
  if (child) {
    writeResult(await runChild(opts, child));
    return;
  }
  const runId = randomBytes(6).toString('hex');
  const machine = await machineNotes();
  const { results, failures } = await runTargets(opts.targets, (target) =>
    target === 'tegu' ? benchTegu(opts, runId) : benchReference(opts, runId),
  );
  printTables(opts, results, failures, machine);
  if (failures.length) process.exitCode = 1;
}

await main();
