/**
 * The search indexer: every node runs one. It drains the queue of messages
 * waiting for their full-text index entry (store/search.ts, migrations/0003),
 * in batches, so storing a message never pays for building its tsvector.
 *
 * It wakes on the mailbox change hints (a delivery or append just queued
 * something), waits a moment so one batch covers a burst, and also runs every
 * FALLBACK_MS, since hints are best effort and another node's indexer may
 * have died mid-batch (its claim rolled back: the rows are queued again).
 * Indexing lags delivery by well under a second when the machine keeps up;
 * under a burst the queue grows and is worked off after it.
 */
import type { Database } from '../store/db.ts';
import { indexPendingSearch } from '../store/search.ts';
import { MAILBOX_CHANNEL } from './change-hints.ts';

export const SEARCH_BATCH = 200;
/** Wait after a hint before indexing, so a burst of deliveries is one batch. */
const SETTLE_MS = 200;
const FALLBACK_MS = 30_000;

export interface SearchIndexer {
  /** Indexes everything queued now (tests, shutdown); resolves with the count. */
  drain(): Promise<number>;
  stop(): Promise<void>;
}

export async function startSearchIndexer(db: Database, onError: (err: unknown) => void): Promise<SearchIndexer> {
  let stopped = false;
  let running: Promise<number> | undefined;
  let again = false;
  let timer: NodeJS.Timeout | undefined;

  const drainOnce = async (): Promise<number> => {
    let total = 0;
    for (;;) {
      const n = await indexPendingSearch(db, SEARCH_BATCH);
      total += n;
      if (n < SEARCH_BATCH || stopped) return total;
    }
  };
  // One drain at a time; a wake-up during a drain makes it go round once more.
  const run = (): Promise<number> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      let total = 0;
      try {
        do {
          again = false;
          total += await drainOnce();
        } while (again && !stopped);
      } catch (err) {
        onError(err);
      } finally {
        running = undefined;
      }
      return total;
    })();
    return running;
  };
  let due = 0;
  // Runs in `delay` ms unless a run is already due sooner (so a steady stream
  // of hints cannot keep pushing the run back).
  const schedule = (delay: number): void => {
    if (stopped) return;
    const at = Date.now() + delay;
    if (timer) {
      if (due <= at) return;
      clearTimeout(timer);
    }
    due = at;
    timer = setTimeout(() => {
      timer = undefined;
      void run().finally(() => schedule(FALLBACK_MS));
    }, delay);
    timer.unref();
  };

  const unlisten = await db.listen(MAILBOX_CHANNEL, () => schedule(SETTLE_MS));
  schedule(0); // whatever was queued while no node ran

  return {
    drain: run,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await unlisten();
      await running;
    },
  };
}
