/**
 * Process and network plumbing shared by the benchmarks: free loopback
 * ports, waiting for a server, stopping
 * children, file-descriptor limits (read from /proc, raised for a child
 * through `ulimit -n` in /bin/sh before it execs), percentiles and a small
 * work pool.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

/** The only address the benchmarks contact (the reference stack and tegu serve listen there). */
export const HOST = '127.0.0.1';

export const MB = 1024 * 1024;

/** The repository root (bench/lib/../..). */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Progress lines go to stderr, so stdout holds the figures alone. */
export const say = (line: string): boolean => process.stderr.write(`${line}\n`);

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** The p-th percentile of ascending numbers (nearest rank); NaN when empty. */
export const percentile = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;

export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export function portOpen(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

export function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no output)';
  }
}

export const exited = (child: ChildProcess): boolean => child.exitCode !== null || child.signalCode !== null;

export async function stopChild(child: ChildProcess, timeoutMs = 20_000): Promise<void> {
  if (exited(child)) return;
  const done = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await done;
  clearTimeout(timer);
}

/** Waits until GET /readyz answers 200; throws with the log's tail when the child exits or time runs out. */
export async function waitHttpReady(child: ChildProcess, host: string, httpPort: number, log: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited(child)) throw new Error(`tegu serve exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${tail(log)}`);
    try {
      const res = await fetch(`http://${host}:${httpPort}/readyz`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`tegu serve not ready after ${timeoutMs / 1000} s:\n${tail(log)}`);
}

export interface FdLimit {
  soft: number;
  hard: number;
}

/** "Max open files" of a process from /proc/<pid>/limits (Infinity for unlimited). */
export function fdLimit(pid: number | 'self' = 'self'): FdLimit | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/limits`, 'utf8');
  } catch {
    return undefined;
  }
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text);
  if (!m) return undefined;
  const n = (s: string): number => (s === 'unlimited' ? Infinity : Number(s));
  return { soft: n(m[1]!), hard: n(m[2]!) };
}

/** A /proc/sys value as a string, or undefined. */
export function sysctl(path: string): string | undefined {
  try {
    return readFileSync(`/proc/sys/${path}`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * Spawns `command args` with its open-file limit raised to `fds`: /bin/sh
 * runs `ulimit -n fds` (soft and hard: works as root, or below the hard
 * limit), falling back to the hard limit, then execs the command, so the
 * child's pid is the command's. Check the result with fdLimit(child.pid).
 */
export function spawnWithFdLimit(fds: number, command: string, args: readonly string[], options: SpawnOptions): ChildProcess {
  const script = 'ulimit -n "$0" 2>/dev/null || ulimit -S -n "$(ulimit -H -n)" 2>/dev/null; exec "$@"';
  return spawn('/bin/sh', ['-c', script, String(fds), command, ...args], options);
}

/** Runs fn over items with at most `limit` in flight. */
export async function pool<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (i < items.length) {
        const k = i++;
        await fn(items[k]!, k);
      }
    }),
  );
}

/** Runs each named target in turn: a failure is printed to stderr and kept, and the next target still runs. */
export async function runTargets<N extends string, R>(
  names: readonly N[],
  run: (name: N) => Promise<R>,
): Promise<{ results: R[]; failures: { target: N; error: string }[] }> {
  const results: R[] = [];
  const failures: { target: N; error: string }[] = [];
  for (const target of names) {
    try {
      results.push(await run(target));
    } catch (err) {
      const error = errorText(err);
      failures.push({ target, error });
      console.error(`${target}: ${error}`);
    }
  }
  return { results, failures };
}
