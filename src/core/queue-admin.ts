/**
 * What an administrator does with the outbound queue (`tegu queue ...`, the
 * admin API later): list, show, retry now, hold, release, delete. A kick on
 * the queue channel wakes the workers of every node after a change.
 */
import { InvalidInputError, NotFoundError } from '../lib/errors.ts';
import { notifyAll } from '../store/ops.ts';
import * as store from '../store/queue.ts';
import type { CoreContext } from './context.ts';
import { QUEUE_CHANNEL } from './deliver.ts';

export type QueueEntry = store.QueueEntry;
export type QueueMessageId = store.QueueMessageId;

/** "12" -> a message id; anything else is an input error. */
export function parseQueueId(text: string): QueueMessageId {
  if (!/^[1-9][0-9]{0,17}$/.test(text)) throw new InvalidInputError(`not a queue message id: ${JSON.stringify(text)}`);
  return Number(text) as QueueMessageId;
}

export function listQueue(ctx: CoreContext, opts: { history?: boolean; limit?: number } = {}): Promise<QueueEntry[]> {
  return store.listQueue(ctx.db, opts);
}

export async function showQueued(ctx: CoreContext, id: QueueMessageId): Promise<QueueEntry[]> {
  const entries = await store.messageEntries(ctx.db, id);
  if (entries.length === 0) throw new NotFoundError(`no queued message ${id}`);
  return entries;
}

async function kick(ctx: CoreContext): Promise<void> {
  await notifyAll(ctx.db, QUEUE_CHANNEL, ['']).catch(() => undefined);
}

/** Makes the waiting recipients of one message (or all) due now; returns how many. */
export async function retryQueued(ctx: CoreContext, id: QueueMessageId | 'all'): Promise<number> {
  const n = await store.retryNow(ctx.db, id);
  if (n === 0 && id !== 'all') await showQueued(ctx, id); // NotFound when there is no such message
  await kick(ctx);
  return n;
}

export async function holdQueued(ctx: CoreContext, id: QueueMessageId, held: boolean): Promise<number> {
  const n = await store.setHeld(ctx.db, id, held);
  if (n === 0) await showQueued(ctx, id);
  if (!held) await kick(ctx);
  return n;
}

export async function deleteQueued(ctx: CoreContext, id: QueueMessageId): Promise<void> {
  if (!(await store.deleteQueued(ctx.db, id))) throw new NotFoundError(`no queued message ${id}`);
}
