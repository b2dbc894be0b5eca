/**
 * Running the real `tegu` command as a child process, the way an operator
 * does, against a temporary embedded data directory or a fresh PostgreSQL
 * database (when TEGU_TEST_DATABASE_URL is set).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BOOTSTRAP_FIELDS } from '../../src/config/bootstrap.ts';
import { embeddedEngine, postgresEngine, type TestDb } from './db.ts';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MAIN = join(ROOT, 'src', 'cli', 'main.ts');

/** The parent's environment without anything that would configure tegu behind the test's back. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const f of BOOTSTRAP_FIELDS) delete env[f.env];
  delete env.NODE_TEST_CONTEXT;
  return { ...env, ...extra };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function spawnTegu(args: readonly string[], env?: Record<string, string>): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, env: childEnv(env), stdio: 'pipe' });
}

/** Runs `tegu ARGS`, feeding `input` on stdin (then EOF); kills it after `timeoutMs`. */
export function runTegu(args: readonly string[], opts: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliResult> {
  const started = Date.now();
  const child = spawnTegu(args, opts.env);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  child.stdin.on('error', () => undefined); // the CLI may exit before reading its input
  child.stdin.end(opts.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 90_000);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** A long-running `tegu serve` whose output the test can wait on. */
export interface Server {
  child: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  /** Resolves when stdout matches `re` (rejects if the process ends first or after `timeoutMs`). */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startTegu(args: readonly string[], env?: Record<string, string>): Server {
  const child = spawnTegu(args, env);
  child.stdin.end();
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  const poke = (): void => {
    for (const w of waiters) w();
  };
  child.stdout.setEncoding('utf8').on('data', (s: string) => ((out += s), poke()));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  let ended = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => {
      ended = true;
      poke();
      resolve({ code, signal });
    }),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(re, timeoutMs = 90_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => done(new Error(`timed out waiting for ${re}; stdout:\n${out}\nstderr:\n${err}`)), timeoutMs);
        const check = (): void => {
          const m = re.exec(out);
          if (m) done(undefined, m);
          else if (ended) done(new Error(`tegu exited before printing ${re}; stdout:\n${out}\nstderr:\n${err}`));
        };
        const done = (e?: Error, m?: RegExpMatchArray): void => {
          clearTimeout(timer);
          waiters.delete(check);
          if (e) reject(e);
          else resolve(m!);
        };
        waiters.add(check);
        check();
      });
    },
  };
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => srv.once('error', reject).listen(0, '127.0.0.1', resolve));
  const addr = srv.address();
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return addr.port;
}

/** Where the CLI under test keeps its data: the global options that select it, and how to clean up. */
export interface Target {
  engine: 'embedded' | 'postgres';
  /** --data (always: serve writes TLS files there) and, for PostgreSQL, --database. */
  args: string[];
  dataDir: string;
  /** The test's own connection (PostgreSQL only; an embedded directory admits one process). */
  testDb?: TestDb;
  cleanup(): Promise<void>;
}

/** A copy of the migrated embedded template, or (fresh) an empty data directory. */
export async function embeddedTarget(opts: { fresh?: boolean } = {}): Promise<Target> {
  if (opts.fresh) {
    const dir = await mkdtemp(join(tmpdir(), 'tegu-cli-fresh-'));
    return { engine: 'embedded', args: ['--data', dir], dataDir: dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
  }
  const t = await embeddedEngine().create();
  await t.db.close(); // release the data-directory lock for the CLI
  const dir = t.dataDir!;
  return { engine: 'embedded', args: ['--data', dir], dataDir: dir, cleanup: () => t.drop() };
}

/** A fresh database cloned from the migrated template, or (fresh) an empty one. */
export async function postgresTarget(adminUrl: string, opts: { fresh?: boolean } = {}): Promise<Target> {
  const t = await postgresEngine(adminUrl).create();
  const dataDir = await mkdtemp(join(tmpdir(), 'tegu-cli-pg-'));
  let url = t.url!;
  let dropEmpty = async (): Promise<void> => undefined;
  if (opts.fresh) {
    const name = `tegu_cli_empty_${randomBytes(6).toString('hex')}`;
    await t.db.exec(`CREATE DATABASE ${name}`);
    const u = new URL(url);
    u.pathname = `/${name}`;
    url = u.toString();
    dropEmpty = () => t.db.exec(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
  return {
    engine: 'postgres',
    args: ['--database', url, '--data', dataDir],
    dataDir,
    testDb: t,
    async cleanup() {
      await dropEmpty();
      await t.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** The engines this run covers: embedded always, PostgreSQL when TEGU_TEST_DATABASE_URL is set. */
export function targetFactories(): { engine: Target['engine']; make(opts?: { fresh?: boolean }): Promise<Target> }[] {
  const url = process.env.TEGU_TEST_DATABASE_URL;
  const list: ReturnType<typeof targetFactories> = [{ engine: 'embedded', make: (o) => embeddedTarget(o) }];
  if (url) list.push({ engine: 'postgres', make: (o) => postgresTarget(url, o) });
  return list;
}

/** Exactly one line on stderr, starting `tegu: `. */
export function oneErrorLine(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l !== '');
  if (lines.length !== 1 || !lines[0]!.startsWith('tegu: ')) throw new Error(`expected one "tegu: ..." line on stderr, got:\n${stderr}`);
  return lines[0]!;
}
