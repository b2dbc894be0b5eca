/** tegu queue list|show|retry|hold|release|delete: the outbound queue (docs/queue.md). */
import {
  deleteQueued, holdQueued, listQueue, parseQueueId, retryQueued, showQueued, type QueueEntry,
} from '../../core/queue-admin.ts';
import { flag } from '../args.ts';
import { withCore } from '../database.ts';
import { emit, isoDate, listOutput } from '../output.ts';
import type { CommandGroup } from '../types.ts';

const entryJson = (e: QueueEntry) => ({
  id: e.messageId,
  recipientId: e.recipientId,
  from: e.mailFrom,
  to: e.address,
  status: e.status,
  attempts: e.attempts,
  size: e.size,
  received: e.receivedAt,
  nextAttempt: e.status === 'queued' ? e.nextAttemptAt : null,
  expires: e.expiresAt,
  last: e.lastCode === null && e.lastText === null ? null : { code: e.lastCode, status: e.lastStatus, text: e.lastText, host: e.lastHost, at: e.lastAttemptAt },
  node: e.leaseNode,
  session: e.sessionId,
  kind: e.kind,
});

const lastText = (e: QueueEntry): string =>
  e.lastText === null ? '' : `${e.lastCode ?? ''} ${e.lastStatus ?? ''} ${e.lastText}`.replace(/\s+/g, ' ').trim().slice(0, 80);

const ID = [{ name: 'ID' }];

export const queueCommands: CommandGroup = {
  name: 'queue',
  summary: 'inspect and manage the outbound mail queue',
  commands: [
    {
      name: 'list',
      summary: 'list queued and held recipients (with --history also delivered, failed and expired ones)',
      args: [],
      options: { history: { type: 'boolean', description: 'include finished deliveries (kept queue.historyDays days)' } },
      run: (inv) =>
        withCore(inv, async (ctx) => {
          const entries = await listQueue(ctx, { history: flag(inv.opts, 'history') });
          listOutput(
            inv,
            entries.map(entryJson),
            'recipients',
            ['ID', 'STATUS', 'FROM', 'TO', 'TRIES', 'NEXT', 'LAST RESULT'],
            entries.map((e) => [
              String(e.messageId), e.status, e.mailFrom || '<>', e.address, String(e.attempts),
              e.status === 'queued' ? isoDate(e.nextAttemptAt) : '-', lastText(e),
            ]),
          );
        }),
    },
    {
      name: 'show',
      summary: 'show one queued message and each of its recipients',
      args: ID,
      run: (inv) =>
        withCore(inv, async (ctx) => {
          const entries = await showQueued(ctx, parseQueueId(inv.args[0]!));
          const first = entries[0]!;
          const lines = [
            `message ${first.messageId} (${first.kind}) from ${first.mailFrom || '<>'}, ${first.size} octets, session ${first.sessionId || '-'}`,
            `received ${isoDate(first.receivedAt)}, expires ${isoDate(first.expiresAt)}`,
            ...entries.map(
              (e) =>
                `  ${e.address}: ${e.status}, ${e.attempts} attempt(s)` +
                (e.status === 'queued' ? `, next ${isoDate(e.nextAttemptAt)}` : '') +
                (e.lastText === null ? '' : `; last: ${lastText(e)}${e.lastHost ? ` (${e.lastHost})` : ''}`),
            ),
          ];
          emit(inv, { id: first.messageId, recipients: entries.map(entryJson) }, lines.join('\n'));
        }),
    },
    {
      name: 'retry',
      summary: 'try a message again now (ID, or "all" for every waiting message)',
      args: ID,
      run: (inv) =>
        withCore(inv, async (ctx) => {
          const id = inv.args[0] === 'all' ? 'all' : parseQueueId(inv.args[0]!);
          const n = await retryQueued(ctx, id);
          emit(inv, { retried: n }, `${n} recipient(s) due now`);
        }),
    },
    {
      name: 'hold',
      summary: 'keep a message in the queue without delivering it until released',
      args: ID,
      run: (inv) =>
        withCore(inv, async (ctx) => {
          const n = await holdQueued(ctx, parseQueueId(inv.args[0]!), true);
          emit(inv, { held: n }, `${n} recipient(s) held`);
        }),
    },
    {
      name: 'release',
      summary: 'release a held message: it is delivered now',
      args: ID,
      run: (inv) =>
        withCore(inv, async (ctx) => {
          const n = await holdQueued(ctx, parseQueueId(inv.args[0]!), false);
          emit(inv, { released: n }, `${n} recipient(s) released`);
        }),
    },
    {
      name: 'delete',
      summary: 'delete a message from the queue without a bounce',
      args: ID,
      run: (inv) =>
        withCore(inv, async (ctx) => {
          const id = parseQueueId(inv.args[0]!);
          await deleteQueued(ctx, id);
          emit(inv, { deleted: id }, `deleted message ${id}`);
        }),
    },
  ],
};
