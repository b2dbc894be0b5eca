/**
 * The remote MTA of the outbound benchmarks: a minimal SMTP server on a free
 * loopback port that takes every message and counts what arrives, in a child
 * process of its own (this file run with `--run ID`, see child.ts), so that
 * its CPU is neither the benchmark's nor the server's under test.
 *
 * It speaks just enough RFC 5321 for an MTA's client: EHLO offers
 * PIPELINING (RFC 2920, replies to a pipelined group go out in one write),
 * 8BITMIME (RFC 6152) and SIZE (RFC 1870); no STARTTLS, no AUTH; MAIL, RCPT,
 * DATA, RSET, NOOP, QUIT; every MAIL and RCPT gets 250 and every message 250.
 * A message of the run carries `Subject: q-<run>-<n>`: the sink counts the
 * distinct n, the copies beyond the first (duplicates) and messages without
 * such a Subject (foreign), with the time of the first and of the latest new
 * arrival on the epoch clock (epochMs(), comparable across processes).
 *
 * Child protocol: `LISTENING <port>` once, then `PROGRESS <json counts>` at
 * most every 100 ms while counts change; the line `STOP` (or the end of
 * stdin: the parent is gone) closes every connection and ends with the
 * RESULT line.
 */
import type { ChildProcess } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import { resolve as resolvePath } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runChildScript, writeResult } from './child.ts';
import { HOST, sleep } from './harness.ts';

const SELF = fileURLToPath(import.meta.url);
const PROGRESS_MS = 100;
/** A command line longer than this (RFC 5321 4.5.3.1.4 allows 512 octets) drops the connection. */
const MAX_LINE = 4096;
/** Advertised SIZE (RFC 1870): larger than any benchmark message. */
const MAX_SIZE = 1024 * 1024 * 1024;
const EMPTY_MESSAGE = Buffer.from('.\r\n');

/** Milliseconds since the epoch with sub-millisecond resolution: the sink's and the benchmark's clock. */
export const epochMs = (): number => performance.timeOrigin + performance.now();

export interface SinkCounts {
  /** Messages taken (final 250), whatever their Subject. */
  received: number;
  /** Distinct `q-<run>-<n>` subjects. */
  distinct: number;
  /** Copies of the run's messages beyond the first of each. */
  duplicates: number;
  /** Messages without a Subject of this run. */
  foreign: number;
  /** epochMs() of the first and of the latest new distinct message. */
  firstAt?: number;
  lastAt?: number;
}

export interface SinkResult extends SinkCounts {
  connections: number;
  /** Message bytes taken (as received, dot-stuffed). */
  bytes: number;
  /** The sink process's own CPU time (user + system). */
  cpuSeconds: number;
}

export interface Sink {
  port: number;
  /** The latest counts the child reported. */
  counts(): SinkCounts;
  /**
   * Resolves when `count` distinct messages arrived (true), or when none came
   * for `idleMs` since the call or the last arrival the parent saw (false).
   */
  waitFor(count: number, idleMs: number): Promise<boolean>;
  /** Ends the child and resolves with its final figures (again the same when called again). */
  stop(): Promise<SinkResult>;
}

const noCounts = (): SinkCounts => ({ received: 0, distinct: 0, duplicates: 0, foreign: 0 });

/** Starts a fresh sink child for run `runId` and resolves once it listens on HOST. */
export function startSink(runId: string): Promise<Sink> {
  let counts = noCounts();
  let changedAt = performance.now();
  let child: ChildProcess | undefined;
  let stopping: Promise<SinkResult> | undefined;
  return new Promise<Sink>((resolve, reject) => {
    const done = runChildScript<SinkResult>(SELF, ['--run', runId], 'sink', {
      stdin: true,
      onLine: (line, c) => {
        child = c;
        if (line.startsWith('PROGRESS ')) {
          counts = JSON.parse(line.slice(9)) as SinkCounts;
          changedAt = performance.now();
        } else if (line.startsWith('LISTENING ')) {
          resolve({
            port: Number(line.slice(10)),
            counts: () => counts,
            async waitFor(count, idleMs) {
              const since = performance.now();
              for (;;) {
                if (counts.distinct >= count) return true;
                if (performance.now() - Math.max(since, changedAt) > idleMs) return false;
                await sleep(PROGRESS_MS / 2);
              }
            },
            stop() {
              if (!stopping) {
                // A child that is gone already makes the write fail: done tells why.
                child?.stdin?.on('error', () => {});
                child?.stdin?.end('STOP\n');
                stopping = done;
              }
              return stopping;
            },
          });
        } else {
          console.error(`sink: ${line}`);
        }
      },
    });
    // Before LISTENING this fails the start; afterwards stop() reports it.
    done.catch(reject);
  });
}

// ---- the child: the SMTP server

interface Tally extends SinkCounts {
  connections: number;
  bytes: number;
  seen: Map<number, number>;
}

/** The reply lines of one command line (without CRLF), and what follows it. */
function answer(line: string): { reply: string; data?: true; quit?: true } {
  const verb = (/^\S*/.exec(line)?.[0] ?? '').toUpperCase();
  switch (verb) {
    case 'EHLO':
      return { reply: `250-sink.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE ${MAX_SIZE}` };
    case 'HELO':
      return { reply: '250 sink.test' };
    case 'MAIL':
    case 'RCPT':
    case 'RSET':
    case 'NOOP':
      return { reply: '250 ok' };
    case 'DATA':
      return { reply: '354 end with <CRLF>.<CRLF>', data: true };
    case 'QUIT':
      return { reply: '221 bye', quit: true };
    default:
      return { reply: '502 command not implemented' };
  }
}

/** One connection: commands, replies in order (a pipelined group in one write), message bodies. */
function serveConnection(socket: Socket, tally: Tally, subject: RegExp): void {
  socket.setNoDelay(true);
  tally.connections++;
  let buf: Buffer = Buffer.alloc(0);
  let inData = false;
  /** Where the search for the end of the message goes on (the terminator may span chunks). */
  let scanFrom = 0;

  const take = (msg: Buffer): void => {
    tally.received++;
    tally.bytes += msg.length;
    const end = msg.indexOf('\r\n\r\n');
    const m = subject.exec(`\r\n${msg.toString('latin1', 0, end < 0 ? msg.length : end + 2)}`);
    if (!m) {
      tally.foreign++;
      return;
    }
    const n = Number(m[1]);
    const copies = (tally.seen.get(n) ?? 0) + 1;
    tally.seen.set(n, copies);
    if (copies > 1) {
      tally.duplicates++;
      return;
    }
    tally.distinct++;
    tally.lastAt = epochMs();
    tally.firstAt ??= tally.lastAt;
  };

  socket.on('data', (chunk: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    let out = '';
    let quit = false;
    while (buf.length && !quit) {
      if (inData) {
        // RFC 5321 4.1.1.4: the message ends with CRLF "." CRLF; an empty one is "." CRLF at once.
        const end = buf.subarray(0, 3).equals(EMPTY_MESSAGE) ? -2 : buf.indexOf('\r\n.\r\n', scanFrom);
        if (end === -1) {
          scanFrom = Math.max(0, buf.length - 4);
          break;
        }
        take(buf.subarray(0, end + 2));
        buf = buf.subarray(end + 5);
        inData = false;
        scanFrom = 0;
        out += '250 ok\r\n';
        continue;
      }
      const eol = buf.indexOf('\n');
      if (eol < 0) {
        if (buf.length > MAX_LINE) socket.destroy();
        break;
      }
      const line = buf.toString('latin1', 0, eol).replace(/\r$/, '');
      buf = buf.subarray(eol + 1);
      const a = answer(line);
      out += `${a.reply}\r\n`;
      if (a.data) inData = true;
      if (a.quit) quit = true;
    }
    if (out) socket.write(out);
    if (quit) socket.end();
  });
  socket.on('error', () => socket.destroy());
}

async function runSinkProcess(runId: string): Promise<void> {
  const tally: Tally = { ...noCounts(), connections: 0, bytes: 0, seen: new Map() };
  const escaped = runId.replace(/[^A-Za-z0-9]/g, (c) => `\\${c}`);
  const subject = new RegExp(`\\r\\nSubject: q-${escaped}-(\\d+)\\r\\n`, 'i');
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.write('220 sink.test ESMTP benchmark sink\r\n');
    serveConnection(socket, tally, subject);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, () => resolve());
  });
  const addr = server.address();
  process.stdout.write(`LISTENING ${typeof addr === 'object' && addr ? addr.port : 0}\n`);

  const counts = (): SinkCounts => {
    const { received, distinct, duplicates, foreign, firstAt, lastAt } = tally;
    return { received, distinct, duplicates, foreign, ...(firstAt !== undefined ? { firstAt, lastAt } : {}) };
  };
  let reported = '';
  const progress = setInterval(() => {
    const line = JSON.stringify(counts());
    if (line === reported) return;
    reported = line;
    process.stdout.write(`PROGRESS ${line}\n`);
  }, PROGRESS_MS);

  await new Promise<void>((resolve) => {
    const input = createInterface({ input: process.stdin });
    input.on('line', (line) => {
      if (line.trim() === 'STOP') resolve();
    });
    input.once('close', () => resolve());
  });
  clearInterval(progress);
  server.close();
  for (const s of sockets) s.destroy();
  const cpu = process.cpuUsage();
  writeResult({ ...counts(), connections: tally.connections, bytes: tally.bytes, cpuSeconds: (cpu.user + cpu.system) / 1e6 } satisfies SinkResult);
  process.stdin.destroy();
}

// Run as a script (the child), not imported.
if (process.argv[1] !== undefined && resolvePath(process.argv[1]) === SELF) {
  const { values } = parseArgs({ args: process.argv.slice(2), options: { run: { type: 'string' } }, strict: true });
  if (!values.run) throw new Error('usage: sink.ts --run ID');
  await runSinkProcess(values.run);
}
