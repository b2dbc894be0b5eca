/**
 * The housekeeping every node runs (all of it safe on several nodes at once:
 * each job claims its rows or is idempotent):
 *
 *  - stale spool rows of sessions that died mid-message (core/spool.ts), hourly;
 *  - blobs no message references any more (core/mail-gc.ts), every 10 minutes,
 *    and a full sweep for unqueued ones (accounts deleted with their mail) daily;
 *  - the change journal (old 'append'/'flags' rows after a day, expunge
 *    tombstones after 30 days), hourly;
 *  - the outbound queue's history (deliveries finished queue.historyDays ago,
 *    with their messages), hourly.
 *
 * Runs are spread: the first ones start shortly after boot, not all at once,
 * and a job never overlaps itself. A failure is reported and retried at the
 * next run.
 */
import type { Database } from '../store/db.ts';
import { pruneQueueHistory } from '../store/queue.ts';
import { purgeStaleSpool } from '../store/spool.ts';
import { loadSettings } from './settings.ts';
import { collectGarbageBlobs, pruneJournal, sweepUnreferencedBlobs } from './mail-gc.ts';
import { STALE_SPOOL_HOURS } from './spool.ts';

const MINUTE = 60_000;

export interface JanitorJob {
  name: string;
  everyMs: number;
  /** Delay of the first run after start. */
  firstMs: number;
  run(db: Database): Promise<unknown>;
}

export const JANITOR_JOBS: readonly JanitorJob[] = [
  { name: 'spool', everyMs: 60 * MINUTE, firstMs: 0, run: (db) => purgeStaleSpool(db, STALE_SPOOL_HOURS) },
  { name: 'blobs', everyMs: 10 * MINUTE, firstMs: 2 * MINUTE, run: (db) => collectGarbageBlobs(db) },
  { name: 'blob sweep', everyMs: 24 * 60 * MINUTE, firstMs: 30 * MINUTE, run: (db) => sweepUnreferencedBlobs(db) },
  { name: 'journal', everyMs: 60 * MINUTE, firstMs: 5 * MINUTE, run: (db) => pruneJournal(db) },
  {
    name: 'queue history',
    everyMs: 60 * MINUTE,
    firstMs: 7 * MINUTE,
    run: async (db) => pruneQueueHistory(db, (await loadSettings(db)).values['queue.historyDays']),
  },
];

/** Starts the jobs; returns a stop function that waits for running jobs to finish. */
export function startJanitor(
  db: Database,
  onError: (job: string, err: unknown) => void,
  jobs: readonly JanitorJob[] = JANITOR_JOBS,
): () => Promise<void> {
  let stopped = false;
  const timers = new Set<NodeJS.Timeout>();
  const running = new Set<Promise<unknown>>();
  const schedule = (job: JanitorJob, delay: number): void => {
    if (stopped) return;
    const t = setTimeout(() => {
      timers.delete(t);
      const p = job.run(db).catch((err: unknown) => {
        if (!stopped) onError(job.name, err);
      });
      running.add(p);
      void p.finally(() => {
        running.delete(p);
        schedule(job, job.everyMs);
      });
    }, delay);
    t.unref();
    timers.add(t);
  };
  for (const job of jobs) schedule(job, job.firstMs);
  return async () => {
    stopped = true;
    for (const t of timers) clearTimeout(t);
    timers.clear();
    await Promise.all(running);
  };
}
