/**
 * Server memory and CPU from /proc (Linux): proportional set size (PSS)
 * summed over a set of processes, so shared pages (libraries, PostgreSQL
 * shared buffers, Postfix's many smtpd processes) are counted once in total,
 * not once per process; and CPU time (user + system) used by the set while
 * sampled. Everything returns undefined where /proc is unreadable.
 */
import { readFileSync, readdirSync } from 'node:fs';

const KB = 1024;

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function field(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
  return m ? Number(m[1]) * KB : undefined;
}

/** PSS in bytes (needs read access to the process: same user or root). */
export function pss(pid: number): number | undefined {
  return field(read(`/proc/${pid}/smaps_rollup`), 'Pss');
}

/** Peak resident set size (VmHWM) in bytes. */
export function vmHwm(pid: number): number | undefined {
  return field(read(`/proc/${pid}/status`), 'VmHWM');
}

/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in these ticks. */
const TICKS_PER_SECOND = 100;

/** CPU seconds from /proc/<pid>/stat: the process's own (utime + stime) and its reaped children's (cutime + cstime). */
export function cpuSeconds(pid: number): { own: number; children: number; ppid: number } | undefined {
  const stat = read(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields after comm start at 3 (state): utime 14, stime 15, cutime 16, cstime 17 -> indexes 11..14.
  const n = (i: number): number => Number(f[i] ?? 0) / TICKS_PER_SECOND;
  return { own: n(11) + n(12), children: n(13) + n(14), ppid: Number(f[1]) };
}

export interface ProcInfo {
  pid: number;
  ppid: number;
  comm: string;
}

/** Every process: pid, parent pid, command name. */
export function listProcs(): ProcInfo[] {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  const out: ProcInfo[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const stat = read(`/proc/${name}/stat`);
    if (!stat) continue;
    // "pid (comm) state ppid ...": comm may contain spaces and parentheses.
    const close = stat.lastIndexOf(')');
    const rest = stat.slice(close + 2).split(' ');
    out.push({ pid: Number(name), ppid: Number(rest[1]), comm: stat.slice(stat.indexOf('(') + 1, close) });
  }
  return out;
}

/** The given pids and all their descendants, among `procs`. */
export function withDescendants(procs: readonly ProcInfo[], roots: readonly number[]): number[] {
  const children = new Map<number, number[]>();
  for (const p of procs) {
    const list = children.get(p.ppid);
    if (list) list.push(p.pid);
    else children.set(p.ppid, [p.pid]);
  }
  const seen = new Set<number>();
  const stack = roots.filter((pid) => procs.some((p) => p.pid === pid));
  while (stack.length) {
    const pid = stack.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return [...seen];
}

/** The command line as ps shows it (PostgreSQL backends rewrite theirs: "postgres: user db host(port) state"). */
export function cmdline(pid: number): string {
  return (read(`/proc/${pid}/cmdline`) ?? '').replace(/\0+/g, ' ').trim();
}

/**
 * Samples the summed PSS of a changing set of processes every `intervalMs`
 * and keeps the first (idle) and the peak value and the largest process count;
 * and the CPU time the set used between construction and stop(). A process
 * that exits between samples is counted through its parent's children time
 * when the parent is in the set (Postfix's and Dovecot's short-lived workers);
 * its last sampled time is then taken off so it is not counted twice.
 */
export class PssSampler {
  idle: number | undefined;
  peak: number | undefined;
  maxProcs = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly cpuFirst = new Map<number, number>();
  private readonly cpuLast = new Map<number, { total: number; ppid: number }>();

  constructor(
    private readonly pids: () => number[],
    intervalMs: number,
  ) {
    this.sample();
    this.idle = this.peak;
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  sample(): void {
    const pids = this.pids();
    let sum = 0;
    let n = 0;
    for (const pid of pids) {
      const c = cpuSeconds(pid);
      if (c) {
        if (!this.cpuFirst.has(pid)) this.cpuFirst.set(pid, c.own + c.children);
        this.cpuLast.set(pid, { total: c.own + c.children, ppid: c.ppid });
      }
      const v = pss(pid);
      if (v === undefined) continue;
      sum += v;
      n++;
    }
    if (n === 0) return;
    this.peak = Math.max(this.peak ?? 0, sum);
    this.maxProcs = Math.max(this.maxProcs, n);
  }

  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }

  /** CPU seconds (user + system) the sampled processes used while sampled. */
  cpuSeconds(): number {
    const alive = new Set(this.pids());
    let sum = 0;
    for (const [pid, last] of this.cpuLast) {
      sum += last.total - (this.cpuFirst.get(pid) ?? last.total);
      // Gone, and reaped by a parent we sample: the parent's children time holds all of it.
      if (!alive.has(pid) && this.cpuLast.has(last.ppid)) sum -= last.total;
    }
    return sum;
  }
}
