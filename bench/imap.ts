/**
 * IMAP benchmark: memory per idle authenticated connection and a mixed
 * client workload, for TEGU on PostgreSQL and for Dovecot from Debian on the
 * same machine, in one run, with TEGU/reference ratios.
 *
 *   npm run bench:imap -- [--targets tegu,reference] [--parts idle,workload]
 *                         [--idle 1000,10000] [--concurrency 20] [--seconds 20] [--warmup 3]
 *                         [--messages 200] [--users 200] [--database URL]
 *                         [--reference-port 20143] [--login-concurrency 50] [--source-addresses 0]
 *                         [--timeout 60] [--tegu-scrypt-ln 10] [--ops select,fetchBody,...]
 *
 * Part 1, idle: for each N of --idle, N connections each LOGIN (as u1..uU
 * in turn) and then send nothing; server memory is the PSS summed over the
 * server's processes, measured before and once it settled with the N
 * connections held; KB per connection = (held - before) / connections held.
 * Before the baseline a burst of 4 x --login-concurrency connections logs
 * in and out (code loaded, database pool grown). tegu serve (a fresh one per
 * N) runs with --expose-gc and bench/lib/imap-gc-hook.mjs: both of its samples
 * follow a full GC (SIGUSR2), else V8's uncollected garbage decides them.
 * Connections are opened --login-concurrency at a time, from 127.0.0.1..
 * 127.0.0.k (k = --source-addresses, or one more address per 3,000
 * connections, at most 9) so ephemeral ports never run out; the client
 * process gets `ulimit -n` N + 256 (and tegu serve the largest N + 1,024).
 * Dovecot as configured in ../shared/reference holds at most its imap
 * process_limit (2,100) logged-in connections: one process each.
 *
 * Part 2, workload: C clients, each logged in as its own user u1..uC with
 * --messages messages in the selected mailbox (pre-filled, not timed, the
 * same bytes on both targets: bench/lib/imap-mail.ts), loop over a weighted
 * mix for --warmup seconds (not counted), then for --seconds: SELECT, UID
 * FETCH of 25 messages' From/Subject/Date, UID FETCH BODY.PEEK[] of one
 * message, UID STORE +FLAGS/-FLAGS (\Seen), UID SEARCH SUBJECT / UNSEEN /
 * SINCE, APPEND of a 4 KB message, and UID STORE \Deleted + UID EXPUNGE of a
 * message the client appended (its UID from APPENDUID, else found by
 * Message-ID; without UIDPLUS a plain EXPUNGE: only that message is \Deleted).
 * Lock-step: one command in flight per client. Printed: ops/s and p50/p99
 * latency per operation and in total, server CPU per operation (user +
 * system time of all server processes while timed), server memory. A command
 * answered NO/BAD (or OK without the data asked for) three times before it
 * ever succeeded is dropped from the mix and reported as unsupported; the
 * rest still runs.
 *
 * - tegu: a scratch database tegu_bench_imap_<random> on the --database admin
 *   URL, migrated, users u1..uU@example.test (password "bench-password":
 *   TEGU wants 8 characters; its hash made with scrypt ln=10 instead of 15,
 *   --tegu-scrypt-ln, since LOGIN speed is not measured and 10,000 full-cost
 *   LOGINs take most of an hour here), auth.allowPlaintext on and the per-IP
 *   connection limits off; then a fresh `tegu serve --listen-imap` child
 *   process on free loopback ports for each idle N and for the workload,
 *   whose INBOXes of u1..uC are filled by APPEND to that server and indexed
 *   before the timing starts (both targets are filled the same way). Without an IMAP listener in `tegu
 *   serve` the tegu target fails with that message; the reference still runs.
 * - reference: Dovecot IMAP on 127.0.0.1:--reference-port from
 *   ../shared/reference (start.sh if nothing listens, stop.sh at the end only
 *   then), users u1..u200 / "pass"; the workload's mailbox is a folder
 *   bench-imap-<run> (created, filled by APPEND, deleted at the end), since
 *   the reference INBOXes also receive bench/smtp's mail.
 *
 * Clients run in a child process (this file with --child PLAN-FILE); the
 * parent measures the server. Only 127.0.0.1 (and 127.0.0.2..9 as source
 * addresses) is used. A benchmark prints figures; it does not fail on speed.
 * BENCH_IMAP_DEBUG=1 prints every memory sample; TEGU_PROF=<dir> makes each
 * tegu serve write a V8 CPU profile there.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { addAccount, getAccount } from '../src/core/accounts.ts';
import type { SystemFlag } from '../src/core/append.ts';
import type { CoreContext } from '../src/core/context.ts';
import { setSetting } from '../src/core/settings.ts';
import { hashPassword } from '../src/lib/password.ts';
import { updatePasswordHash } from '../src/store/directory.ts';
import { migrate } from '../src/store/migrate.ts';
import { openPostgres } from '../src/store/postgres.ts';
import { argHelpers, REFERENCE_OPTIONS, type ArgHelpers } from './lib/args.ts';
import { runChildScript, writeResult } from './lib/child.ts';
import { errorText, fdLimit, HOST, MB, percentile, pool, ROOT, runTargets, say, sleep, stopChild, sysctl, tail } from './lib/harness.ts';
import {
  existsCount,
  fetchResponses,
  ImapClient,
  quote,
  searchResults,
  type CommandPart,
  type TaggedResult,
} from './lib/imap-client.ts';
import { appendedMessage, corpusMessage, imapDate, imapDateTime, messageDate, SUBJECT_WORDS } from './lib/imap-mail.ts';
import { mix32 } from './lib/mail.ts';
import { listProcs, PssSampler, pss, vmHwm, withDescendants } from './lib/proc.ts';
import { DOMAIN, DOVECOT_PID, ensureReference, readPid, REFERENCE_USERS, referenceDirOf, stopReference, TARGETS, versionOf, type TargetName } from './lib/reference.ts';
import { databaseUrlOf, pgNote, redact, withScratchDatabase } from './lib/scratch-db.ts';
import { fmt, table } from './lib/table.ts';
import { cpuSplit, startTeguServe, teguNodePids, teguServeWhat, teguServerPids } from './lib/tegu-serve.ts';

type PartName = 'idle' | 'workload';
const PARTS: readonly PartName[] = ['idle', 'workload'];
const SELF = fileURLToPath(import.meta.url);
const GC_HOOK = pathToFileURL(join(ROOT, 'bench/lib/imap-gc-hook.mjs')).href;
const REFERENCE_PASSWORD = 'pass';
const TEGU_PASSWORD = 'bench-password';
const KB = 1024;
/**
 * During the workload the server's memory and CPU are sampled once a second:
 * sampled every 250 ms, the measuring process (the process list, and smaps_rollup
 * of every server process) took 15% of all CPU samples of a 2-core machine
 * in TEGU's run (perf, sixth session), CPU the measured server then lacked.
 * CPU time is cumulative, so only its first and last samples count.
 */
const WORKLOAD_SAMPLE_MS = 1000;
const FETCH_RANGE = 25;
const APPEND_SIZE = 4096;

// ---- options

interface Options {
  targets: TargetName[];
  parts: PartName[];
  idle: number[];
  concurrency: number;
  seconds: number;
  warmup: number;
  messages: number;
  users: number;
  database: string;
  referencePort: number;
  referenceDir: string;
  loginConcurrency: number;
  sourceAddresses: number;
  timeoutSeconds: number;
  /** scrypt cost (log2 N) of the TEGU bench accounts' password hash. */
  scryptLn: number;
  /** The operations of the workload mix (default all); one alone gives its own CPU per operation. */
  ops: OpName[];
}

const USAGE = `usage: npm run bench:imap -- [--targets tegu,reference] [--parts idle,workload]
                            [--idle 1000,10000] [--concurrency 20] [--seconds 20] [--warmup 3]
                            [--messages 200] [--users 200] [--database postgres://admin-url]
                            [--reference-port 20143] [--reference-dir ../shared/reference]
                            [--login-concurrency 50] [--source-addresses 0 (auto)] [--timeout 60]
                            [--tegu-scrypt-ln 10 (15 = TEGU's default cost)]
                            [--ops select,fetchHeaders,fetchBody,store,searchSubject,searchUnseen,searchSince,append,expunge (the mix), noop]`;

const args: ArgHelpers = argHelpers('bench/imap', USAGE);
const { positiveInt, nameList } = args;

function parseOptions(argv: string[]): { opts: Options; childPlan?: string } {
  const values = args.parse(argv, {
    targets: { type: 'string' },
    parts: { type: 'string' },
    idle: { type: 'string' },
    concurrency: { type: 'string', short: 'c' },
    seconds: { type: 'string' },
    warmup: { type: 'string' },
    messages: { type: 'string' },
    users: { type: 'string' },
    ...REFERENCE_OPTIONS,
    'login-concurrency': { type: 'string' },
    'source-addresses': { type: 'string' },
    timeout: { type: 'string' },
    'tegu-scrypt-ln': { type: 'string' },
    ops: { type: 'string' },
    // Internal: the client process.
    child: { type: 'string' },
  });
  const idle = (values.idle ?? '1000,10000')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)
    .map((x) => positiveInt('idle', x, 1000));
  const referencePort = args.port('reference-port', values['reference-port'], 20143);
  const rawSources = values['source-addresses'];
  const sourceAddresses = rawSources === undefined || rawSources === '0' ? 0 : positiveInt('source-addresses', rawSources, 0);
  if (sourceAddresses > 9) args.fail('--source-addresses must be 0 (auto) .. 9 (127.0.0.1 .. 127.0.0.9)');
  const opts: Options = {
    targets: [...new Set(nameList('targets', values.targets, TARGETS))],
    parts: [...new Set(nameList('parts', values.parts, PARTS))],
    idle: [...new Set(idle)],
    concurrency: positiveInt('concurrency', values.concurrency, 20),
    seconds: positiveInt('seconds', values.seconds, 20),
    warmup: values.warmup === '0' ? 0 : positiveInt('warmup', values.warmup, 3),
    messages: positiveInt('messages', values.messages, 200),
    users: positiveInt('users', values.users, 200),
    database: databaseUrlOf(values.database),
    referencePort,
    referenceDir: referenceDirOf(values['reference-dir']),
    loginConcurrency: positiveInt('login-concurrency', values['login-concurrency'], 50),
    sourceAddresses,
    timeoutSeconds: positiveInt('timeout', values.timeout, 60),
    scryptLn: positiveInt('tegu-scrypt-ln', values['tegu-scrypt-ln'], 10),
    ops: values.ops === undefined ? [...MIX_OPS] : [...new Set(nameList('ops', values.ops, OPS.map((o) => o.name)))],
  };
  if (opts.scryptLn < 10 || opts.scryptLn > 17) args.fail('--tegu-scrypt-ln must be 10..17 (what TEGU accepts at r=8)');
  if (opts.messages < FETCH_RANGE) args.fail(`--messages must be at least ${FETCH_RANGE}`);
  if (opts.parts.includes('idle') && opts.idle.length === 0) args.fail('--idle is empty');
  return values.child === undefined ? { opts } : { opts, childPlan: values.child };
}

// ---- plans: what a client process does (written to a file by the parent)

interface IdlePlan {
  kind: 'idle';
  target: TargetName;
  port: number;
  n: number;
  users: string[];
  password: string;
  sourceAddresses: string[];
  loginConcurrency: number;
  timeoutMs: number;
}

interface WorkloadUser {
  user: string;
  password: string;
  /** UID of pre-filled message j. */
  uids: number[];
  /** Size in bytes of pre-filled message j. */
  sizes: number[];
}

interface WorkloadPlan {
  kind: 'workload';
  target: TargetName;
  port: number;
  mailbox: string;
  clients: WorkloadUser[];
  seconds: number;
  warmup: number;
  timeoutMs: number;
  runId: string;
  /** The operations in the mix (--ops). */
  ops: OpName[];
}

type Plan = IdlePlan | WorkloadPlan;

// ---- the idle client process

interface IdleHeld {
  held: number;
  failed: number;
  failures: Record<string, number>;
  loginSeconds: number;
  stoppedEarly: boolean;
  fdSoft: number | undefined;
}

/** Shortens a server reply or error for counting by kind. */
function kindOf(text: string): string {
  return text.replace(/\(\d+\.\d+ \+ [^)]*secs\)/g, '').replace(/\d+/g, 'N').slice(0, 100).trim();
}

async function childIdle(plan: IdlePlan): Promise<void> {
  const limit = fdLimit();
  const clients: ImapClient[] = [];
  const failures: Record<string, number> = {};
  let failed = 0;
  let consecutive = 0;
  let stoppedEarly = false;
  let next = 0;
  const t0 = performance.now();
  const progress = setInterval(() => {
    say(`  ${plan.target} idle: ${clients.length.toLocaleString('en-US')} / ${plan.n.toLocaleString('en-US')} logged in, ${failed} failed (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }, 5000);
  const fail1 = (why: string): void => {
    failed++;
    consecutive++;
    const k = kindOf(why);
    failures[k] = (failures[k] ?? 0) + 1;
  };
  await Promise.all(
    Array.from({ length: Math.min(plan.loginConcurrency, plan.n) }, async () => {
      while (next < plan.n && !stoppedEarly) {
        const i = next++;
        const localAddress = plan.sourceAddresses[i % plan.sourceAddresses.length]!;
        let c: ImapClient | undefined;
        try {
          c = await ImapClient.connect({ host: HOST, port: plan.port, localAddress, timeoutMs: plan.timeoutMs });
          const r = await c.login(plan.users[i % plan.users.length]!, plan.password);
          if (r.status !== 'OK') {
            fail1(`LOGIN ${r.status} ${r.text}`);
            c.destroy();
          } else {
            clients.push(c);
            consecutive = 0;
          }
        } catch (err) {
          c?.destroy();
          fail1(errorText(err));
        }
        // The server refuses more (Dovecot: its process_limit): stop knocking.
        if (consecutive >= 200) stoppedEarly = true;
      }
    }),
  );
  clearInterval(progress);
  const alive = clients.filter((c) => !c.broken);
  const held: IdleHeld = {
    held: alive.length,
    failed: failed + (clients.length - alive.length),
    failures,
    loginSeconds: (performance.now() - t0) / 1000,
    stoppedEarly,
    fdSoft: limit?.soft,
  };
  process.stdout.write(`HELD ${JSON.stringify(held)}\n`);
  // Hold until the parent has measured.
  await new Promise<void>((resolveRelease) => {
    createInterface({ input: process.stdin }).on('line', (line) => {
      if (line.trim() === 'RELEASE') resolveRelease();
    });
    process.stdin.once('end', () => resolveRelease());
  });
  const stillOpen = clients.filter((c) => !c.broken).length;
  for (const c of clients) c.destroy();
  writeResult({ stillOpen });
}

// ---- the workload client process

const OPS = [
  { name: 'select', label: 'SELECT', weight: 8 },
  { name: 'fetchHeaders', label: `UID FETCH ${FETCH_RANGE} x (FLAGS From/Subject/Date)`, weight: 25 },
  { name: 'fetchBody', label: 'UID FETCH 1 x BODY.PEEK[]', weight: 20 },
  { name: 'store', label: 'UID STORE +/-FLAGS (\\Seen)', weight: 15 },
  { name: 'searchSubject', label: 'UID SEARCH SUBJECT word', weight: 4 },
  { name: 'searchUnseen', label: 'UID SEARCH UNSEEN', weight: 4 },
  { name: 'searchSince', label: 'UID SEARCH SINCE date', weight: 4 },
  { name: 'append', label: `APPEND ${APPEND_SIZE / KB} KB`, weight: 10 },
  { name: 'expunge', label: 'UID STORE \\Deleted + (UID) EXPUNGE', weight: 10 },
  // Not in the default mix (--ops noop): the cost of a command that touches no mail, the floor under every other.
  { name: 'noop', label: 'NOOP', weight: 10, outsideMix: true },
] as const;
/** The default --ops: the mix. */
const MIX_OPS: readonly OpName[] = OPS.filter((o) => !('outsideMix' in o)).map((o) => o.name);
type OpName = (typeof OPS)[number]['name'];

interface OpFigures {
  ok: number;
  no: number;
  bad: number;
  /** Answered OK without the data asked for. */
  invalid: number;
  /** Timeouts and broken connections. */
  errors: number;
  p50: number;
  p99: number;
  max: number;
  /** Literal bytes received with the successful ones. */
  bytes: number;
  firstFailure?: string;
}

interface WorkloadOutcome {
  target: TargetName;
  clients: number;
  clientsRunning: number;
  seconds: number;
  totalOk: number;
  ops: Record<OpName, OpFigures>;
  /** Ops dropped from the mix: the first failure. */
  unsupported: Partial<Record<OpName, string>>;
  p50: number;
  p99: number;
  warmupOps: number;
  reconnects: number;
  firstError?: string;
  literalPlus: boolean;
  uidplus: boolean;
  capabilities: string;
  /** CPU seconds of the client process while timed. */
  clientCpuSeconds: number;
}

type Result = { kind: 'ok'; bytes: number } | { kind: 'NO' | 'BAD'; text: string } | { kind: 'invalid'; text: string };

/** xorshift32: the same sequence of choices on every target. */
function rng(seed: number): (k: number) => number {
  let x = mix32(seed) | 1;
  return (k) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % k;
  };
}

async function childWorkload(plan: WorkloadPlan): Promise<void> {
  const lat = new Map<OpName, number[]>(OPS.map((o) => [o.name, []]));
  const figures = new Map<OpName, OpFigures>(
    OPS.map((o) => [o.name, { ok: 0, no: 0, bad: 0, invalid: 0, errors: 0, p50: NaN, p99: NaN, max: NaN, bytes: 0 }]),
  );
  /** Successes and failures since the start (warm-up included): decides "unsupported". */
  const everOk = new Map<OpName, number>();
  const everFailed = new Map<OpName, number>();
  const unsupported = new Map<OpName, string>();
  let reconnects = 0;
  let warmupOps = 0;
  let firstError: string | undefined;
  let capabilities = '';
  let literalPlus = false;
  let uidplus = false;
  const mailbox = quote(plan.mailbox);

  // Subject words: how many pre-filled messages each one matches (checked against SEARCH).
  const subjectHits = new Map<string, number>();
  for (const w of SUBJECT_WORDS) subjectHits.set(w, 0);
  const messages = plan.clients[0]?.uids.length ?? 0;
  for (let j = 0; j < messages; j++) {
    const subject = /^Subject: (.*)$/m.exec(corpusMessage(j, 'x@example.test', plan.runId).raw.toString('latin1'))![1]!;
    for (const w of SUBJECT_WORDS) if (subject.includes(w)) subjectHits.set(w, subjectHits.get(w)! + 1);
  }

  interface Session {
    c: ImapClient;
  }

  /** A message this client appended: its UID from APPENDUID, and its Message-ID to find it without one. */
  interface Appended {
    uid: number | null;
    id: string;
  }

  const open = async (u: WorkloadUser): Promise<Session> => {
    const c = await ImapClient.connect({ host: HOST, port: plan.port, timeoutMs: plan.timeoutMs });
    const s: Session = { c };
    try {
      const login = await c.login(u.user, u.password);
      if (login.status !== 'OK') throw new Error(`LOGIN ${u.user}: ${login.status} ${login.text}`);
      if (!c.capabilities.has('IMAP4REV1') && !c.capabilities.has('IMAP4REV2')) await c.command('CAPABILITY');
      // SELECT may be unsupported: the ops that need it then fail and are dropped.
      await c.command(`SELECT ${mailbox}`);
      return s;
    } catch (err) {
      c.destroy();
      throw err;
    }
  };

  const runOp = async (s: Session, op: OpName, u: WorkloadUser, pick: (k: number) => number, mine: Appended[], state: { seen: boolean }, n: number): Promise<Result> => {
    const c = s.c;
    const status = (r: TaggedResult): Result | undefined => (r.status === 'OK' ? undefined : { kind: r.status, text: `${r.status} ${r.text}` });
    const j = pick(u.uids.length);
    switch (op) {
      case 'select': {
        const r = await c.command(`SELECT ${mailbox}`);
        if (r.status !== 'OK') return status(r)!;
        return r.untagged.some((x) => existsCount(x) !== undefined) ? { kind: 'ok', bytes: 0 } : { kind: 'invalid', text: 'no EXISTS in the SELECT reply' };
      }
      case 'fetchHeaders': {
        const k = pick(u.uids.length - FETCH_RANGE + 1);
        const r = await c.command(`UID FETCH ${u.uids[k]}:${u.uids[k + FETCH_RANGE - 1]} (UID FLAGS BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)])`);
        if (r.status !== 'OK') return status(r)!;
        const f = fetchResponses(r.untagged).filter((x) => x.literals.length > 0);
        return f.length === FETCH_RANGE ? { kind: 'ok', bytes: r.literalBytes } : { kind: 'invalid', text: `${f.length} of ${FETCH_RANGE} FETCH responses with header data` };
      }
      case 'fetchBody': {
        const r = await c.command(`UID FETCH ${u.uids[j]} (BODY.PEEK[])`);
        if (r.status !== 'OK') return status(r)!;
        const got = fetchResponses(r.untagged).flatMap((x) => x.literals.map((l) => l.length));
        return got.includes(u.sizes[j]!) ? { kind: 'ok', bytes: r.literalBytes } : { kind: 'invalid', text: `BODY[] of ${got.join('+') || 'no'} bytes, not ${u.sizes[j]}` };
      }
      case 'store': {
        state.seen = !state.seen;
        const r = await c.command(`UID STORE ${u.uids[j]} ${state.seen ? '+' : '-'}FLAGS (\\Seen)`);
        return status(r) ?? { kind: 'ok', bytes: 0 };
      }
      case 'searchSubject': {
        const word = SUBJECT_WORDS[pick(SUBJECT_WORDS.length)]!;
        const r = await c.command(`UID SEARCH SUBJECT ${word}`);
        if (r.status !== 'OK') return status(r)!;
        const hits = searchResults(r.untagged).length;
        return hits === subjectHits.get(word) ? { kind: 'ok', bytes: 0 } : { kind: 'invalid', text: `SUBJECT ${word}: ${hits} hits, not ${subjectHits.get(word)}` };
      }
      case 'searchUnseen':
      case 'searchSince': {
        const key = op === 'searchUnseen' ? 'UNSEEN' : `SINCE ${imapDate(messageDate(j))}`;
        const r = await c.command(`UID SEARCH ${key}`);
        if (r.status !== 'OK') return status(r)!;
        return r.untagged.some((x) => /^\* E?SEARCH\b/i.test(x.text)) ? { kind: 'ok', bytes: 0 } : { kind: 'invalid', text: 'no SEARCH response' };
      }
      case 'append': {
        const id = `${plan.runId}.${u.user.replace(/@.*/, '')}.${n}`;
        const raw = appendedMessage(id, u.user, APPEND_SIZE);
        const parts: CommandPart[] = [`APPEND ${mailbox} (\\Seen) `, raw];
        const r = await c.command(parts, { literalPlus });
        if (r.status !== 'OK') return status(r)!;
        const m = /^APPENDUID \d+ (\d+)$/i.exec(r.code ?? '');
        mine.push({ uid: m ? Number(m[1]) : null, id });
        return { kind: 'ok', bytes: 0 };
      }
      case 'noop':
        return status(await c.command('NOOP')) ?? { kind: 'ok', bytes: 0 };
      case 'expunge': {
        const a = mine.shift();
        if (a === undefined) return { kind: 'invalid', text: 'nothing appended to expunge' };
        let uid = a.uid;
        if (uid === null) {
          // No APPENDUID: find it by its Message-ID (never by a sequence number: that could hit a pre-filled message).
          const found = await c.command(`UID SEARCH HEADER Message-ID ${quote(`<${a.id}@bench.example>`)}`);
          if (found.status !== 'OK') return status(found)!;
          const hits = searchResults(found.untagged);
          if (hits.length !== 1) return { kind: 'invalid', text: `the appended message not found by Message-ID (${hits.length} hits)` };
          uid = hits[0]!;
        }
        const d = await c.command(`UID STORE ${uid} +FLAGS.SILENT (\\Deleted)`);
        if (d.status !== 'OK') return status(d)!;
        // Without UIDPLUS a plain EXPUNGE: only this client's appended messages are ever marked \Deleted in its mailbox.
        return status(await c.command(uidplus ? `UID EXPUNGE ${uid}` : 'EXPUNGE')) ?? { kind: 'ok', bytes: 0 };
      }
    }
  };

  // Setup, not timed: every client logged in and selected.
  const sessions: (Session | undefined)[] = await Promise.all(
    plan.clients.map(async (u) => {
      try {
        return await open(u);
      } catch (err) {
        firstError ??= `setup: ${errorText(err)}`;
        return undefined;
      }
    }),
  );
  const first = sessions.find((s) => s !== undefined);
  if (first) {
    capabilities = [...first.c.capabilities].join(' ');
    // LITERAL- (RFC 7888) allows {n+} up to 4096 bytes.
    literalPlus = first.c.capabilities.has('LITERAL+') || (first.c.capabilities.has('LITERAL-') && APPEND_SIZE <= 4096);
    uidplus = first.c.capabilities.has('UIDPLUS');
  }

  const t0 = performance.now();
  const timedStart = t0 + plan.warmup * 1000;
  const timedEnd = timedStart + plan.seconds * 1000;
  let cpuAtStart: NodeJS.CpuUsage | undefined;
  const startTimer = setTimeout(() => {
    cpuAtStart = process.cpuUsage();
    process.stdout.write('START\n');
  }, Math.max(0, timedStart - performance.now()));
  let lastEnd = timedStart;
  const totalWeight = (excluded: ReadonlySet<OpName>): number => OPS.reduce((a, o) => a + (excluded.has(o.name) ? 0 : o.weight), 0);

  await Promise.all(
    plan.clients.map(async (u, w) => {
      let s = sessions[w];
      if (!s) return;
      const pick = rng(w * 7919 + 17);
      const mine: Appended[] = [];
      const state = { seen: false };
      let failures = 0;
      let n = 0;
      while (performance.now() < timedEnd) {
        if (!s || s.c.broken) {
          try {
            s = await open(u);
            reconnects++;
            failures = 0;
          } catch (err) {
            firstError ??= `reconnect: ${errorText(err)}`;
            if (++failures >= 5) return;
            await sleep(200);
            continue;
          }
        }
        const excluded = new Set<OpName>(unsupported.keys());
        if (mine.length === 0) excluded.add('expunge');
        // --ops: the rest stays out, but for APPEND while an EXPUNGE-only mix has nothing of its own to expunge.
        for (const o of OPS) {
          if (!plan.ops.includes(o.name) && !(o.name === 'append' && plan.ops.includes('expunge') && mine.length === 0)) excluded.add(o.name);
        }
        const total = totalWeight(excluded);
        if (total === 0) return; // nothing left that works
        let x = pick(total);
        let op: OpName = OPS[0].name;
        for (const o of OPS) {
          if (excluded.has(o.name)) continue;
          if (x < o.weight) {
            op = o.name;
            break;
          }
          x -= o.weight;
        }
        const t = performance.now();
        const timed = t >= timedStart;
        const f = figures.get(op)!;
        let result: Result;
        try {
          result = await runOp(s, op, u, pick, mine, state, n++);
        } catch (err) {
          firstError ??= `${op}: ${errorText(err)}`;
          if (timed) f.errors++;
          s.c.destroy();
          continue;
        }
        const end = performance.now();
        if (result.kind === 'ok') {
          everOk.set(op, (everOk.get(op) ?? 0) + 1);
          if (timed) {
            f.ok++;
            f.bytes += result.bytes;
            lat.get(op)!.push(end - t);
            lastEnd = Math.max(lastEnd, end);
          } else {
            warmupOps++;
          }
          continue;
        }
        if (timed) {
          if (result.kind === 'invalid') f.invalid++;
          else if (result.kind === 'NO') f.no++;
          else f.bad++;
        }
        f.firstFailure ??= result.text;
        const failed = (everFailed.get(op) ?? 0) + 1;
        everFailed.set(op, failed);
        if (!everOk.get(op) && failed >= 3 && !unsupported.has(op)) unsupported.set(op, result.text);
      }
    }),
  );
  clearTimeout(startTimer);
  const cpu = process.cpuUsage(cpuAtStart);
  const seconds = Math.max(lastEnd, Math.min(performance.now(), timedEnd)) - timedStart;
  process.stdout.write('END\n');
  await Promise.all(sessions.map((s) => s?.c.logout()));

  const all: number[] = [];
  for (const [op, list] of lat) {
    list.sort((a, b) => a - b);
    const f = figures.get(op)!;
    f.p50 = percentile(list, 50);
    f.p99 = percentile(list, 99);
    f.max = list.at(-1) ?? NaN;
    for (const x of list) all.push(x); // not push(...list): over ~100,000 arguments overflow the stack
  }
  all.sort((a, b) => a - b);
  const outcome: WorkloadOutcome = {
    target: plan.target,
    clients: plan.clients.length,
    clientsRunning: sessions.filter(Boolean).length,
    seconds: seconds / 1000,
    totalOk: all.length,
    ops: Object.fromEntries(figures) as Record<OpName, OpFigures>,
    unsupported: Object.fromEntries(unsupported),
    p50: percentile(all, 50),
    p99: percentile(all, 99),
    warmupOps,
    reconnects,
    ...(firstError ? { firstError } : {}),
    literalPlus,
    uidplus,
    capabilities,
    clientCpuSeconds: cpuAtStart ? (cpu.user + cpu.system) / 1e6 : NaN,
  };
  writeResult(outcome);
}

// ---- the parent: running a client process

/** Runs this file with --child PLAN; calls onLine for protocol lines (HELD, START, END); resolves with RESULT. */
async function runClient<T>(plan: Plan, fds: number, onLine: (line: string, child: ChildProcess) => void | Promise<void>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'tegu-bench-imap-plan-'));
  const file = join(dir, 'plan.json');
  writeFileSync(file, JSON.stringify(plan));
  try {
    return await runChildScript<T>(SELF, ['--child', file], `${plan.target} ${plan.kind} client`, { fds, stdin: true, onLine });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// ---- server memory

interface Pss {
  bytes: number;
  procs: number;
  /** PSS of the main process alone (tegu serve), when one was named. */
  main?: number;
}

function sumPss(pids: readonly number[], mainPid?: number): Pss {
  let bytes = 0;
  let procs = 0;
  let main: number | undefined;
  for (const pid of pids) {
    const v = pss(pid);
    if (v === undefined) continue;
    bytes += v;
    procs++;
    if (pid === mainPid) main = v;
  }
  return { bytes, procs, ...(main !== undefined ? { main } : {}) };
}

/** Settled PSS as found and, with `gc` (it triggers a full GC in the server), settled again after it. */
async function measurePss(pidsOf: () => number[], server: ServerHooks, maxMs?: number): Promise<{ found: Pss; collected?: Pss }> {
  const found = await settledPss(pidsOf, server.mainPid, maxMs);
  if (!server.gc) return { found };
  server.gc();
  await sleep(1000);
  return { found, collected: await settledPss(pidsOf, server.mainPid, maxMs) };
}

/** PSS once it stopped moving: the median of the last 3 of 500 ms samples whose last 6 are within 1% (or after maxMs). */
async function settledPss(pidsOf: () => number[], mainPid?: number, maxMs = 20_000): Promise<Pss> {
  const samples: Pss[] = [];
  const deadline = Date.now() + maxMs;
  for (;;) {
    samples.push(sumPss(pidsOf(), mainPid));
    if (process.env.BENCH_IMAP_DEBUG) say(`  pss ${(samples.at(-1)!.bytes / MB).toFixed(1)} MB (main ${((samples.at(-1)!.main ?? 0) / MB).toFixed(1)}) procs ${samples.at(-1)!.procs}`);
    if (samples.length >= 6) {
      const last = samples.slice(-6).map((s) => s.bytes);
      const hi = Math.max(...last);
      if ((hi - Math.min(...last)) / hi < 0.01 || Date.now() > deadline) {
        const three = samples.slice(-3).sort((a, b) => a.bytes - b.bytes);
        return three[1]!;
      }
    }
    await sleep(500);
  }
}

// ---- the parent: part 1

interface IdleResult {
  n: number;
  held: number;
  failed: number;
  failures: Record<string, number>;
  stoppedEarly: boolean;
  loginSeconds: number;
  /** After a forced full GC where the server has one (tegu), else as found. */
  before: Pss;
  with: Pss;
  kbPerConnection: number | undefined;
  /** tegu: the same without forcing a GC. */
  kbPerConnectionNoGc?: number;
  /** tegu: the part of kbPerConnection in the tegu serve process itself. */
  kbPerConnectionMain?: number;
  stillOpen: number;
  sourceAddresses: number;
  fdSoft: number | undefined;
}

function sourceAddressesFor(opts: Options, n: number): string[] {
  const k = opts.sourceAddresses || Math.min(9, Math.max(1, Math.ceil(n / 3000)));
  return Array.from({ length: k }, (_, i) => `127.0.0.${i + 1}`);
}

async function measureIdle(
  opts: Options,
  target: TargetName,
  port: number,
  n: number,
  users: string[],
  password: string,
  pidsOf: () => number[],
  server: ServerHooks = {},
): Promise<IdleResult> {
  // Some connections first, as many at a time as in the run, closed again: code paths loaded and compiled, the
  // server's database pool and its heap's young generation grown to what a burst of LOGINs makes them, before the baseline.
  const warm = Math.min(n, 4 * opts.loginConcurrency);
  await pool(Array.from({ length: warm }, (_, i) => i), opts.loginConcurrency, async (i) => {
    try {
      const c = await ImapClient.connect({ host: HOST, port, timeoutMs: opts.timeoutSeconds * 1000 });
      await c.login(users[i % users.length]!, password);
      await c.command('NOOP');
      await c.logout();
    } catch {
      // the idle run itself reports failures
    }
  });
  await waitProcsSteady(pidsOf);
  await sleep(3000);
  const before = await measurePss(pidsOf, server, 10_000);
  const sourceAddresses = sourceAddressesFor(opts, n);
  say(`${target}: opening ${n.toLocaleString('en-US')} idle connections (LOGIN, ${opts.loginConcurrency} at a time, from ${sourceAddresses.length} source address(es))...`);
  let held: IdleHeld | undefined;
  let withN: { found: Pss; collected?: Pss } | undefined;
  const plan: IdlePlan = {
    kind: 'idle', target, port, n, users, password, sourceAddresses,
    loginConcurrency: opts.loginConcurrency, timeoutMs: opts.timeoutSeconds * 1000,
  };
  const done = await runClient<{ stillOpen: number }>(plan, n + 256, async (line, child) => {
    if (!line.startsWith('HELD ')) return;
    held = JSON.parse(line.slice(5)) as IdleHeld;
    say(`${target}: ${held.held.toLocaleString('en-US')} connections held after ${held.loginSeconds.toFixed(1)} s; letting the server settle...`);
    await sleep(2000);
    withN = await measurePss(pidsOf, server);
    child.stdin!.write('RELEASE\n');
    child.stdin!.end();
  });
  if (!held || !withN) throw new Error(`${target}: the idle client ended without holding its connections`);
  const b = before.collected ?? before.found;
  const w = withN.collected ?? withN.found;
  return {
    n,
    held: held.held,
    failed: held.failed,
    failures: held.failures,
    stoppedEarly: held.stoppedEarly,
    loginSeconds: held.loginSeconds,
    before: before.collected ?? before.found,
    with: withN.collected ?? withN.found,
    kbPerConnection: held.held > 0 ? ((withN.collected ?? withN.found).bytes - (before.collected ?? before.found).bytes) / KB / held.held : undefined,
    ...(before.collected && held.held > 0 ? { kbPerConnectionNoGc: (withN.found.bytes - before.found.bytes) / KB / held.held } : {}),
    ...(b.main !== undefined && w.main !== undefined && held.held > 0 ? { kbPerConnectionMain: (w.main - b.main) / KB / held.held } : {}),
    stillOpen: done.stillOpen,
    sourceAddresses: sourceAddresses.length,
    fdSoft: held.fdSoft,
  };
}

/** What the idle measurement may know of the server: its main process, and how to make it collect garbage. */
interface ServerHooks {
  mainPid?: number;
  gc?: () => void;
}

/** Waits (up to 30 s) until the server's process count stayed the same for 2 s (Dovecot's imap processes exit after their clients). */
async function waitProcsSteady(pidsOf: () => number[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  let last = pidsOf().length;
  let since = Date.now();
  while (Date.now() < deadline && Date.now() - since < 2000) {
    await sleep(250);
    const now = pidsOf().length;
    if (now !== last) {
      last = now;
      since = Date.now();
    }
  }
}

/** Waits until the server's process count is back near `procs` (Dovecot's imap processes exit after their clients). */
async function waitProcsBack(pidsOf: () => number[], procs: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && pidsOf().length > procs + 2) await sleep(250);
}

// ---- the parent: part 2

interface WorkloadResult extends WorkloadOutcome {
  serverCpuMsPerOp?: number;
  serverCpuSeconds?: number;
  serverPssPeakMb?: number;
  serverPssBeforeMb?: number;
  serverProcs?: number;
  cpuSplit?: string;
}

async function measureWorkload(plan: WorkloadPlan, pidsOf: () => number[], nodePids?: () => number[]): Promise<WorkloadResult> {
  say(`${plan.target}: workload: ${plan.clients.length} clients, ${plan.warmup} s warm-up + ${plan.seconds} s...`);
  let sampler: PssSampler | undefined;
  let nodeSampler: PssSampler | undefined;
  const outcome = await runClient<WorkloadOutcome>(plan, 4096, (line) => {
    if (line === 'START') {
      sampler = new PssSampler(pidsOf, WORKLOAD_SAMPLE_MS);
      if (nodePids) nodeSampler = new PssSampler(nodePids, WORKLOAD_SAMPLE_MS);
    } else if (line === 'END') {
      sampler?.stop();
      nodeSampler?.stop();
    } else {
      console.log(line);
    }
  });
  sampler?.stop();
  nodeSampler?.stop();
  const result: WorkloadResult = { ...outcome };
  if (sampler?.peak !== undefined) {
    const cpu = sampler.cpuSeconds();
    result.serverCpuSeconds = cpu;
    if (outcome.totalOk > 0) result.serverCpuMsPerOp = (cpu * 1000) / outcome.totalOk;
    result.serverPssPeakMb = sampler.peak / MB;
    result.serverPssBeforeMb = (sampler.idle ?? 0) / MB;
    result.serverProcs = sampler.maxProcs;
    if (nodeSampler && outcome.totalOk > 0) {
      result.cpuSplit = cpuSplit('operation', nodeSampler.cpuSeconds(), cpu, outcome.totalOk);
    }
  }
  return result;
}

// ---- targets

interface TargetResult {
  target: TargetName;
  idle: IdleResult[];
  workload?: WorkloadResult;
  /** A part that could not be measured, and why. */
  partFailures: { part: string; error: string }[];
  memoryWhat: string;
  notes: string[];
}

const userAddress = (k: number): string => `u${k}@${DOMAIN}`;

const flagsOf = (m: { seen: boolean; flagged: boolean }): SystemFlag[] => [
  ...(m.seen ? (['\\Seen'] as const) : []),
  ...(m.flagged ? (['\\Flagged'] as const) : []),
];

interface TeguServer {
  child: ChildProcess;
  imapPort: number;
  log: string;
}

async function startTegu(url: string, dataDir: string, fds: number, label: string): Promise<TeguServer> {
  const log = join(dataDir, `tegu-${label}.log`);
  const serve = await startTeguServe({
    url, dataDir, nodeName: `bench-imap-${label}`, listen: '--listen-imap', host: HOST, log, fds,
    nodeFlags: ['--expose-gc'], preload: [GC_HOOK],
  });
  const { child, port: imapPort } = serve;
  try {
    // `--listen-imap` is a known flag before the IMAP server exists: serve then warns and starts no listener.
    let greeting: ImapClient | undefined;
    try {
      greeting = await ImapClient.connect({ host: HOST, port: imapPort, timeoutMs: 10_000 });
    } catch (err) {
      const why = readFileSync(log, 'utf8').split('\n').find((l) => /imap/i.test(l) && /not implemented|listener not started/i.test(l));
      throw new Error(
        `tegu serve is ready but its IMAP listener on ${HOST}:${imapPort} does not greet (${errorText(err)})` +
          (why ? `: this build has no IMAP server yet (serve log: ${why.slice(0, 300)})` : `; serve log:\n${tail(log)}`),
        { cause: err },
      );
    }
    greeting.destroy();
    return { child, imapPort, log };
  } catch (err) {
    await stopChild(child);
    throw err;
  }
}

async function benchTegu(opts: Options, runId: string): Promise<TargetResult> {
  const notes: string[] = [];
  const result: TargetResult = {
    target: 'tegu',
    idle: [],
    partFailures: [],
    memoryWhat: 'the tegu serve process + the PostgreSQL backends of its database',
    notes,
  };
  const users = Math.max(opts.users, opts.concurrency);
  const maxIdle = opts.parts.includes('idle') ? Math.max(...opts.idle) : 0;
  return withScratchDatabase(opts.database, 'tegu_bench_imap', async ({ admin, name, url, create }) => {
    notes.push(await pgNote(admin));
    const head = await versionOf('git', ['-C', ROOT, 'log', '-1', '--format=%h %s']);
    const dirty = await versionOf('sh', ['-c', `git -C '${ROOT}' status --porcelain src | wc -l`]);
    notes.push(`TEGU at ${head.slice(0, 90)}${dirty !== '0' && dirty !== '?' ? ` (+${dirty} uncommitted files in src/)` : ''}`);
    notes.push(`tegu serve runs ${teguServeWhat()}`);
    say(`tegu: creating scratch database ${name} on ${redact(opts.database)}, ${users} users (not timed)...`);
    await create();
    const dataDir = await mkdtemp(join(tmpdir(), 'tegu-bench-imap-'));
    try {
      const db = openPostgres({ url, max: 8, applicationName: 'tegu-bench-setup' });
      try {
        await migrate(db);
        const ctx: CoreContext = { db, actor: 'bench', node: 'bench' };
        await addAccount(ctx, { address: userAddress(1), password: TEGU_PASSWORD, createDomain: true });
        // scrypt hashing dominates: a few at a time.
        await pool(Array.from({ length: users - 1 }, (_, k) => userAddress(k + 2)), 4, async (address) => {
          await addAccount(ctx, { address, password: TEGU_PASSWORD });
        });
        if (opts.scryptLn !== 15) {
          // LOGIN cost is not what this measures, and at scrypt's full cost 10,000 LOGINs take most of an hour here.
          const hash = await hashPassword(TEGU_PASSWORD, { ln: opts.scryptLn, r: 8, p: 1 });
          for (let k = 1; k <= users; k++) await updatePasswordHash(db, (await getAccount(ctx, userAddress(k))).id, hash);
          notes.push(
            `password hashes of the bench accounts: scrypt ln=${opts.scryptLn} (TEGU's default is ln=15, about ${2 ** (15 - opts.scryptLn)}x the work per LOGIN; ` +
              'the reference uses SSHA256 with an auth cache); LOGIN speed is not measured here, and --tegu-scrypt-ln 15 keeps the default',
          );
        }
        // Like the reference (plaintext LOGIN allowed, no per-IP limits for one client host).
        for (const [key, value, why] of [
          ['auth.allowPlaintext', true, 'LOGIN without TLS, like the reference (disable_plaintext_auth = no)'],
          ['limits.maxConnectionsPerIp', 0, 'all connections come from loopback'],
          ['limits.connectionsPerIpPerMinute', 0, 'all connections come from loopback'],
        ] as const) {
          try {
            await setSetting(ctx, key, value);
            notes.push(`setting ${key} = ${value}: ${why}`);
          } catch (err) {
            notes.push(`setting ${key} could not be set: ${errorText(err)}`);
          }
        }
      } finally {
        await db.close();
      }

      const pidsFor = (srv: TeguServer) => (): number[] => teguServerPids(srv.child.pid!, name);
      const fds = Math.max(4096, maxIdle + 1024);

      if (opts.parts.includes('idle')) {
        for (const n of opts.idle) {
          const srv = await startTegu(url, dataDir, fds, `idle-${n}`);
          try {
            const lim = fdLimit(srv.child.pid!);
            if (lim && lim.soft < n + 64) notes.push(`tegu serve runs with ${lim.soft} open files for ${n} connections: raise the hard limit (root, or ulimit -Hn)`);
            await sleep(2000); // let the fresh process finish starting up before the baseline
            result.idle.push(
              await measureIdle(opts, 'tegu', srv.imapPort, n, Array.from({ length: users }, (_, k) => userAddress(k + 1)), TEGU_PASSWORD, pidsFor(srv), {
                mainPid: srv.child.pid!,
                gc: () => srv.child.kill('SIGUSR2'),
              }),
            );
          } catch (err) {
            if (/IMAP listener/.test(errorText(err))) throw err;
            result.partFailures.push({ part: `idle ${n}`, error: errorText(err) });
          } finally {
            const hwm = vmHwm(srv.child.pid!);
            await stopChild(srv.child);
            if (hwm !== undefined) notes.push(`idle ${n.toLocaleString('en-US')}: tegu serve VmHWM ${(hwm / MB).toFixed(0)} MB`);
          }
        }
      }

      if (opts.parts.includes('workload')) {
        const srv = await startTegu(url, dataDir, fds, 'workload');
        try {
          // Filled as the reference is, by IMAP APPEND to the server that is then measured.
          say(`tegu: filling ${opts.concurrency} INBOXes with ${opts.messages} messages each by APPEND (not timed)...`);
          const prefilled = await prefillOverImap(opts, { port: srv.imapPort, password: TEGU_PASSWORD, mailbox: 'INBOX', create: false, runId });
          say('tegu: waiting for the search indexer to take in the pre-filled messages (not timed)...');
          await waitIndexed(url);
          const plan: WorkloadPlan = {
            kind: 'workload', target: 'tegu', port: srv.imapPort, mailbox: 'INBOX', clients: prefilled, ops: opts.ops,
            seconds: opts.seconds, warmup: opts.warmup, timeoutMs: opts.timeoutSeconds * 1000, runId,
          };
          const nodePids = (): number[] => teguNodePids(srv.child.pid!);
          result.workload = await measureWorkload(plan, pidsFor(srv), nodePids);
        } catch (err) {
          result.partFailures.push({ part: 'workload', error: errorText(err) });
        } finally {
          await stopChild(srv.child);
          if (srv.child.exitCode !== 0 && srv.child.exitCode !== null) notes.push(`tegu serve exited with ${srv.child.exitCode} on SIGTERM`);
        }
      }
      return result;
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
}

/** Waits (not timed, up to 3 minutes) until the search indexer drained its queue, so it does not run during the workload. */
async function waitIndexed(url: string): Promise<void> {
  const db = openPostgres({ url, max: 1, applicationName: 'tegu-bench-check' });
  try {
    const deadline = Date.now() + 180_000;
    for (;;) {
      let left: number;
      try {
        left = Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM search_pending'))[0]?.n ?? 0);
      } catch {
        return; // no such queue in this schema
      }
      if (left === 0) return;
      if (Date.now() > deadline) {
        say(`tegu: ${left} messages still waiting for the search indexer; starting anyway`);
        return;
      }
      await sleep(500);
    }
  } finally {
    await db.close();
  }
}

interface PrefillTarget {
  port: number;
  password: string;
  mailbox: string;
  /** CREATE the mailbox first. */
  create: boolean;
  runId: string;
}

/**
 * Logs in as each of u1..uC, creates `mailbox` when asked and APPENDs the
 * messages: both targets are filled the same way, through the server that is
 * then measured. Returns the UIDs and sizes per client.
 */
async function prefillOverImap(opts: Options, target: PrefillTarget): Promise<WorkloadUser[]> {
  const { mailbox, runId } = target;
  const out: WorkloadUser[] = [];
  await pool(
    Array.from({ length: opts.concurrency }, (_, k) => k + 1),
    8,
    async (k) => {
      const user = userAddress(k);
      const c = await ImapClient.connect({ host: HOST, port: target.port, timeoutMs: opts.timeoutSeconds * 1000 });
      try {
        const check = (what: string, r: TaggedResult): TaggedResult => {
          if (r.status !== 'OK') throw new Error(`${what} as ${user}: ${r.status} ${r.text}`);
          return r;
        };
        check('LOGIN', await c.login(user, target.password));
        if (target.create) check('CREATE', await c.command(`CREATE ${quote(mailbox)}`));
        const literalPlus = c.capabilities.has('LITERAL+');
        const uids: number[] = [];
        const sizes: number[] = [];
        for (let j = 0; j < opts.messages; j++) {
          const m = corpusMessage(j, user, runId);
          const flags = flagsOf(m).join(' ');
          const r = check('APPEND', await c.command([`APPEND ${quote(mailbox)} (${flags}) ${imapDateTime(m.date)} `, m.raw], { literalPlus }));
          const uid = /^APPENDUID \d+ (\d+)$/i.exec(r.code ?? '');
          uids.push(uid ? Number(uid[1]) : j + 1);
          sizes.push(m.raw.length);
        }
        out[k - 1] = { user, password: target.password, uids, sizes };
      } finally {
        await c.logout();
      }
    },
  );
  return out;
}

/** `process_limit` of `service imap` in the reference's dovecot.conf. */
function dovecotImapProcessLimit(referenceDir: string): number | undefined {
  try {
    const conf = readFileSync(join(referenceDir, 'dovecot', 'dovecot.conf'), 'utf8');
    const m = /^service imap \{[^}]*?^\s*process_limit\s*=\s*(\d+)/m.exec(conf);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

async function deleteReferenceMailbox(opts: Options, mailbox: string): Promise<void> {
  await pool(
    Array.from({ length: opts.concurrency }, (_, k) => k + 1),
    8,
    async (k) => {
      try {
        const c = await ImapClient.connect({ host: HOST, port: opts.referencePort, timeoutMs: 30_000 });
        try {
          if ((await c.login(userAddress(k), REFERENCE_PASSWORD)).status === 'OK') await c.command(`DELETE ${quote(mailbox)}`);
        } finally {
          await c.logout();
        }
      } catch {
        // best effort
      }
    },
  );
}

async function benchReference(opts: Options, runId: string): Promise<TargetResult> {
  // start.sh may install Debian packages: up to 10 minutes a try.
  const startedByUs = await ensureReference(HOST, opts.referencePort, opts.referenceDir, 600_000);
  const notes: string[] = [];
  const result: TargetResult = { target: 'reference', idle: [], partFailures: [], memoryWhat: '', notes };
  const mailbox = `bench-imap-${runId}`;
  let created = false;
  try {
    const dovecot = await versionOf('dovecot', ['--version']);
    notes.push(`Dovecot ${dovecot} (IMAP on ${HOST}:${opts.referencePort}), ${startedByUs ? 'started by this run' : 'already running'}`);
    const master = readPid(DOVECOT_PID);
    if (master === undefined) throw new Error(`no Dovecot master pid in ${DOVECOT_PID}: cannot measure its memory`);
    const lim = fdLimit(master);
    if (lim) notes.push(`Dovecot master: ${lim.soft === Infinity ? 'unlimited' : lim.soft} open files (it raises its services' own limits from client_limit)`);
    result.memoryWhat = 'the Dovecot master process tree (master, imap-login, auth, one imap process per logged-in connection, and whatever else it runs: LMTP deliveries from other benchmarks count too)';
    const pidsOf = (): number[] => withDescendants(listProcs(), [master]);
    const users = Math.min(opts.users, REFERENCE_USERS);
    if (users < opts.users) notes.push(`idle connections log in as u1..u${users} (the reference has ${REFERENCE_USERS} users)`);

    if (opts.parts.includes('idle')) {
      for (const n of opts.idle) {
        try {
          const r = await measureIdle(opts, 'reference', opts.referencePort, n, Array.from({ length: users }, (_, k) => userAddress(k + 1)), REFERENCE_PASSWORD, pidsOf);
          result.idle.push(r);
          if (r.held < n) {
            const limit = dovecotImapProcessLimit(opts.referenceDir);
            notes.push(
              `idle ${n.toLocaleString('en-US')}: Dovecot held ${r.held.toLocaleString('en-US')}: it runs one imap process per logged-in connection, and the reference ` +
                `configuration allows ${limit ?? 'a limited number of'} (service imap { process_limit }${limit ? '' : ' in dovecot.conf'}); beyond that ` +
                'imap-login closes new connections after LOGIN ("destination service { process_limit } reached" in its log). Its figure is per connection held.',
            );
          }
          await waitProcsBack(pidsOf, r.before.procs);
        } catch (err) {
          result.partFailures.push({ part: `idle ${n}`, error: errorText(err) });
        }
      }
    }

    if (opts.parts.includes('workload')) {
      try {
        if (opts.concurrency > REFERENCE_USERS) throw new Error(`--concurrency ${opts.concurrency}: the reference has only ${REFERENCE_USERS} users (one per client)`);
        say(`reference: filling folder ${mailbox} of ${opts.concurrency} users with ${opts.messages} messages each by APPEND (not timed)...`);
        created = true;
        const clients = await prefillOverImap(opts, { port: opts.referencePort, password: REFERENCE_PASSWORD, mailbox, create: true, runId });
        const plan: WorkloadPlan = {
          kind: 'workload', target: 'reference', port: opts.referencePort, mailbox, clients, ops: opts.ops,
          seconds: opts.seconds, warmup: opts.warmup, timeoutMs: opts.timeoutSeconds * 1000, runId,
        };
        result.workload = await measureWorkload(plan, pidsOf);
      } catch (err) {
        result.partFailures.push({ part: 'workload', error: errorText(err) });
      }
    }
    return result;
  } finally {
    if (created) await deleteReferenceMailbox(opts, mailbox);
    if (startedByUs) await stopReference(opts.referenceDir);
  }
}

// ---- the tables

const ratio = (a: number | undefined, b: number | undefined): string =>
  a === undefined || b === undefined || !Number.isFinite(a / b) || b === 0 ? '-' : `${(a / b).toFixed(Math.abs(a / b) < 0.1 ? 3 : 2)}x`;

const LABEL: Record<TargetName, string> = { tegu: 'tegu (PostgreSQL)', reference: 'reference (Dovecot)' };

function printIdle(opts: Options, results: readonly TargetResult[], failures: readonly { target: TargetName; error: string }[]): void {
  console.log('');
  console.log('Part 1: idle authenticated connections (LOGIN, then nothing); server memory = PSS summed over the server processes');
  console.log('');
  const rows: string[][] = [];
  for (const n of opts.idle) {
    for (const r of results) {
      const i = r.idle.find((x) => x.n === n);
      const f = r.partFailures.find((x) => x.part === `idle ${n}`);
      if (!i) {
        rows.push([LABEL[r.target], fmt(n), f ? 'failed' : '-', '-', '-', '-']);
        continue;
      }
      rows.push([
        LABEL[r.target],
        fmt(n),
        `${fmt(i.held)}${i.held < n ? ' (!)' : ''}`,
        `${fmt(i.before.bytes / MB, 1)} -> ${fmt(i.with.bytes / MB, 1)}`,
        fmt(i.kbPerConnection, 1),
        `${fmt(i.before.procs)} -> ${fmt(i.with.procs)}`,
      ]);
    }
    for (const f of failures) rows.push([LABEL[f.target], fmt(n), 'not measured', '-', '-', '-']);
  }
  table(['target', 'connections', 'held', 'server PSS before -> with them, MB', 'KB per connection', 'server processes'], rows);
  console.log('');
  const t = results.find((r) => r.target === 'tegu');
  const ref = results.find((r) => r.target === 'reference');
  for (const n of opts.idle) {
    const a = t?.idle.find((x) => x.n === n)?.kbPerConnection;
    const b = ref?.idle.find((x) => x.n === n)?.kbPerConnection;
    if (a !== undefined && b !== undefined) console.log(`TEGU/reference memory per idle connection at ${fmt(n)}: ${ratio(a, b)} (lower is better; target: TEGU under 100 KB)`);
  }
}

function printWorkload(opts: Options, results: readonly TargetResult[], failures: readonly { target: TargetName; error: string }[]): void {
  const withW = results.filter((r) => r.workload);
  console.log('');
  console.log(
    `Part 2: mixed workload: ${opts.concurrency} clients (one user and one command in flight each), ${opts.messages} messages per mailbox, ` +
      `${opts.seconds} s timed after ${opts.warmup} s of warm-up`,
  );
  console.log('');
  const head = ['operation', 'share'];
  for (const r of withW) head.push(`${r.target} ops/s`, `${r.target} p50 / p99 ms`);
  const both = withW.length === 2;
  if (both) head.push('ops/s TEGU/ref');
  const shown = OPS.filter((o) => opts.ops.includes(o.name));
  const totalWeight = shown.reduce((a, o) => a + o.weight, 0);
  const rows: string[][] = [];
  for (const o of shown) {
    const row = [o.label, `${Math.round((o.weight * 100) / totalWeight)}%`];
    for (const r of withW) {
      const w = r.workload!;
      const f = w.ops[o.name];
      if (w.unsupported[o.name] !== undefined && f.ok === 0) row.push('unsupported', '-');
      else row.push(fmt(f.ok / w.seconds, 1), `${fmt(f.p50, 1)} / ${fmt(f.p99, 1)}`);
    }
    if (both) {
      const [a, b] = withW.map((r) => r.workload!.ops[o.name].ok / r.workload!.seconds);
      row.push(a && b ? ratio(a, b) : '-');
    }
    rows.push(row);
  }
  const total = ['total', '100%'];
  for (const r of withW) total.push(fmt(r.workload!.totalOk / r.workload!.seconds, 1), `${fmt(r.workload!.p50, 1)} / ${fmt(r.workload!.p99, 1)}`);
  const partial = withW.some((r) => Object.keys(r.workload!.unsupported).length > 0);
  if (both) total.push(partial ? '- (*)' : ratio(...(withW.map((r) => r.workload!.totalOk / r.workload!.seconds) as [number, number])));
  rows.push(total);
  table(head, rows);
  if (partial) console.log('(*) not every operation ran on every target: totals are of different mixes, compare the rows');
  console.log('');
  table(
    ['target', 'ops/s', 'server CPU ms/op', 'server CPU % of one core', 'client CPU % of one core', 'server PSS at start -> peak MB'],
    [
      ...withW.map((r) => {
        const w = r.workload!;
        return [
          LABEL[r.target],
          fmt(w.totalOk / w.seconds, 1),
          fmt(w.serverCpuMsPerOp, 3),
          w.serverCpuSeconds === undefined ? '-' : fmt((w.serverCpuSeconds * 100) / w.seconds),
          fmt((w.clientCpuSeconds * 100) / w.seconds),
          w.serverPssPeakMb === undefined ? '-' : `${fmt(w.serverPssBeforeMb)} -> ${fmt(w.serverPssPeakMb)}`,
        ];
      }),
      ...failures.map((f) => [LABEL[f.target], 'not measured', '-', '-', '-', '-']),
      ...results.filter((r) => !r.workload && opts.parts.includes('workload')).map((r) => [LABEL[r.target], 'not measured', '-', '-', '-', '-']),
    ],
  );
  const t = withW.find((r) => r.target === 'tegu')?.workload;
  const ref = withW.find((r) => r.target === 'reference')?.workload;
  if (t && ref) {
    console.log('');
    const sameMix = !partial;
    console.log(
      `TEGU/reference: total ops/s ${sameMix ? ratio(t.totalOk / t.seconds, ref.totalOk / ref.seconds) : '- (different mixes)'} (higher is better; target above 1); ` +
        (sameMix
          ? `p50 ${ratio(t.p50, ref.p50)}, p99 ${ratio(t.p99, ref.p99)}, server CPU per operation ${ratio(t.serverCpuMsPerOp, ref.serverCpuMsPerOp)} (lower is better)`
          : 'latency and CPU per operation: see the rows and the table above, the mixes differ'),
    );
  }
}

function printNotes(results: readonly TargetResult[], failures: readonly { target: TargetName; error: string }[], machine: string[]): void {
  console.log('');
  console.log('Notes:');
  for (const m of machine) console.log(`- ${m}`);
  for (const r of results) {
    console.log(`- ${r.target}:`);
    for (const i of r.idle) {
      const kinds = Object.entries(i.failures).sort((a, b) => b[1] - a[1]).slice(0, 3).map(([k, v]) => `${v}x ${k}`).join('; ');
      console.log(
        `  idle ${fmt(i.n)}: ${fmt(i.held)} held after ${fmt(i.loginSeconds, 1)} s of connecting and LOGIN` +
          (i.failed ? `, ${fmt(i.failed)} failed (${kinds})` : '') +
          (i.stoppedEarly ? ', stopped after 200 failures in a row' : '') +
          `; ${fmt(i.stillOpen)} still open when released; ${i.sourceAddresses} source address(es); client open-file limit ${fmt(i.fdSoft)}` +
          (i.kbPerConnectionMain !== undefined
            ? `; of the ${fmt(i.kbPerConnection, 1)} KB per connection ${fmt(i.kbPerConnectionMain, 1)} KB are in the tegu serve process, the rest in PostgreSQL backends (${fmt(i.before.procs - 1)} -> ${fmt(i.with.procs - 1)})`
            : '') +
          (i.kbPerConnectionNoGc !== undefined ? `; without forcing a GC ${fmt(i.kbPerConnectionNoGc, 1)} KB per connection (garbage left from start-up and LOGINs decides that one)` : ''),
      );
    }
    const w = r.workload;
    if (w) {
      console.log(
        `  workload: ${w.clientsRunning} of ${w.clients} clients ran; ${fmt(w.totalOk)} operations in ${fmt(w.seconds, 2)} s (+${fmt(w.warmupOps)} in the warm-up)` +
          (w.reconnects ? `, ${w.reconnects} reconnects` : '') +
          `; APPEND with ${w.literalPlus ? 'LITERAL+' : 'synchronizing literals'}; ${w.uidplus ? 'UID EXPUNGE (UIDPLUS)' : 'no UIDPLUS: EXPUNGE of the one message marked \\Deleted'}` +
          (w.firstError ? `; first error: ${w.firstError}` : ''),
      );
      const un = Object.entries(w.unsupported);
      if (un.length) console.log(`  unsupported (dropped from the mix after 3 failures and no success): ${un.map(([k, v]) => `${OPS.find((o) => o.name === k)!.label}: ${v}`).join('; ')}`);
      const bad = OPS.filter((o) => w.ops[o.name].no + w.ops[o.name].bad + w.ops[o.name].invalid + w.ops[o.name].errors > 0 && w.unsupported[o.name] === undefined);
      if (bad.length) {
        console.log(
          `  failed operations (not counted): ${bad
            .map((o) => {
              const f = w.ops[o.name];
              return `${o.label}: ${f.no} NO, ${f.bad} BAD, ${f.invalid} wrong data, ${f.errors} errors (first: ${f.firstFailure ?? '-'})`;
            })
            .join('; ')}`,
        );
      }
      const mb = OPS.filter((o) => w.ops[o.name].bytes > 0).map((o) => `${o.label} ${fmt(w.ops[o.name].bytes / MB / w.seconds, 1)} MB/s`);
      if (mb.length) console.log(`  literal data received: ${mb.join(', ')}`);
      if (w.cpuSplit) console.log(`  ${w.cpuSplit}`);
      if (w.capabilities) console.log(`  capabilities after LOGIN: ${w.capabilities.slice(0, 300)}`);
    }
    for (const f of r.partFailures) console.log(`  ${f.part}: NOT MEASURED: ${f.error.replace(/\n/g, '\n    ')}`);
    console.log(`  server memory and CPU: ${r.memoryWhat}`);
    for (const n of r.notes) console.log(`  ${n}`);
  }
  for (const f of failures) {
    console.log(`- ${f.target}: NOT MEASURED: ${f.error.replace(/\n/g, '\n    ')}`);
  }
  console.log(
    '- memory: PSS (proportional set size: shared pages split between the processes sharing them) from /proc/<pid>/smaps_rollup, ' +
      'summed over the server processes, before the connections and once it settled with them (the median of the last 3 of 6 samples 500 ms apart ' +
      'within 1%); per connection = the difference / connections held. tegu serve runs with --expose-gc and a hook (bench/lib/imap-gc-hook.mjs) ' +
      'by which both samples follow a full garbage collection (SIGUSR2); at 1,000 connections its figure moves by about 5 KB from run to run. CPU: user + system time of the server processes (and their reaped ' +
      'children) during the timed part, per successful operation.',
  );
  console.log(
    '- workload latency: per operation from writing the command to its tagged reply (EXPUNGE: both of its commands); ' +
      'the clients run in their own process on this machine and take CPU from the same cores as the server.',
  );
}

// ---- main

async function main(): Promise<void> {
  const { opts, childPlan } = parseOptions(process.argv.slice(2));
  if (childPlan !== undefined) {
    const plan = JSON.parse(readFileSync(childPlan, 'utf8')) as Plan;
    if (plan.kind === 'idle') await childIdle(plan);
    else await childWorkload(plan);
    return;
  }
  const runId = randomBytes(6).toString('hex');
  const cpu = cpus();
  const self = fdLimit();
  const machine = [
    `machine: ${cpu.length} x ${cpu[0]?.model ?? '?'}, ${fmt(totalmem() / MB / 1024, 1)} GB RAM, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} at the start ` +
      `(a shared machine: other work runs meanwhile); node ${process.version}, ${process.platform}/${process.arch}`,
    `file descriptors: fs.file-max ${sysctl('fs/file-max') ?? '?'}, fs.nr_open ${sysctl('fs/nr_open') ?? '?'}, this process ${self ? `${self.soft}/${self.hard}` : '?'} (soft/hard); ` +
      'the client process and tegu serve are started through `sh -c "ulimit -n N"` with N = connections + 256 (+1,024 for the server; as root the hard limit rises too); ' +
      `ephemeral ports ${sysctl('net/ipv4/ip_local_port_range')?.replace(/\s+/, '-') ?? '?'} per source address`,
  ];
  const { results, failures } = await runTargets(opts.targets, (target) =>
    target === 'tegu' ? benchTegu(opts, runId) : benchReference(opts, runId),
  );
  console.log('');
  console.log(`TEGU IMAP benchmark: targets ${opts.targets.join(', ')}; parts ${opts.parts.join(', ')}`);
  if (opts.parts.includes('idle')) printIdle(opts, results, failures);
  if (opts.parts.includes('workload')) printWorkload(opts, results, failures);
  printNotes(results, failures, machine);
  if (failures.length) process.exitCode = 1;
}

await main();
