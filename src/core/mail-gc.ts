/**
 * Housekeeping of message storage, for a periodic janitor on any node (safe
 * to run on several at once):
 *
 *  - collectGarbageBlobs: deletes blobs no message references any more,
 *    checking the queue expunges and mailbox deletions fill (store/blob-gc.ts
 *    explains why this is safe against a concurrent delivery reusing a blob);
 *  - sweepUnreferencedBlobs: queues unreferenced blobs nobody queued (accounts
 *    deleted with their messages); an occasional full pass;
 *  - pruneJournal: drops old change-journal rows; expunge tombstones are kept
 *    longer (QRESYNC) and their pruning is recorded in tombstone_floor
 *    (store/journal-prune.ts).
 */
import type { Database } from '../store/db.ts';
import { collectBlobs, queueUnreferencedBlobs } from '../store/blob-gc.ts';
import { mailboxesWithOldChanges, pruneMailboxChanges } from '../store/journal-prune.ts';

export interface BlobCollection {
  deleted: number;
  /** Still queued because a transaction was using them. */
  busy: number;
}

/**
 * Runs collector batches (each its own short transaction) until the queue has
 * no entry older than `minAgeSeconds` left to look at, or `maxBatches` ran.
 */
export async function collectGarbageBlobs(
  db: Database,
  opts: { minAgeSeconds?: number; batchSize?: number; maxBatches?: number } = {},
): Promise<BlobCollection> {
  const minAge = opts.minAgeSeconds ?? 3600;
  const batch = opts.batchSize ?? 500;
  const total: BlobCollection = { deleted: 0, busy: 0 };
  for (let i = 0; i < (opts.maxBatches ?? 100); i++) {
    const r = await db.transaction((tx) => collectBlobs(tx, minAge, batch));
    total.deleted += r.deleted;
    total.busy += r.busy;
    // Busy rows stay queued and would be claimed again: stop when a batch only found those.
    if (r.claimed < batch || r.claimed === r.busy) break;
  }
  return total;
}

/** A full pass over the blobs, queueing the unreferenced ones; returns how many were queued. */
export async function sweepUnreferencedBlobs(db: Database, opts: { batchSize?: number } = {}): Promise<number> {
  let after = 0;
  let queued = 0;
  for (;;) {
    const r = await queueUnreferencedBlobs(db, after, opts.batchSize ?? 1000);
    queued += r.queued;
    if (r.lastId === null) return queued;
    after = r.lastId;
  }
}

export interface JournalPolicy {
  /** Keep expunge tombstones this long (QRESYNC clients offline longer get a superset VANISHED). Default 30 days. */
  tombstoneSeconds?: number;
  /** Keep 'append' and 'flags' rows this long (nothing depends on them for correctness). Default 1 day. */
  changeSeconds?: number;
  /** Mailboxes per pass. */
  maxMailboxes?: number;
}

/** Prunes the change journal by the policy; returns how many rows went. */
export async function pruneJournal(db: Database, policy: JournalPolicy = {}): Promise<number> {
  const tombstone = policy.tombstoneSeconds ?? 30 * 86400;
  const change = policy.changeSeconds ?? 86400;
  let pruned = 0;
  for (const id of await mailboxesWithOldChanges(db, Math.min(tombstone, change), policy.maxMailboxes ?? 1000)) {
    pruned += await pruneMailboxChanges(db, id, tombstone, change);
  }
  return pruned;
}
