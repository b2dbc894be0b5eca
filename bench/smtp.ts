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
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addAccount } from '../src/core/accounts.ts';
import type { CoreContext } from '../src/core/context.ts';
import { setSetting } from '../src/core/settings.ts';
import { migrate } from '../src/store/migrate.ts';
import { openPostgres } from '../src/store/postgres.ts';
import { argHelpers, REFERENCE_OPTIONS, type ArgHelpers } from './lib/args.ts';
import { runChildScript, writeResult } from './lib/child.ts';
import { errorText, HOST, MB, percentile, pool, runTargets, say, sleep, stopChild, tail } from './lib/harness.ts';
import { mix32, smtpMessageMaker } from './lib/mail.ts';
import { MaildirCounter } from './lib/maildir.ts';
import { listProcs, PssSampler, vmHwm, withDescendants } from './lib/proc.ts';
import { DOMAIN, DOVECOT_PID, ensureReference, POSTFIX_PID, readPid, REFERENCE_USERS, referenceDirOf, stopReference, TARGETS, versionOf, type TargetName } from './lib/reference.ts';
import { databaseUrlOf, pgNote, redact, withScratchDatabase } from './lib/scratch-db.ts';
import { SmtpClient, type SmtpReply } from './lib/smtp-client.ts';
import { fmt, printTitledTable } from './lib/table.ts';
import { cpuSplit, startTeguServe, teguNodePids, teguServerPids } from './lib/tegu-serve.ts';

const SELF = fileURLToPath(import.meta.url);
const SENDER = 'bench-sender@bench.example';
const REFERENCE_MAIL = '/tmp/tegu-ref-mail';
const SAMPLE_MS = 250;
const POLL_MS = 50;
const REPLY_TIMEOUT_MS = 60_000;

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

const args: ArgHelpers = argHelpers('bench/smtp', USAGE);
const { positiveInt, nameList } = args;

function parseOptions(argv: string[]): { opts: Options; child?: ChildOptions } {
  const values = args.parse(argv, {
    n: { type: 'string' },
    concurrency: { type: 'string', short: 'c' },
    size: { type: 'string' },
    users: { type: 'string' },
    targets: { type: 'string' },
    ...REFERENCE_OPTIONS,
    pipelining: { type: 'boolean' },
    'deliver-timeout': { type: 'string' },
    // Internal: the sending child process.
    child: { type: 'string' },
    port: { type: 'string' },
    'run-id': { type: 'string' },
    maildirs: { type: 'boolean' },
  });
  const targets = nameList('targets', values.targets, TARGETS);
  const referencePort = args.port('reference-port', values['reference-port'], 20025);
  const opts: Options = {
    n: positiveInt('n', values.n, 2000),
    concurrency: positiveInt('concurrency', values.concurrency, 20),
    size: positiveInt('size', values.size, 4096),
    users: positiveInt('users', values.users, 200),
    targets: [...new Set(targets)] as TargetName[],
    database: databaseUrlOf(values.database),
    referencePort,
    referenceDir: referenceDirOf(values['reference-dir']),
    pipelining: values.pipelining ?? false,
    deliverTimeout: positiveInt('deliver-timeout', values['deliver-timeout'], 30),
  };
  if (values.child === undefined) return { opts };
  if (!TARGETS.includes(values.child as TargetName) || !values.port || !values['run-id']) args.fail('bad --child invocation');
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

/** The server memory figures of a sampler that saw any. */
function pssFigures(sampler: PssSampler): Pick<TargetResult, 'serverPssIdleMb' | 'serverPssPeakMb' | 'serverProcs'> {
  return sampler.peak !== undefined
    ? { serverPssIdleMb: (sampler.idle ?? 0) / MB, serverPssPeakMb: sampler.peak / MB, serverProcs: sampler.maxProcs }
    : {};
}

function runSender(opts: Options, target: TargetName, port: number, users: number, runId: string, maildirs: boolean): Promise<SendResult> {
  const argv = [
    '--child', target, '--port', String(port), '--run-id', runId,
    '--n', String(opts.n), '--concurrency', String(opts.concurrency),
    '--size', String(opts.size), '--users', String(users),
    '--deliver-timeout', String(opts.deliverTimeout),
    ...(opts.pipelining ? ['--pipelining'] : []),
    ...(maildirs ? ['--maildirs'] : []),
  ];
  return runChildScript<SendResult>(SELF, argv, `${target} sender`);
}

async function benchTegu(opts: Options, runId: string): Promise<TargetResult> {
  return withScratchDatabase(opts.database, 'tegu_bench_smtp', async ({ admin, name, url, create }) => {
    const notes: string[] = [await pgNote(admin)];
    say(`tegu: creating scratch database ${name} on ${redact(opts.database)}, ${opts.users} users (not timed)...`);
    await create();
    const dataDir = await mkdtemp(join(tmpdir(), 'tegu-bench-smtp-'));
    const log = join(dataDir, 'tegu.log');
    let server: ChildProcess | undefined;
    try {
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

      const serve = await startTeguServe({ url, dataDir, nodeName: 'bench-smtp', listen: '--listen-smtp', host: HOST, log });
      const srv = serve.child;
      server = srv;
      say(`tegu: serve pid ${srv.pid} ready, SMTP ${HOST}:${serve.port}; sending ${opts.n} messages...`);

      const sampler = new PssSampler(() => teguServerPids(srv.pid!, name), SAMPLE_MS);
      const nodeOnly = new PssSampler(() => teguNodePids(srv.pid!), SAMPLE_MS);
      let sent: SendResult;
      try {
        sent = await runSender(opts, 'tegu', serve.port, opts.users, runId, false);
      } finally {
        sampler.stop();
        nodeOnly.stop();
      }
      if (sent.accepted > 0) {
        notes.push(
          `${cpuSplit('message', nodeOnly.cpuSeconds(), sampler.cpuSeconds(), sent.accepted)} ` +
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
        ...pssFigures(sampler),
        ...(sent.accepted > 0 ? { serverCpuMsPerMsg: (sampler.cpuSeconds() * 1000) / sent.accepted } : {}),
        memoryWhat: 'the tegu serve process + the PostgreSQL backends of its connections',
        ...(hwm !== undefined ? { teguHwmMb: hwm / MB } : {}),
        notes,
      };
    } catch (err) {
      // The server's log, when it was started (its error may have come from the setup before).
      if (existsSync(log)) say(`tegu: server log (last lines):\n${tail(log)}`);
      throw err;
    } finally {
      if (server) await stopChild(server);
      await rm(dataDir, { recursive: true, force: true });
    }
  });
}

async function benchReference(opts: Options, runId: string): Promise<TargetResult> {
  const startedByUs = await ensureReference(HOST, opts.referencePort, opts.referenceDir);
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
      ...(sampler ? pssFigures(sampler) : {}),
      ...(sampler && (sent.delivered ?? 0) > 0 ? { serverCpuMsPerMsg: (sampler.cpuSeconds() * 1000) / sent.delivered! } : {}),
      memoryWhat:
        roots.length === 2
          ? 'the Postfix master and Dovecot master process trees'
          : `only ${roots.length} of the Postfix/Dovecot master pid files found`,
      notes,
    };
  } finally {
    if (startedByUs) await stopReference(opts.referenceDir);
  }
}

// ---- the table

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
  const pipelined = results.some((r) => r.pipelined);
  printTitledTable(
    `TEGU SMTP benchmark: ${fmt(opts.n)} messages of ${fmt(opts.size)} bytes to ${opts.users} users, ` +
      `${opts.concurrency} concurrent sessions, ${pipelined ? 'PIPELINING' : 'lock-step'}`,
    head,
    rows,
  );

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
    writeResult(await runChild(opts, child));
    return;
  }
  const runId = randomBytes(6).toString('hex');
  const { results, failures } = await runTargets(opts.targets, (target) =>
    target === 'tegu' ? benchTegu(opts, runId) : benchReference(opts, runId),
  );
  printTable(opts, results, failures);
  if (failures.length) process.exitCode = 1;
}

await main();
