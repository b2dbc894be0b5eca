/**
 * The outbound queue worker every node runs (docs/queue.md). It has no
 * state of its own: it claims due recipients of one domain at a time from
 * the database (store/queue.ts claimDue, FOR UPDATE SKIP LOCKED with a
 * lease), delivers them over one connection (deliver-batch.ts), records the
 * results and sends the reports they call for (notifications.ts).
 *
 * Wake-ups: a NOTIFY on the queue channel (something was queued or released,
 * on any node), a finished batch (a slot is free), and a timer set to the
 * next due time (retries, and the leases of a node that died), at most a
 * minute away. No fixed-interval polling while nothing is due.
 *
 * Limits: queue.concurrency batches (connections) at once per node, and
 * queue.domainConcurrency of them to one domain.
 */
import type { Logger } from '../lib/log.ts';
import type { DnsResolver } from '../mail/dns.ts';
import type { Database } from '../store/db.ts';
import { claimDue, finishAttempts, nextDueAt, renewLeases, type ClaimedRecipient } from '../store/queue.ts';
import { QUEUE_CHANNEL } from '../core/deliver.ts';
import { delayWarningDue, type BackoffOptions } from './backoff.ts';
import { ConnectionCache } from './connection-cache.ts';
import { deliverBatch, type BatchOptions, type RecipientResult } from './deliver-batch.ts';
import { sendReports, wantsDelayWarning } from './notifications.ts';
import type { RouteConfig } from './routes.ts';

/** Messages up to this size come with the claim (at most batch size x this in memory per batch). */
export const INLINE_BYTES = 32 * 1024;
/** While batches run, due work is looked for at least this often. */
const BUSY_RECHECK_MS = 1_000;

export interface QueueLimits {
  concurrency: number;
  domainConcurrency: number;
  /** queue.delayWarningHours in ms; 0: no delay warnings. */
  delayWarningMs: number;
  /** How long a claim holds (queue.leaseSeconds): longer than any one batch takes. */
  leaseSeconds: number;
  route: RouteConfig;
  requireTls: (domain: string) => boolean;
}

export interface QueueWorkerOptions {
  db: Database;
  /** This node's name (the lease holder). */
  node: string;
  hostname: string;
  resolver: DnsResolver;
  /** Read at every claim: settings changes apply at once. */
  limits: () => QueueLimits;
  deliverReport: (message: Buffer, to: string, eightBit: boolean) => Promise<void>;
  log: Logger;
  /** Recipients per batch (default 25): a long queue to one domain spreads over its connections. */
  batchSize?: number;
  /** Longest sleep while nothing is due (default 60 s). */
  maxSleepMs?: number;
  client?: BatchOptions['client'];
  backoff?: BackoffOptions;
  now?: () => Date;
}

export interface QueueWorker {
  /** Look for due work now. */
  kick(): void;
  /** Stops claiming; waits for running batches (their results are recorded). */
  stop(): Promise<void>;
}

export async function startQueueWorker(o: QueueWorkerOptions): Promise<QueueWorker> {
  const now = o.now ?? (() => new Date());
  const batchSize = o.batchSize ?? 25;
  const maxSleep = o.maxSleepMs ?? 60_000;
  const perDomain = new Map<string, number>();
  const connections = new ConnectionCache();
  const running = new Set<Promise<void>>();
  let active = 0;
  let stopped = false;
  let pumping = false;
  let again = false;
  let timer: NodeJS.Timeout | undefined;

  const runBatch = async (batch: ClaimedRecipient[]): Promise<void> => {
    const limits = o.limits();
    const open = new Map(batch.map((r) => [r.id, { id: r.id, attempt: r.attempt }]));
    // A batch may outlast its lease (a slow server, many messages): renew it while it runs.
    const renew = setInterval(() => {
      void renewLeases(o.db, [...open.values()], limits.leaseSeconds).catch((err: unknown) => o.log.warn({ err }, 'outbound lease renewal failed'));
    }, Math.max(1000, (limits.leaseSeconds * 1000) / 3));
    renew.unref();
    try {
      await deliverBatch(batch, {
        db: o.db,
        resolver: o.resolver,
        route: limits.route,
        hostname: o.hostname,
        requireTls: limits.requireTls,
        ...(o.client ? { client: o.client } : {}),
        ...(o.backoff ? { backoff: o.backoff } : {}),
        now,
        log: o.log,
        connections,
        onResults: async (results) => {
          markDelayWarnings(results, limits.delayWarningMs, now());
          const written = await finishAttempts(o.db, results);
          for (const r of results) {
            open.delete(r.id);
            o.log.info(
              { queueId: r.recipient.message.id, rcpt: r.recipient.address, status: r.status, code: r.code, host: r.host, attempt: r.attempt },
              r.status === 'delivered' ? 'outbound delivered' : r.status === 'queued' ? 'outbound deferred' : `outbound ${r.status}`,
            );
          }
          await sendReports(results, written, { db: o.db, hostname: o.hostname, deliverReport: o.deliverReport, log: o.log });
        },
      });
    } finally {
      clearInterval(renew);
    }
  };

  const pump = async (): Promise<void> => {
    if (pumping) {
      again = true;
      return;
    }
    pumping = true;
    try {
      do {
        again = false;
        while (!stopped) {
          const limits = o.limits();
          if (active >= limits.concurrency) break;
          const full = [...perDomain].filter(([, n]) => n >= limits.domainConcurrency).map(([d]) => d);
          const batch = await claimDue(o.db, o.node, limits.leaseSeconds, batchSize, full, INLINE_BYTES);
          if (batch.length === 0) break;
          const domain = batch[0]!.domain;
          active++;
          perDomain.set(domain, (perDomain.get(domain) ?? 0) + 1);
          const p = runBatch(batch)
            .catch((err: unknown) => o.log.error({ err, domain }, 'outbound batch failed: its recipients are retried when the lease ends'))
            .finally(() => {
              active--;
              const n = (perDomain.get(domain) ?? 1) - 1;
              if (n <= 0) perDomain.delete(domain);
              else perDomain.set(domain, n);
              running.delete(p);
              if (!stopped) void pump();
            });
          running.add(p);
        }
      } while (again && !stopped);
      // Busy: batches that finish pump again, and a plain timer catches what falls due meanwhile
      // (a query for the next due time per pump would double the claims' cost). Idle: sleep until due.
      if (!stopped) {
        if (active > 0) setTimer(BUSY_RECHECK_MS);
        else await arm();
      }
    } catch (err) {
      o.log.error({ err }, 'outbound queue: claiming failed');
      if (!stopped) setTimer(5_000);
    } finally {
      pumping = false;
    }
  };

  const setTimer = (ms: number): void => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      void pump();
    }, Math.max(10, Math.min(ms, maxSleep)));
    timer.unref();
  };

  const arm = async (): Promise<void> => {
    const at = await nextDueAt(o.db);
    setTimer(at === undefined ? maxSleep : at.getTime() - now().getTime() + 5);
  };

  const unlisten = await o.db.listen(QUEUE_CHANNEL, () => void pump());
  void pump();
  return {
    kick: () => void pump(),
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await unlisten().catch(() => undefined);
      await Promise.all(running);
      await connections.close();
    },
  };
}

/** Temporary failures that have waited long enough get one "delayed" report (RFC 3461 4.1 NOTIFY=DELAY). */
function markDelayWarnings(results: RecipientResult[], warnAfterMs: number, at: Date): void {
  for (const r of results) {
    if (r.status !== 'queued' || !wantsDelayWarning(r)) continue;
    if (delayWarningDue(r.recipient.message.receivedAt, at, warnAfterMs, r.recipient.delayNotified)) r.delayNotified = true;
  }
}
