/**
 * Child process for test/store-concurrency.test.ts: one "node" appending to a
 * mailbox through its own connection pool.
 *
 *   node --import tsx test/helpers/append-worker.ts <url> <mailboxId> <tag> <count> [parallel]
 *
 * Protocol on stdio (one JSON object per line on stdout):
 *   -> {"type":"ready"}           pool open and warm; waiting for the start barrier
 *   <- "go\n" on stdin            the barrier: the parent sends it to every worker at once
 *   -> {"type":"appended", subject, uid, modseq, at}   once per acknowledged append
 *   -> {"type":"done", startedAt, finishedAt}
 * Errors go to stderr and the exit code is 1.
 */
import { createInterface } from 'node:readline';
import { appendMessage } from '../../src/core/append.ts';
import type { MailboxId } from '../../src/lib/ids.ts';
import { openPostgres } from '../../src/store/postgres.ts';

const [url, mailboxArg, tag, countArg, parallelArg] = process.argv.slice(2);
if (!url || !mailboxArg || !tag || !countArg) {
  console.error('usage: append-worker.ts <url> <mailboxId> <tag> <count> [parallel]');
  process.exit(2);
}
const mailboxId = Number(mailboxArg) as MailboxId;
const count = Number(countArg);
const parallel = Number(parallelArg ?? 4);

function send(msg: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(msg)}\n`);
}

/** A distinct message per (tag, n): its own Subject, Message-ID and body, so no two share a blob. */
function rawMessage(tag: string, n: number): Buffer {
  return Buffer.from(
    [
      `From: writer-${tag.toLowerCase()}@example.com`,
      'To: shared@example.com',
      `Subject: writer ${tag} message ${n}`,
      `Message-ID: <${tag}-${n}-${process.pid}@append-worker.test>`,
      'Date: Mon, 02 Nov 2026 10:00:00 +0000',
      '',
      `Body of message ${n} from writer ${tag} (pid ${process.pid}).`,
      '',
    ].join('\r\n'),
  );
}

function waitForGo(): Promise<void> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: process.stdin });
    rl.on('line', (line) => {
      if (line.trim() === 'go') {
        resolve(); // before close(): 'close' fires synchronously and would reject
        rl.close();
      }
    });
    rl.on('close', () => reject(new Error('stdin closed before "go"')));
  });
}

const db = openPostgres({ url, max: parallel, applicationName: `tegu-append-worker-${tag}` });
try {
  // Open every connection of the pool before the barrier, so the race starts at "go".
  await Promise.all(Array.from({ length: parallel }, () => db.query('SELECT pg_sleep(0.05)')));
  const go = waitForGo();
  send({ type: 'ready' });
  await go;
  const startedAt = Date.now();
  let next = 1;
  // `parallel` appenders pull message numbers from one counter: always `parallel` in flight.
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next <= count) {
        const n = next++;
        const r = await appendMessage(db, { mailboxId, raw: rawMessage(tag, n) });
        send({ type: 'appended', subject: `writer ${tag} message ${n}`, uid: r.uid, modseq: r.modseq.toString(), at: Date.now() });
      }
    }),
  );
  send({ type: 'done', startedAt, finishedAt: Date.now() });
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  await db.close();
}
