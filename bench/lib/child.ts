/**
 * A benchmark's measuring side in a child process of its own (the script
 * itself, run again with `--import tsx` and internal flags), so its memory
 * and CPU stay apart from the parent's. The child ends with one line
 * `RESULT <json>` on stdout; every other stdout line goes to `onLine`
 * (by default printed), stderr passes through.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { ROOT, spawnWithFdLimit } from './harness.ts';

/** The child's side: the result line the parent waits for. */
export function writeResult(result: unknown): void {
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}

export interface ChildRunOptions {
  /** Open-file limit of the child (see spawnWithFdLimit); else the inherited one. */
  fds?: number;
  /** Whether the parent writes to the child's stdin (through `child.stdin` in onLine). */
  stdin?: boolean;
  /** Lines other than RESULT, in order (a returned promise is awaited before the next line and before the result). */
  onLine?: (line: string, child: ChildProcess) => void | Promise<void>;
}

/**
 * Runs `script args` in node with tsx and resolves with the RESULT of a child
 * that exited with 0; rejects with "<what> exited with code N" otherwise.
 */
export function runChildScript<T>(script: string, args: readonly string[], what: string, opts: ChildRunOptions = {}): Promise<T> {
  const argv = ['--import', 'tsx', script, ...args];
  const options = { cwd: ROOT, stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'inherit'] as ['pipe' | 'ignore', 'pipe', 'inherit'] };
  const child = opts.fds === undefined ? spawn(process.execPath, argv, options) : spawnWithFdLimit(opts.fds, process.execPath, argv, options);
  const onLine = opts.onLine ?? ((line: string): void => console.log(line));
  let result: T | undefined;
  let pending: Promise<void> = Promise.resolve();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line.startsWith('RESULT ')) result = JSON.parse(line.slice(7)) as T;
    else pending = pending.then(() => onLine(line, child));
  });
  return new Promise<T>((resolvePromise, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      void pending.then(() => {
        if (code === 0 && result !== undefined) resolvePromise(result);
        else reject(new Error(`${what} exited with code ${code}`));
      });
    });
  });
}
