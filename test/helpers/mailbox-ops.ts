/** Shared setup and invariants for the mailbox/message operation tests. */
import assert from 'node:assert/strict';
import { addAccount } from '../../src/core/accounts.ts';
import { appendMessage, type SystemFlag } from '../../src/core/append.ts';
import type { CoreContext } from '../../src/core/context.ts';
import { getMailboxByName } from '../../src/core/mailboxes.ts';
import type { AccountId, MailboxId, Uid } from '../../src/lib/ids.ts';
import type { Database } from '../../src/store/db.ts';

let seq = 0;

export async function newAccount(ctx: CoreContext, name = 'user'): Promise<AccountId> {
  const a = await addAccount(ctx, { address: `${name}-${process.pid}-${++seq}@ops.test`, password: 'long enough password', createDomain: true });
  return a.id;
}

export async function mailboxId(ctx: CoreContext, accountId: AccountId, name: string): Promise<MailboxId> {
  return (await getMailboxByName(ctx, accountId, name)).id;
}

export function rawMessage(subject: string, body = `Body of ${subject}.\r\n`): Buffer {
  return Buffer.from(`From: a@ops.test\r\nTo: b@ops.test\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}.${++seq}@ops.test>\r\n\r\n${body}`);
}

/** Appends `n` distinct messages; returns their UIDs. */
export async function fill(db: Database, box: MailboxId, n: number, prefix = 'm', flags: SystemFlag[] = []): Promise<Uid[]> {
  const uids: Uid[] = [];
  for (let i = 0; i < n; i++) uids.push((await appendMessage(db, { mailboxId: box, raw: rawMessage(`${prefix}${i}`), flags })).uid);
  return uids;
}

/**
 * The quota invariant of migration 0002, for every mailbox in the database:
 * message_count = count(messages), total_size = sum(size); and every UID is
 * below uid_next, every modseq at most highest_modseq.
 */
export async function assertCountersExact(db: Database): Promise<void> {
  const bad = await db.query(
    `SELECT mb.id, mb.message_count, mb.total_size, count(m.id) AS n, coalesce(sum(m.size), 0) AS bytes,
            coalesce(max(m.uid), 0) AS max_uid, mb.uid_next, coalesce(max(m.modseq), 0) AS max_modseq, mb.highest_modseq
       FROM mailboxes mb LEFT JOIN messages m ON m.mailbox_id = mb.id
      GROUP BY mb.id
     HAVING mb.message_count <> count(m.id) OR mb.total_size <> coalesce(sum(m.size), 0)
         OR coalesce(max(m.uid), 0) >= mb.uid_next OR coalesce(max(m.modseq), 0) > mb.highest_modseq`,
  );
  assert.deepEqual([...bad], [], 'mailbox counters equal count/sum of messages, uid < uid_next, modseq <= highest_modseq');
}

/** The journal rows of a mailbox, oldest first, as [kind, uid, modseq]. */
export async function journal(db: Database, box: MailboxId): Promise<[string, number, bigint][]> {
  const rows = await db.query<{ kind: string; uid: string; modseq: string }>(
    'SELECT kind, uid, modseq FROM mailbox_changes WHERE mailbox_id = $1 ORDER BY id',
    [box],
  );
  return rows.map((r) => [r.kind, Number(r.uid), BigInt(r.modseq)]);
}

/** Waits until `pred` holds (NOTIFY arrives asynchronously). */
export async function eventually(pred: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
