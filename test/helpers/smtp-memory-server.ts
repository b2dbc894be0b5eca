/**
 * Child process for test/smtp-abuse.test.ts: an SMTP server alone in its
 * process, so that its memory can be measured without the test runner's (and
 * earlier tests') allocations in the numbers.
 *
 *   node --import tsx test/helpers/smtp-memory-server.ts <embedded|postgres> <maxMessageBytes> [adminUrl]
 *
 * Protocol on stdio (one JSON object per line on stdout):
 *   -> {"type":"ready", port}           listening on 127.0.0.1:port, account alice@corp.test exists
 *      (the parent may now warm the server up with a small message)
 *   <- "baseline\n" on stdin             full garbage collection, then the baseline; sampling starts
 *   -> {"type":"baseline"}
 *   <- "probe\n"                         (any time, e.g. in the middle of a message)
 *   -> {"type":"probe", rss, heap, external}   the lowest of ten samples after full collections: what is retained
 *   <- "report <subject>\n"              after the parent got its reply
 *   -> {"type":"report", baseline, peak, stored}
 *      baseline, peak: { rss, heap (heapUsed), external (external + arrayBuffers) }, peak being
 *      the highest values sampled every 5 ms since the baseline;
 *      stored: { length, sha256 } of the stored message from its "Subject: <subject>" line on, or null
 *   <- "exit\n"                          closes everything and exits 0
 * Errors go to stderr and the exit code is 1.
 */
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { addAccount } from '../../src/core/accounts.ts';
import { getMailboxByName } from '../../src/core/mailboxes.ts';
import { createMailServices } from '../../src/core/mail-services.ts';
import { localDirectory } from '../../src/directory/local.ts';
import { createLogger } from '../../src/lib/log.ts';
import { startSmtpServer } from '../../src/protocols/smtp/server.ts';
import { listMessages, readMessageBytes } from '../../src/store/messages.ts';
import { embeddedEngine, postgresEngine, testContext } from './db.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const [engineArg, maxArg, url] = process.argv.slice(2);
if ((engineArg !== 'embedded' && engineArg !== 'postgres') || !maxArg || (engineArg === 'postgres' && !url)) {
  console.error('usage: smtp-memory-server.ts <embedded|postgres> <maxMessageBytes> [adminUrl]');
  process.exit(2);
}

function send(msg: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(msg)}\n`);
}

async function main(): Promise<void> {
  const t = await (engineArg === 'postgres' ? postgresEngine(url!) : embeddedEngine()).create();
  const ctx = testContext(t.db);
  const directory = localDirectory(t.db, { subaddressSeparator: () => '+' });
  const services = {
    ...createMailServices(t.db, directory),
    limits: () => ({ maxMessageBytes: Number(maxArg), maxRecipients: 100, allowPlaintextAuth: false }),
  };
  const account = await addAccount(ctx, { address: 'alice@corp.test', password: 'memory test password', createDomain: true });
  const server = await startSmtpServer({
    mode: 'mx',
    listen: { host: '127.0.0.1', port: 0 },
    hostname: 'mx.corp.test',
    services,
    log: createLogger({ level: 'fatal' }),
  });
  send({ type: 'ready', port: server.address.port });
  let baseline = process.memoryUsage();
  const peak = { rss: 0, heap: 0, external: 0 };
  const sample = (): void => {
    const m = process.memoryUsage();
    peak.rss = Math.max(peak.rss, m.rss);
    peak.heap = Math.max(peak.heap, m.heapUsed);
    peak.external = Math.max(peak.external, m.external + m.arrayBuffers);
  };
  let sampler: NodeJS.Timeout | undefined;

  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'baseline') {
      gc();
      await new Promise((r) => setTimeout(r, 100));
      gc();
      baseline = process.memoryUsage();
      sample();
      sampler = setInterval(sample, 5);
      send({ type: 'baseline' });
    } else if (line === 'probe') {
      sample();
      // ArrayBuffer backing stores are released by a background sweep after a collection, which lags on a
      // busy machine: collect a few times with pauses and report the lowest (what is really retained).
      let low: NodeJS.MemoryUsage | undefined;
      for (let i = 0; i < 10; i++) {
        gc();
        await new Promise((r) => setTimeout(r, 100));
        const m = process.memoryUsage();
        if (!low || m.heapUsed + m.external + m.arrayBuffers < low.heapUsed + low.external + low.arrayBuffers) low = m;
      }
      send({ type: 'probe', rss: low!.rss, heap: low!.heapUsed, external: low!.external + low!.arrayBuffers });
    } else if (line.startsWith('report ')) {
      sample();
      clearInterval(sampler);
      const subject = line.slice('report '.length);
      const box = await getMailboxByName(ctx, account.id, 'INBOX');
      let stored: { length: number; sha256: string } | null = null;
      for (const m of await listMessages(t.db, box.id)) {
        if (m.subject !== subject) continue;
        const bytes = (await readMessageBytes(t.db, m.id))!;
        const from = bytes.indexOf(`Subject: ${subject}\r\n`);
        if (from >= 0) stored = { length: bytes.length - from, sha256: createHash('sha256').update(bytes.subarray(from)).digest('hex') };
      }
      send({
        type: 'report',
        baseline: { rss: baseline.rss, heap: baseline.heapUsed, external: baseline.external + baseline.arrayBuffers },
        peak,
        stored,
      });
    } else if (line === 'exit') {
      break;
    }
  }
  clearInterval(sampler);
  await server.close();
  await t.drop();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
