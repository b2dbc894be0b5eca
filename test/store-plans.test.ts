/**
 * Query plans of the statements that take a UID set (and of the search
 * indexer's batch), on both engines, under
 * the generic plans every PostgreSQL connection uses (plan_cache_mode =
 * force_generic_plan, store/postgres.ts): a STORE, COPY or MOVE of one
 * message must read that message, not the whole mailbox. As a plain join on
 * `uid BETWEEN r.lo AND r.hi` the generic plan read every message of the
 * mailbox (a bitmap scan on mailbox_id), so one STORE in a mailbox of
 * 100,000 messages cost 100,000 rows. The indexer's claim, as a join, read
 * every message older than the queued ones at each batch.
 *
 * Each statement is run by EXPLAIN ANALYZE inside a transaction that is
 * rolled back, so nothing changes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CoreContext } from '../src/core/context.ts';
import type { AccountId, MailboxId } from '../src/lib/ids.ts';
import { getMailbox } from '../src/store/mailboxes.ts';
import { COPY_SQL, MOVE_SQL } from '../src/store/copy-move.ts';
import type { Tx } from '../src/store/db.ts';
import { STORE_SQL } from '../src/store/flags.ts';
import { searchStatement } from '../src/store/message-search.ts';
import { INDEX_PENDING_SQL, indexPendingSearch } from '../src/store/search.ts';
import { storeFlags } from '../src/core/message-flags.ts';
import { engines, testContext, type TestDb } from './helpers/db.ts';
import { fill, mailboxId, newAccount } from './helpers/mailbox-ops.ts';

const MESSAGES = 120;
/** Messages of another mailbox, so that the table is not just the one mailbox. */
const BULK = 5000;
/** Messages appended after those, waiting for the search indexer. */
const PENDING = 3;
const SCANS = new Set(['Seq Scan', 'Index Scan', 'Index Only Scan', 'Bitmap Heap Scan', 'Tid Scan']);

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  Plans?: PlanNode[];
}

/** Rows the scans of `messages` produced or filtered out, over all loops. */
function messageRowsRead(node: PlanNode): number {
  let n = 0;
  if (SCANS.has(node['Node Type']) && node['Relation Name'] === 'messages') {
    const loops = node['Actual Loops'] ?? 1;
    n += ((node['Actual Rows'] ?? 0) + (node['Rows Removed by Filter'] ?? 0) + (node['Rows Removed by Index Recheck'] ?? 0)) * loops;
  }
  for (const c of node.Plans ?? []) n += messageRowsRead(c);
  return n;
}

/** EXPLAIN ANALYZE of `sql` with `args` (SQL literals) as a generic plan, in a transaction rolled back. */
async function generic(tx: Tx, sql: string, args: string): Promise<PlanNode> {
  await tx.query('SET LOCAL plan_cache_mode = force_generic_plan');
  await tx.query(`PREPARE plan_probe AS ${sql}`);
  try {
    const rows = await tx.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE plan_probe(${args})`);
    const raw = rows[0]!['QUERY PLAN'];
    const doc = (typeof raw === 'string' ? JSON.parse(raw) : raw) as { Plan: PlanNode }[];
    return doc[0]!.Plan;
  } finally {
    await tx.query('DEALLOCATE plan_probe');
  }
}

/** Parameters as SQL literals for EXECUTE. */
function literals(params: readonly unknown[]): string {
  return params.map((p) => (typeof p === 'number' || typeof p === 'bigint' ? String(p) : `'${String(p).replace(/'/g, "''")}'`)).join(', ');
}

class Rollback extends Error {}

async function rowsRead(t: TestDb, sql: string, args: string): Promise<number> {
  let read = -1;
  await t.db
    .transaction(async (tx) => {
      read = messageRowsRead(await generic(tx, sql, args));
      throw new Rollback();
    })
    .catch((err: unknown) => {
      if (!(err instanceof Rollback)) throw err;
    });
  return read;
}

for (const engine of engines()) {
  describe(`plans of UID-set statements (${engine.name})`, () => {
    let t: TestDb;
    let ctx: CoreContext;
    let alice: AccountId;
    let inbox: MailboxId;
    let archive: MailboxId;

    before(async () => {
      t = await engine.create();
      ctx = testContext(t.db);
      alice = await newAccount(ctx, 'plans');
      inbox = await mailboxId(ctx, alice, 'INBOX');
      archive = await mailboxId(ctx, alice, 'Archive');
      await fill(t.db, inbox, MESSAGES, 'plan');
      // The table must be much larger than the mailbox, as on a real server (on a table that is
      // one mailbox a sequential scan is the right plan). Copies of one row, straight in SQL: only
      // the plans matter here, not the other account's counters.
      const other = await mailboxId(ctx, await newAccount(ctx, 'bulk'), 'INBOX');
      await t.db.query(
        `INSERT INTO messages(mailbox_id, uid, modseq, blob_id, header_prefix, size, internal_date, seen, answered, flagged, deleted, draft,
                              keywords, subject, from_address, message_id, sent_at, envelope, bodystructure)
         SELECT $1, g, 1, blob_id, header_prefix, size, internal_date, seen, answered, flagged, deleted, draft,
                keywords, subject, from_address, message_id, sent_at, envelope, bodystructure
           FROM messages, generate_series(1, $2::int) AS g
          WHERE mailbox_id = $3 AND uid = 1`,
        [other, BULK, inbox],
      );
      // Statistics taken while the search queue is long (as after a burst of deliveries), then the
      // queue emptied but for a few messages newer than every other one.
      await t.db.query('ANALYZE');
      assert.equal(await indexPendingSearch(t.db, 1000), MESSAGES);
      await fill(t.db, inbox, PENDING, 'late');
    });
    after(async () => t.drop());

    it('STORE of one UID reads that message, not the mailbox', async () => {
      const uid = MESSAGES / 2;
      for (const [op, seen] of [['add', true], ['remove', true], ['replace', false]] as const) {
        const read = await rowsRead(t, STORE_SQL[op], `${inbox}, '{${uid}}', '{${uid}}', ${alice}, NULL, ${seen}, false, false, false, false, '{}'`);
        assert.ok(read > 0 && read <= 4, `STORE ${op}: ${read} message rows read for one UID`);
      }
    });

    it('STORE of two short ranges reads only them', async () => {
      const read = await rowsRead(t, STORE_SQL.add, `${inbox}, '{10,100}', '{12,101}', ${alice}, NULL, true, false, false, false, false, '{}'`);
      assert.ok(read >= 5 && read <= 12, `${read} message rows read for five UIDs`);
    });

    it('COPY and MOVE of one UID read that message, not the mailbox', async () => {
      const target = (await getMailbox(t.db, archive))!;
      const source = (await getMailbox(t.db, inbox))!;
      const uid = MESSAGES - 3; // not one of the PENDING, which come after
      const copy = await rowsRead(t, COPY_SQL, `${inbox}, ${archive}, '{${uid}}', '{${uid}}', ${target.uidNext}, ${target.highestModseq + 1n}`);
      assert.ok(copy > 0 && copy <= 4, `COPY: ${copy} message rows read for one UID`);
      const move = await rowsRead(
        t,
        MOVE_SQL,
        `${inbox}, ${archive}, '{${uid}}', '{${uid}}', ${target.uidNext}, ${target.highestModseq + 1n}, ${source.highestModseq + 1n}`,
      );
      assert.ok(move > 0 && move <= 4, `MOVE: ${move} message rows read for one UID`);
    });

    it('SEARCH UNSEEN reads the unseen messages through their partial index, not the mailbox', async () => {
      await storeFlags(ctx, { accountId: alice, mailboxId: archive, uids: [{ first: 1, last: 4294967295 }], operation: 'add', flags: ['\\Seen'] });
      const box = (await getMailbox(t.db, inbox))!;
      // Every message of INBOX but two seen.
      await storeFlags(ctx, { accountId: alice, mailboxId: inbox, uids: [{ first: 1, last: box.uidNext - 3 }], operation: 'add', flags: ['\\Seen'] });
      await t.db.query('ANALYZE messages');
      const unseen = searchStatement(alice, inbox, { kind: 'not', operand: { kind: 'flag', flag: 'seen' } }, { maxUid: box.uidNext, withModseq: false });
      const read = await rowsRead(t, unseen.sql, literals(unseen.params));
      assert.ok(read >= 2 && read <= 4, `UNSEEN: ${read} message rows read for 2 unseen messages`);
      const rows = await t.db.query<{ uids: string }>(unseen.sql, unseen.params);
      assert.equal(rows[0]?.uids, `${box.uidNext - 2}:${box.uidNext - 1}`);
      await storeFlags(ctx, { accountId: alice, mailboxId: inbox, uids: [{ first: 1, last: 4294967295 }], operation: 'remove', flags: ['\\Seen'] });
    });

    it('the search indexer reads the queued messages, not every older one', async () => {
      const read = await rowsRead(t, INDEX_PENDING_SQL, '100');
      assert.ok(read >= PENDING && read <= 2 * PENDING, `${read} message rows read for ${PENDING} queued messages`);
    });
  });
}
