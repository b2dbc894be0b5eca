/**
 * `tegu serve` as a benchmark target: a child process on free loopback
 * ports with its output in a log file (TEGU_PROF=<dir> makes it write a V8
 * CPU profile there), ready once GET /readyz answers 200; and the processes
 * whose memory and CPU count as the server's: tegu serve with its children,
 * and the PostgreSQL backends connected to its database.
 *
 * The server runs as it ships: the bundle `npm run build` makes (built once
 * per benchmark run into a temporary directory, `node <dir>/tegu.cjs
 * serve`), not the sources through tsx, whose loader and keepNames wrappers
 * cost CPU the product does not spend. TEGU_BENCH_FROM_SOURCE=1 runs the
 * sources instead.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, ROOT, spawnWithFdLimit, stopChild, waitHttpReady } from './harness.ts';
import { cmdline, listProcs, withDescendants } from './proc.ts';

export interface TeguServeOptions {
  /** The database URL it serves. */
  url: string;
  dataDir: string;
  nodeName: string;
  /** The protocol listener flag: `--listen-smtp`, `--listen-imap`, ... (on a free port of `host`). */
  listen: string;
  host: string;
  /** The log file (stdout and stderr, appended). */
  log: string;
  /** Node flags before `--import tsx` (`--expose-gc`). */
  nodeFlags?: readonly string[];
  /** Plain JavaScript modules imported before the server (`--import <url>`). */
  preload?: readonly string[];
  /** Open-file limit, raised through `ulimit -n` (see spawnWithFdLimit); else the inherited one. */
  fds?: number;
}

export interface TeguServe {
  child: ChildProcess;
  /** The port of the `listen` flag. */
  port: number;
  httpPort: number;
}

let bundleDir: string | undefined;

/** How to run tegu: the bundle, built on first use (removed when the process exits), or the sources. */
function teguEntry(): string[] {
  if (process.env.TEGU_BENCH_FROM_SOURCE === '1') return ['--import', 'tsx', join(ROOT, 'src/cli/main.ts')];
  if (!bundleDir) {
    const dir = mkdtempSync(join(tmpdir(), 'tegu-bench-build-'));
    execFileSync(process.execPath, [join(ROOT, 'scripts/build.mjs'), '--no-sea', '--out', dir], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    bundleDir = dir;
  }
  return [join(bundleDir, 'tegu.cjs')];
}

/** What `startTeguServe` runs, for the benchmarks' notes. */
export function teguServeWhat(): string {
  return process.env.TEGU_BENCH_FROM_SOURCE === '1' ? 'the sources through tsx (TEGU_BENCH_FROM_SOURCE=1)' : 'the bundle `npm run build` makes (node tegu.cjs), as it ships';
}

/** Starts `tegu serve` and waits until it is ready; stops it again and throws when it is not. */
export async function startTeguServe(opts: TeguServeOptions): Promise<TeguServe> {
  const port = await freePort(opts.host);
  const httpPort = await freePort(opts.host);
  const fd = openSync(opts.log, 'a');
  const argv = [
    ...(process.env.TEGU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.TEGU_PROF] : []),
    ...(opts.nodeFlags ?? []),
    ...(opts.preload ?? []).flatMap((m) => ['--import', m]),
    ...teguEntry(), 'serve',
    '--database', opts.url, '--data', opts.dataDir, '--node-name', opts.nodeName,
    opts.listen, `${opts.host}:${port}`, '--listen-http', `${opts.host}:${httpPort}`,
  ];
  const options = { cwd: ROOT, stdio: ['ignore', fd, fd] as ['ignore', number, number] };
  const child = opts.fds === undefined ? spawn(process.execPath, argv, options) : spawnWithFdLimit(opts.fds, process.execPath, argv, options);
  closeSync(fd);
  try {
    await waitHttpReady(child, opts.host, httpPort, opts.log);
  } catch (err) {
    await stopChild(child);
    throw err;
  }
  return { child, port, httpPort };
}

/** tegu serve (`pid`) and its descendants, and the PostgreSQL backends connected to `database`. */
export function teguServerPids(pid: number, database: string): number[] {
  const procs = listProcs();
  const backends = procs.filter((p) => p.comm === 'postgres' && cmdline(p.pid).includes(` ${database} `)).map((p) => p.pid);
  return [...withDescendants(procs, [pid]), ...backends];
}

/** tegu serve (`pid`) and its descendants alone. */
export function teguNodePids(pid: number): number[] {
  return withDescendants(listProcs(), [pid]);
}

/** "server CPU per message: 1.23 ms in tegu serve, 0.45 ms in its PostgreSQL backends" from CPU seconds. */
export function cpuSplit(per: string, nodeSeconds: number, allSeconds: number, count: number): string {
  return (
    `server CPU per ${per}: ${((nodeSeconds * 1000) / count).toFixed(2)} ms in tegu serve, ` +
    `${(((allSeconds - nodeSeconds) * 1000) / count).toFixed(2)} ms in its PostgreSQL backends`
  );
}
