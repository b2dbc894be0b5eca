/**
 * SMTP benchmark: inbound mail (MX) throughput of TEGU on PostgreSQL, and of
 * the classic stack Postfix -> Dovecot (LMTP) on the same machine, in one run.
 *
 *   npm run bench:smtp -- [--n 2000] [--concurrency 20] [--size 4096] [--users 200]
 *                         [--targets tegu,reference] [--database URL] [--reference-port 20025]
 *                         [--pipelining] [--deliver-timeout 30]
 *
 * C concurrent SMTP sessions deliver N distinct messages of SIZE bytes, one
 * transaction after another per connection (MAIL, RCPT, DATA, lock-step;
 * --pipelining sends MAIL+RCPT+DATA in one write where the server offers
 * PIPELINING), each to a recipient u<k>@example.test picked by a hash of the
 * message number, so both targets get the same workload. It prints accepted
 * messages per second (final 250s), p50/p99 latency from MAIL to the final
 * reply, delivered messages per second, server CPU time per message (all
 * server processes: immune to other load on the machine, unlike rates) and
 * server memory, then TEGU/reference ratios.
 *
 * - tegu: a scratch database tegu_bench_smtp_<random> is created on the
 *   --database admin URL, migrated, given users u1..uU@example.test (not
 *   timed), and `tegu serve --listen-smtp` runs on it as a child process on
 *   free loopback ports. Delivered = accepted: TEGU answers the final 250
 *   only after the delivery transaction committed (checked afterwards by
 *   counting the stored messages).
 * - reference: Postfix -> Dovecot LMTP from ../shared/reference (start.sh is
 *   run if nothing listens on --reference-port, and stop.sh at the end only
 *   then). Postfix queues before it delivers, so delivered is measured apart:
 *   new files in the recipients' Maildirs under /tmp/tegu-ref-mail, counted
 *   until all accepted messages arrived (or no new one came for
 *   --deliver-timeout seconds). Its users are u1..u200.
 *
 * The sender runs in a fresh child process per target (this file with
 * --child); the parent samples server memory meanwhile. Only 127.0.0.1 is
 * contacted. A benchmark prints figures; it does not fail on speed.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { addAccount } from '../src/core/accounts.ts';
import type { CoreContext } from '../src/core/context.ts';
import { setSetting } from '../src/core/settings.ts';
import { migrate } from '../src/store/migrate.ts';
import { openPostgres } from '../src/store/postgres.ts';
import { mix32, smtpMessageMaker } from './lib/mail.ts';
import { MaildirCounter } from './lib/maildir.ts';
import { cmdline, listProcs, PssSampler, vmHwm, withDescendants } from './lib/proc.ts';
import { SmtpClient, type SmtpReply } from './lib/smtp-client.ts';
import { argHelpers } from './lib/args.ts';

type TargetName = 'tegu' | 'reference';
const TARGETS: readonly TargetName[] = ['tegu', 'reference'];
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const HOST = '127.0.0.1';
const DOMAIN = 'example.test';
const SENDER = 'bench-sender@bench.example';
const REFERENCE_USERS = 200;
const REFERENCE_MAIL = '/tmp/tegu-ref-mail';
const POSTFIX_PID = '/tmp/tegu-ref-postfix-queue/pid/master.pid';
const DOVECOT_PID = '/tmp/tegu-ref-dovecot/master.pid';
const MB = 1024 * 1024;
const SAMPLE_MS = 250;
const POLL_MS = 50;
const REPLY_TIMEOUT_MS = 60_000;
const execFileAsync = promisify(execFile);

// ---- options

interface Options {
  n: number;
  concurrency: number;
  size: number;
  users: number;
  targets: TargetName[];
  database: string;
  referencePort: number;
  referenceDir: string;
  pipelining: boolean;
  deliverTimeout: number;
}

interface ChildOptions {
  target: TargetName;
  port: number;
  users: number;
  runId: string;
  maildirs: boolean;
}

const USAGE = `usage: npm run bench:smtp -- [--n 2000] [--concurrency 20] [--size 4096] [--users 200]
                            [--targets tegu,reference] [--database postgres://admin-url]
                            [--reference-port 20025] [--reference-dir ../shared/reference]
                            [--pipelining] [--deliver-timeout 30]`;

const args = argHelpers('bench/smtp', USAGE);
const { positiveInt, nameList } = args;
/** A declared function, so TypeScript narrows after it (a never-returning const would not). */
function fail(message: string): never {
  return args.fail(message);
}

function parseOptions(argv: string[]): { opts: Options; child?: ChildOptions } {
  const { values } = parseArgs({
    args: argv,
    options: {
      n: { type: 'string' },
      concurrency: { type: 'string', short: 'c' },
      size: { type: 'string' },
      users: { type: 'string' },
      targets: { type: 'string' },
      database: { type: 'string' },
      'reference-port': { type: 'string' },
      'reference-dir': { type: 'string' },
      pipelining: { type: 'boolean' },
      'deliver-timeout': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      // Internal: the sending child process.
      child: { type: 'string' },
      port: { type: 'string' },
      'run-id': { type: 'string' },
      maildirs: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const targets = nameList('targets', values.targets, TARGETS);
  const referencePort = positiveInt('reference-port', values['reference-port'], 20025);
  if (referencePort > 65535) fail('--reference-port must be 1..65535');
  const opts: Options = {
    n: positiveInt('n', values.n, 2000),
    concurrency: positiveInt('concurrency', values.concurrency, 20),
    size: positiveInt('size', values.size, 4096),
    users: positiveInt('users', values.users, 200),
    targets: [...new Set(targets)] as TargetName[],
    database: values.database ?? process.env.TEGU_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    referencePort,
    referenceDir: resolve(values['reference-dir'] ?? join(ROOT, '..', 'shared', 'reference')),
    pipelining: values.pipelining ?? false,
    deliverTimeout: positiveInt('deliver-timeout', values['deliver-timeout'], 30),
  };
  if (values.child === undefined) return { opts };
  if (!TARGETS.includes(values.child as TargetName) || !values.port || !values['run-id']) fail('bad --child invocation');
  return {
    opts,
    child: {
      target: values.child as TargetName,
      port: positiveInt('port', values.port, 25),
      users: opts.users,
      runId: values['run-id'],
      maildirs: values.maildirs ?? false,
    },
  };
}

// ---- the sending child

interface SendResult {
  target: TargetName;
  n: number;
  accepted: number;
  rejected: number;
  errors: number;
  /** Messages never tried because every connection gave up. */
  notSent: number;
  rejections: Record<string, number>;
  firstError?: string;
  pipelined: boolean;
  connectMs: number;
  seconds: number;
  acceptedPerSec: number;
  p50: number;
  p99: number;
  max: number;
  /** Reference only: Maildir files counted. */
  delivered?: number;
  deliveredSeconds?: number;
  deliveredPerSec?: number;
  deliverTimedOut?: boolean;
  /** Files that appeared beyond the accepted count (someone else's mail). */
  deliveredExtra?: number;
}

const percentile = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Recipient of message i: the same on every target for the same --users. */
const recipientOf = (i: number, users: number): number => 1 + (mix32(i + 0x9e3779b9) % users);

type Outcome = { ok: true } | { ok: false; stage: string; reply: SmtpReply };

/** One transaction on an open session; throws on a broken connection. */
async function transaction(c: SmtpClient, to: string, raw: Buffer, pipelined: boolean): Promise<Outcome> {
  const mailLine = `MAIL FROM:<${SENDER}> SIZE=${raw.length}`;
  const rcptLine = `RCPT TO:<${to}>`;
  const bad = async (stage: string, reply: SmtpReply, rset: boolean): Promise<Outcome> => {
    if (rset) await c.command('RSET');
    return { ok: false, stage, reply };
  };
  if (pipelined) {
    c.write(`${mailLine}\r\n${rcptLine}\r\nDATA\r\n`);
    const mail = await c.read();
    const rcpt = await c.read();
    const data = await c.read();
    if (data.code !== 354) {
      if (mail.code !== 250) return bad('MAIL', mail, false);
      if (rcpt.code !== 250 && rcpt.code !== 251) return bad('RCPT', rcpt, true);
      return bad('DATA', data, true);
    }
    c.write(raw);
    const final = await c.read();
    if (mail.code !== 250) return bad('MAIL', mail, false);
    if (rcpt.code !== 250 && rcpt.code !== 251) return bad('RCPT', rcpt, false);
    return final.code === 250 ? { ok: true } : bad('end of DATA', final, false);
  }
  const mail = await c.command(mailLine);
  if (mail.code !== 250) return bad('MAIL', mail, false);
  const rcpt = await c.command(rcptLine);
  if (rcpt.code !== 250 && rcpt.code !== 251) return bad('RCPT', rcpt, true);
  const data = await c.command('DATA');
  if (data.code !== 354) return bad('DATA', data, true);
  c.write(raw);
  const final = await c.read();
  return final.code === 250 ? { ok: true } : bad('end of DATA', final, false);
}

function maildirRoots(users: number): string[] {
  return Array.from({ length: users }, (_, k) => `${REFERENCE_MAIL}/${DOMAIN}/u${k + 1}/Maildir`);
}

async function runChild(opts: Options, child: ChildOptions): Promise<SendResult> {
  const { n, concurrency } = opts;
  const open = (): Promise<SmtpClient> =>
    SmtpClient.open(HOST, child.port, { helo: 'bench-client.example', timeoutMs: REPLY_TIMEOUT_MS });
  const t0 = performance.now();
  // Every session is open (greeting, EHLO) before the clock starts.
  const clients: (SmtpClient | undefined)[] = await Promise.all(Array.from({ length: concurrency }, open));
  const connectMs = performance.now() - t0;
  const pipelined = opts.pipelining && clients.every((c) => c?.extensions.has('PIPELINING'));
  const make = smtpMessageMaker(opts.size, child.runId);

  const counter = child.maildirs ? new MaildirCounter(maildirRoots(child.users)) : undefined;
  const baseline = counter ? await counter.count() : 0;

  const latencies: number[] = [];
  const rejections: Record<string, number> = {};
  let accepted = 0;
  let rejected = 0;
  let errors = 0;
  let firstError: string | undefined;
  let next = 0;
  const started = performance.now();

  // Reference: count Maildir files while sending and afterwards.
  let target: number | undefined = undefined; // set when sending is over
  let sendEnd = Infinity;
  const delivery = counter
    ? (async (): Promise<{ count: number; at: number; timedOut: boolean }> => {
        let last = 0;
        let lastChange = started;
        for (;;) {
          const c = (await counter.count()) - baseline;
          const now = performance.now();
          if (c > last) {
            last = c;
            lastChange = now;
          }
          if (target !== undefined && c >= target) {
            // The newest directory mtime is when the last file arrived (the poll saw it up to POLL_MS later).
            const arrived = counter.latestMtimeMs - performance.timeOrigin;
            return { count: c, at: Math.max(started, Math.min(now, arrived)), timedOut: false };
          }
          if (target !== undefined && now - Math.max(lastChange, sendEnd) > opts.deliverTimeout * 1000) {
            return { count: last, at: lastChange, timedOut: true };
          }
          await sleep(POLL_MS);
        }
      })()
    : undefined;

  await Promise.all(
    clients.map(async (first, w) => {
      let c = first;
      let failures = 0;
      for (let i = next++; i < n; i = next++) {
        if (!c || c.broken) {
          try {
            c = await open();
            failures = 0;
          } catch (err) {
            errors++;
            firstError ??= `connect: ${errorText(err)}`;
            if (++failures >= 5) return; // this connection gives up; the others carry on
            await sleep(100);
            continue;
          }
        }
        const to = `u${recipientOf(i, child.users)}@${DOMAIN}`;
        const raw = make(i, SENDER, to);
        const t = performance.now();
        try {
          const outcome = await transaction(c, to, raw, pipelined);
          if (outcome.ok) {
            latencies.push(performance.now() - t);
            accepted++;
          } else {
            rejected++;
            const key = `${outcome.stage} ${outcome.reply.code}`;
            rejections[key] = (rejections[key] ?? 0) + 1;
            firstError ??= `${outcome.stage}: ${outcome.reply.code} ${outcome.reply.text.split('\n')[0]}`;
          }
        } catch (err) {
          errors++;
          firstError ??= `session ${w}: ${errorText(err)}`;
          c.destroy();
          c = undefined;
        }
      }
      clients[w] = c;
    }),
  );
  sendEnd = performance.now();
  const seconds = (sendEnd - started) / 1000;
  target = accepted;
  await Promise.all(clients.map((c) => c?.quit()));

  const sorted = latencies.sort((a, b) => a - b);
  const result: SendResult = {
    target: child.target,
    n,
    accepted,
    rejected,
    errors,
    notSent: Math.max(0, n - Math.min(next, n)),
    rejections,
    ...(firstError ? { firstError } : {}),
    pipelined,
    connectMs,
    seconds,
    acceptedPerSec: accepted / seconds,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? NaN,
  };
  if (delivery) {
    const d = await delivery;
    const delivered = Math.min(d.count, accepted);
    const dSeconds = (d.at - started) / 1000;
    Object.assign(result, {
      delivered,
      deliveredSeconds: dSeconds,
      deliveredPerSec: delivered / dSeconds,
      deliverTimedOut: d.timedOut,
      deliveredExtra: Math.max(0, d.count - accepted),
    });
  }
  return result;
}

// ---- the parent: per target, setup, one sending child, memory, teardown

interface TargetResult extends SendResult {
  serverPssIdleMb?: number;
  serverPssPeakMb?: number;
  /** Server CPU (user + system, all its processes) per delivered message, in ms. */
  serverCpuMsPerMsg?: number;
  serverProcs?: number;
  memoryWhat: string;
  teguHwmMb?: number;
  stored?: number;
  notes: string[];
}

function runSender(opts: Options, target: TargetName, port: number, users: number, runId: string, maildirs: boolean): Promise<SendResult> {
  const args = [
    '--import', 'tsx', SELF,
    '--child', target, '--port', String(port), '--run-id', runId,
    '--n', String(opts.n), '--concurrency', String(opts.concurrency),
    '--size', String(opts.size), '--users', String(users),
    '--deliver-timeout', String(opts.deliverTimeout),
    ...(opts.pipelining ? ['--pipelining'] : []),
    ...(maildirs ? ['--maildirs'] : []),
  ];
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let result: SendResult | undefined;
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (line.startsWith('RESULT ')) result = JSON.parse(line.slice(7)) as SendResult;
    else console.log(line);
  });
  return new Promise((resolvePromise, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0 && result) resolvePromise(result);
      else reject(new Error(`${target} sender exited with code ${code}`));
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, HOST, () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolvePromise(port));
    });
  });
}

function portOpen(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const s = connect({ host: HOST, port });
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      s.destroy();
      resolvePromise(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no output)';
  }
}

const say = (line: string): boolean => process.stderr.write(`${line}\n`);

/** Runs fn over items with at most `limit` in flight. */
async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (i < items.length) await fn(items[i++]!);
    }),
  );
}

async function stopChild(child: ChildProcess, timeoutMs = 20_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

async function waitReady(child: ChildProcess, httpPort: number, log: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`tegu serve exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${tail(log)}`);
    }
    try {
      const res = await fetch(`http://${HOST}:${httpPort}/readyz`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`tegu serve not ready after ${timeoutMs / 1000} s:\n${tail(log)}`);
}

async function benchTegu(opts: Options, runId: string): Promise<TargetResult> {
  const name = `tegu_bench_smtp_${randomBytes(5).toString('hex')}`;
  const admin = openPostgres({ url: opts.database, max: 1, applicationName: 'tegu-bench-admin' });
  const notes: string[] = [];
  try {
    const version = (await admin.query<{ v: string }>('SELECT version() AS v'))[0]?.v ?? '?';
    const s = await admin.query<{ name: string; setting: string }>(
      `SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'shared_buffers') ORDER BY name`,
    );
    notes.push(
      `${version.split(',')[0]}; ` +
        s.map((r) => `${r.name}=${r.name === 'shared_buffers' ? `${(Number(r.setting) * 8) / 1024}MB` : r.setting}`).join(', '),
    );
    say(`tegu: creating scratch database ${name} on ${redact(opts.database)}, ${opts.users} users (not timed)...`);
    await admin.query(`CREATE DATABASE ${name}`);
    const dataDir = await mkdtemp(join(tmpdir(), 'tegu-bench-smtp-'));
    let server: ChildProcess | undefined;
    try {
      const url = withDatabase(opts.database, name);
      const db = openPostgres({ url, max: 4, applicationName: 'tegu-bench-setup' });
      try {
        await migrate(db);
        const ctx: CoreContext = { db, actor: 'bench', node: 'bench' };
        await addAccount(ctx, { address: `u1@${DOMAIN}`, password: 'bench-password', createDomain: true });
        // Like the reference Postfix, which checks no SPF/DKIM/DMARC; and no DNS on this closed network.
        await setSetting(ctx, 'smtp.verifyInbound', false);
        notes.push('smtp.verifyInbound off (the reference checks no SPF/DKIM/DMARC either)');
        const rest = Array.from({ length: opts.users - 1 }, (_, k) => `u${k + 2}@${DOMAIN}`);
        // scrypt hashing dominates: a few at a time.
        await pool(rest, 4, async (address) => {
          await addAccount(ctx, { address, password: 'bench-password' });
        });
        if (opts.concurrency > 100) {
          await setSetting(ctx, 'limits.maxConnectionsPerIp', 0);
          notes.push(`limits.maxConnectionsPerIp set to 0 (unlimited) for ${opts.concurrency} connections`);
        }
      } finally {
        await db.close();
      }

      const smtpPort = await freePort();
      const httpPort = await freePort();
      const log = join(dataDir, 'tegu.log');
      const fd = openSync(log, 'a');
      const args = [
        ...(process.env.TEGU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.TEGU_PROF] : []), '--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'serve',
        '--database', url, '--data', dataDir, '--node-name', 'bench-smtp',
        '--listen-smtp', `${HOST}:${smtpPort}`, '--listen-http', `${HOST}:${httpPort}`,
      ];
      server = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', fd, fd] });
      closeSync(fd);
      const srv = server;
      await waitReady(srv, httpPort, log);
      say(`tegu: serve pid ${srv.pid} ready, SMTP ${HOST}:${smtpPort}; sending ${opts.n} messages...`);

      const pidsOf = (): number[] => {
        const procs = listProcs();
        const backends = procs.filter((p) => p.comm === 'postgres' && cmdline(p.pid).includes(` ${name} `)).map((p) => p.pid);
        return [...withDescendants(procs, [srv.pid!]), ...backends];
      };
      const sampler = new PssSampler(pidsOf, SAMPLE_MS);
      const nodeOnly = new PssSampler(() => withDescendants(listProcs(), [srv.pid!]), SAMPLE_MS);
      let sent: SendResult;
      try {
        sent = await runSender(opts, 'tegu', smtpPort, opts.users, runId, false);
      } finally {
        sampler.stop();
        nodeOnly.stop();
      }
      if (sent.accepted > 0) {
        const all = sampler.cpuSeconds();
        const node = nodeOnly.cpuSeconds();
        notes.push(
          `server CPU per message: ${((node * 1000) / sent.accepted).toFixed(2)} ms in tegu serve, ` +
            `${(((all - node) * 1000) / sent.accepted).toFixed(2)} ms in its PostgreSQL backends ` +
            '(PostgreSQL\'s WAL writer and checkpointer are not counted: they serve every database of the cluster)',
        );
      }
      const hwm = vmHwm(srv.pid!);

      const check = openPostgres({ url, max: 1, applicationName: 'tegu-bench-check' });
      let stored: number;
      try {
        stored = Number((await check.query<{ n: string }>('SELECT count(*) AS n FROM messages'))[0]?.n ?? 0);
      } finally {
        await check.close();
      }
      await stopChild(srv);
      if (srv.exitCode !== 0) notes.push(`tegu serve exited with ${srv.exitCode ?? srv.signalCode} on SIGTERM`);
      return {
        ...sent,
        delivered: sent.accepted,
        deliveredSeconds: sent.seconds,
        deliveredPerSec: sent.acceptedPerSec,
        stored,
        ...(sampler.peak !== undefined
          ? { serverPssIdleMb: (sampler.idle ?? 0) / MB, serverPssPeakMb: sampler.peak / MB, serverProcs: sampler.maxProcs }
          : {}),
        ...(sent.accepted > 0 ? { serverCpuMsPerMsg: (sampler.cpuSeconds() * 1000) / sent.accepted } : {}),
        memoryWhat: 'the tegu serve process + the PostgreSQL backends of its connections',
        ...(hwm !== undefined ? { teguHwmMb: hwm / MB } : {}),
        notes,
      };
    } catch (err) {
      if (server) {
        const log = join(dataDir, 'tegu.log');
        if (existsSync(log)) say(`tegu: server log (last lines):\n${tail(log)}`);
      }
      throw err;
    } finally {
      if (server) await stopChild(server);
      await rm(dataDir, { recursive: true, force: true });
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
  } finally {
    await admin.close();
  }
}

/** Runs a reference script; output is captured (its daemons keep none of our pipes). */
async function runScript(script: string): Promise<{ code: number; output: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(script, [], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    child.on('error', (err) => resolvePromise({ code: -1, output: `${output}${err.message}\n` }));
    child.on('close', (code) => resolvePromise({ code: code ?? -1, output }));
  });
}

/** Starts the reference stack unless something already listens; true when we started it. */
async function ensureReference(opts: Options): Promise<boolean> {
  if (await portOpen(opts.referencePort)) return false;
  const script = join(opts.referenceDir, 'start.sh');
  if (!existsSync(script)) throw new Error(`nothing listens on ${HOST}:${opts.referencePort} and ${script} does not exist`);
  say(`reference: nothing on ${HOST}:${opts.referencePort}; running ${script} (installs Debian packages the first time)...`);
  for (let attempt = 1; ; attempt++) {
    const { code, output } = await runScript(script);
    if (code === 0 && (await portOpen(opts.referencePort))) return true;
    // Another apt-get on this machine holds the dpkg lock: wait for it (up to about 5 minutes).
    if (code !== 0 && /Could not get lock|dpkg frontend lock/.test(output) && attempt < 20) {
      say(`reference: dpkg is locked by another installer; retrying in 15 s (attempt ${attempt})`);
      await sleep(15_000);
      continue;
    }
    const lastLines = output.trimEnd().split('\n').slice(-10).join('\n');
    throw new Error(
      code === 0
        ? `${script} succeeded but nothing listens on ${HOST}:${opts.referencePort}`
        : `${script} exited with code ${code}:\n${lastLines}`,
    );
  }
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function versionOf(cmd: string, args: string[]): Promise<string> {
  try {
    return (await execFileAsync(cmd, args, { timeout: 5000 })).stdout.trim().split('\n')[0] ?? '?';
  } catch {
    return '?';
  }
}

async function benchReference(opts: Options, runId: string): Promise<TargetResult> {
  const startedByUs = await ensureReference(opts);
  const notes: string[] = [];
  try {
    const users = Math.min(opts.users, REFERENCE_USERS);
    if (users < opts.users) notes.push(`recipients limited to u1..u${users} (the reference stack has ${REFERENCE_USERS} users)`);
    const [postfix, dovecot] = await Promise.all([
      versionOf('postconf', ['-d', '-h', 'mail_version']),
      versionOf('dovecot', ['--version']),
    ]);
    notes.push(`Postfix ${postfix} -> Dovecot ${dovecot} (LMTP), ${startedByUs ? 'started by this run' : 'already running'}`);
    const roots = [POSTFIX_PID, DOVECOT_PID].map(readPid).filter((p): p is number => p !== undefined);
    say(`reference: ${HOST}:${opts.referencePort} up; sending ${opts.n} messages...`);
    const sampler = roots.length ? new PssSampler(() => withDescendants(listProcs(), roots), SAMPLE_MS) : undefined;
    let sent: SendResult;
    try {
      sent = await runSender(opts, 'reference', opts.referencePort, users, runId, true);
    } finally {
      sampler?.stop();
    }
    return {
      ...sent,
      ...(sampler?.peak !== undefined
        ? { serverPssIdleMb: (sampler.idle ?? 0) / MB, serverPssPeakMb: sampler.peak / MB, serverProcs: sampler.maxProcs }
        : {}),
      ...(sampler && (sent.delivered ?? 0) > 0 ? { serverCpuMsPerMsg: (sampler.cpuSeconds() * 1000) / sent.delivered! } : {}),
      memoryWhat:
        roots.length === 2
          ? 'the Postfix master and Dovecot master process trees'
          : `only ${roots.length} of the Postfix/Dovecot master pid files found`,
      notes,
    };
  } finally {
    if (startedByUs) {
      const { code, output } = await runScript(join(opts.referenceDir, 'stop.sh'));
      if (code !== 0) say(`reference: stop.sh exited with ${code}: ${output.trim()}`);
    }
  }
}

// ---- the table

const fmt = (x: number | undefined, digits = 0): string =>
  x === undefined || Number.isNaN(x) ? '-' : x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

function printTable(opts: Options, results: readonly TargetResult[], failures: readonly { target: TargetName; error: string }[]): void {
  const head = ['target', 'accepted msgs/s', 'p50 / p99 ms', 'delivered msgs/s', 'server CPU ms/msg', 'server PSS idle -> peak MB'];
  const rows = results.map((r) => [
    r.target === 'tegu' ? 'tegu (PostgreSQL)' : 'reference (Postfix -> Dovecot)',
    fmt(r.acceptedPerSec),
    `${fmt(r.p50, 1)} / ${fmt(r.p99, 1)}`,
    `${fmt(r.deliveredPerSec)}${r.deliverTimedOut ? ' (timeout)' : ''}`,
    fmt(r.serverCpuMsPerMsg, 2),
    r.serverPssPeakMb === undefined ? '-' : `${fmt(r.serverPssIdleMb)} -> ${fmt(r.serverPssPeakMb)}`,
  ]);
  for (const f of failures) rows.push([f.target, 'not measured', '-', '-', '-', '-']);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ');
  const pipelined = results.some((r) => r.pipelined);
  console.log('');
  console.log(
    `TEGU SMTP benchmark: ${fmt(opts.n)} messages of ${fmt(opts.size)} bytes to ${opts.users} users, ` +
      `${opts.concurrency} concurrent sessions, ${pipelined ? 'PIPELINING' : 'lock-step'} (node ${process.version}, ${process.platform}/${process.arch})`,
  );
  console.log('');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('-+-'));
  for (const row of rows) console.log(line(row));
  console.log('');

  const t = results.find((r) => r.target === 'tegu');
  const ref = results.find((r) => r.target === 'reference');
  if (t && ref) {
    const x = (a: number | undefined, b: number | undefined): string =>
      a === undefined || b === undefined || !Number.isFinite(a / b) ? '-' : `${(a / b).toFixed(2)}x`;
    console.log(
      `TEGU/reference: accepted msgs/s ${x(t.acceptedPerSec, ref.acceptedPerSec)}, delivered msgs/s ${x(t.deliveredPerSec, ref.deliveredPerSec)} ` +
        `(higher is better); p50 ${x(t.p50, ref.p50)}, p99 ${x(t.p99, ref.p99)}, server CPU per message ${x(t.serverCpuMsPerMsg, ref.serverCpuMsPerMsg)}, server peak memory ${x(t.serverPssPeakMb, ref.serverPssPeakMb)} (lower is better)`,
    );
    console.log('');
  }
  console.log('Notes:');
  for (const r of results) {
    const rej = Object.entries(r.rejections).map(([k, v]) => `${v}x ${k}`).join(', ');
    console.log(
      `- ${r.target}: ${fmt(r.accepted)} of ${fmt(r.n)} accepted in ${fmt(r.seconds, 2)} s` +
        (r.rejected ? `, ${fmt(r.rejected)} rejected (${rej})` : '') +
        (r.errors ? `, ${fmt(r.errors)} connection errors` : '') +
        (r.notSent ? `, ${fmt(r.notSent)} not sent` : '') +
        (r.firstError ? ` (first: ${r.firstError})` : '') +
        `; max latency ${fmt(r.max, 1)} ms; ${opts.concurrency} sessions opened in ${fmt(r.connectMs)} ms (not timed)`,
    );
    if (r.target === 'tegu') {
      console.log(
        `  delivered = accepted (the final 250 follows the commit); stored ${fmt(r.stored)} messages` +
          `${r.stored === r.accepted ? '' : ' (MISMATCH)'}`,
      );
    } else {
      console.log(
        `  delivered: ${fmt(r.delivered)} of ${fmt(r.accepted)} accepted messages in the Maildirs after ${fmt(r.deliveredSeconds, 2)} s` +
          (r.deliverTimedOut ? ` (TIMEOUT: no new file for ${opts.deliverTimeout} s)` : '') +
          (r.deliveredExtra ? `; ${fmt(r.deliveredExtra)} other files appeared meanwhile (other traffic)` : ''),
      );
    }
    if (r.serverPssPeakMb !== undefined) {
      console.log(
        `  server memory and CPU: PSS summed over ${r.memoryWhat} (up to ${r.serverProcs} processes), sampled every ${SAMPLE_MS} ms; CPU = user + system time of those processes (and their reaped children) while sending${r.target === 'reference' ? ' and delivering' : ''}, per message` +
          (r.teguHwmMb !== undefined ? `; tegu serve VmHWM ${fmt(r.teguHwmMb)} MB` : ''),
      );
    } else {
      console.log(`  server memory: not available (${r.memoryWhat}; /proc unreadable?)`);
    }
    for (const n of r.notes) console.log(`  ${n}`);
  }
  for (const f of failures) {
    console.log(`- ${f.target}: NOT MEASURED: ${f.error.replace(/\n/g, '\n    ')}`);
    if (f.target === 'reference') console.log('  The figures above are TEGU alone; there is no reference to compare with in this run.');
  }
  console.log(
    '- latency: from writing MAIL FROM to reading the final reply after the message, per transaction; ' +
      'the clock starts once every session has its greeting and EHLO reply. The sender runs in its own process on this machine.',
  );
}

// ---- main

async function main(): Promise<void> {
  const { opts, child } = parseOptions(process.argv.slice(2));
  if (child) {
    const result = await runChild(opts, child);
    process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
    return;
  }
  const runId = randomBytes(6).toString('hex');
  const results: TargetResult[] = [];
  const failures: { target: TargetName; error: string }[] = [];
  for (const target of opts.targets) {
    try {
      results.push(target === 'tegu' ? await benchTegu(opts, runId) : await benchReference(opts, runId));
    } catch (err) {
      const error = errorText(err);
      failures.push({ target, error });
      console.error(`${target}: ${error}`);
    }
  }
  printTable(opts, results, failures);
  if (failures.length) process.exitCode = 1;
}

await main();
