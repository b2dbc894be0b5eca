/**
 * The reference stack of ../shared/reference (Postfix, Dovecot) as the
 * benchmarks use it: started with its start.sh when nothing listens on the
 * benchmark's port (and then stopped again with stop.sh by whoever started
 * it), its master pid files, and program versions for the notes.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { portOpen, ROOT, say, sleep } from './harness.ts';

const execFileAsync = promisify(execFile);

export const POSTFIX_PID = '/tmp/tegu-ref-postfix-queue/pid/master.pid';
export const DOVECOT_PID = '/tmp/tegu-ref-dovecot/master.pid';
/** Users u1..u200@example.test, password "pass" (the reference's README). */
export const REFERENCE_USERS = 200;
/** The reference's mail domain; the benchmarks give TEGU's users the same addresses. */
export const DOMAIN = 'example.test';

/** What the SMTP and IMAP benchmarks measure: TEGU, and the reference stack beside it. */
export type TargetName = 'tegu' | 'reference';
export const TARGETS: readonly TargetName[] = ['tegu', 'reference'];

/** --reference-dir as given, else ../shared/reference beside the repository. */
export function referenceDirOf(value: string | undefined): string {
  return resolve(value ?? join(ROOT, '..', 'shared', 'reference'));
}

/**
 * Runs a reference script; output is captured (its daemons keep none of our
 * pipes). With `timeoutMs` the script is killed when it runs longer.
 */
export function runScript(script: string, timeoutMs?: number): Promise<{ code: number; output: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(script, [], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    child.on('error', (err) => {
      clearTimeout(timer);
      resolvePromise({ code: -1, output: `${output}${err.message}\n` });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? -1, output });
    });
  });
}

/** Starts the reference stack unless something already listens on host:port; true when we started it. */
export async function ensureReference(host: string, port: number, referenceDir: string, timeoutMs?: number): Promise<boolean> {
  if (await portOpen(host, port)) return false;
  const script = join(referenceDir, 'start.sh');
  if (!existsSync(script)) throw new Error(`nothing listens on ${host}:${port} and ${script} does not exist`);
  say(`reference: nothing on ${host}:${port}; running ${script} (installs Debian packages the first time)...`);
  for (let attempt = 1; ; attempt++) {
    const { code, output } = await runScript(script, timeoutMs);
    if (code === 0 && (await portOpen(host, port))) return true;
    // Another apt-get on this machine holds the dpkg lock: wait for it (up to about 5 minutes).
    if (code !== 0 && /Could not get lock|dpkg frontend lock/.test(output) && attempt < 20) {
      say(`reference: dpkg is locked by another installer; retrying in 15 s (attempt ${attempt})`);
      await sleep(15_000);
      continue;
    }
    const lastLines = output.trimEnd().split('\n').slice(-10).join('\n');
    throw new Error(code === 0 ? `${script} succeeded but nothing listens on ${host}:${port}` : `${script} exited with code ${code}:\n${lastLines}`);
  }
}

/** Runs stop.sh of the reference stack (after ensureReference started it); a failure is said, not thrown. */
export async function stopReference(referenceDir: string): Promise<void> {
  const { code, output } = await runScript(join(referenceDir, 'stop.sh'));
  if (code !== 0) say(`reference: stop.sh exited with ${code}: ${output.trim()}`);
}

/** The pid in a daemon's pid file, or undefined. */
export function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The first line a command prints (a version), or "?". */
export async function versionOf(cmd: string, args: string[]): Promise<string> {
  try {
    return (await execFileAsync(cmd, args, { timeout: 5000 })).stdout.trim().split('\n')[0] ?? '?';
  } catch {
    return '?';
  }
}
