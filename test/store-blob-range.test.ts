/**
 * Octet ranges of a stored message (store/fetch.ts readBlobRange, what FETCH
 * of a body over 64 KB reads): every octet value comes back exact, at any
 * offset and length, on both engines. On PostgreSQL the rows come as raw hex
 * text (QueryOptions.byteaColumns), which only bytea columns may use.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { MessageId } from '../src/lib/ids.ts';
import { summarizeMessage } from '../src/mail/headers.ts';
import { readBlobRange } from '../src/store/fetch.ts';
import { insertMessage } from '../src/store/messages.ts';
import { engines, testContext, type TestDb } from './helpers/db.ts';
import { mailboxId, newAccount } from './helpers/mailbox-ops.ts';

for (const engine of engines()) {
  describe(`blob ranges (${engine.name})`, () => {
    let t: TestDb;
    let id: MessageId;
    let raw: Buffer;

    before(async () => {
      t = await engine.create();
      const ctx = testContext(t.db);
      const account = await newAccount(ctx, 'ranges');
      const box = await mailboxId(ctx, account, 'INBOX');
      const head = Buffer.from('From: a@example.com\r\nSubject: octets\r\nContent-Type: application/octet-stream\r\n\r\n');
      // Every octet value, in a pattern that does not repeat with a short period, past 1 MiB.
      const body = Buffer.alloc(1_100_000);
      for (let i = 0; i < body.length; i++) body[i] = (i * 7 + (i >> 8) * 13) & 0xff;
      raw = Buffer.concat([head, body]);
      const r = await insertMessage(t.db, {
        mailbox: box,
        content: { sha256: createHash('sha256').update(raw).digest(), raw },
        headerPrefix: Buffer.alloc(0),
        internalDate: new Date(),
        flags: { seen: false, answered: false, flagged: false, deleted: false, draft: false },
        keywords: [],
        ...summarizeMessage(raw),
      });
      id = r!.id;
    });
    after(async () => t?.drop());

    test('whole, partial, empty and past-the-end ranges are byte-exact', async () => {
      assert.ok((await readBlobRange(t.db, id, 0, raw.length)).equals(raw));
      for (const [start, end] of [[0, 1], [255, 511], [70_000, 70_256], [1_048_570, 1_048_600], [raw.length - 3, raw.length + 100]] as const) {
        assert.ok((await readBlobRange(t.db, id, start, end)).equals(raw.subarray(start, end)), `[${start}, ${end})`);
      }
      assert.equal((await readBlobRange(t.db, id, 10, 10)).length, 0);
      assert.equal((await readBlobRange(t.db, id, raw.length + 5, raw.length + 10)).length, 0);
    });

    if (engine.name === 'postgres') {
      test('byteaColumns refuses a result with a column that is not bytea', async () => {
        await assert.rejects(t.db.query('SELECT $1::bytea AS a, 1 AS b', [Buffer.from('x')], { byteaColumns: true }), /column b is not bytea/);
        const rows = await t.db.query('SELECT $1::bytea AS a, NULL::bytea AS b', [Buffer.from([0, 1, 254, 255])], { byteaColumns: true });
        assert.deepEqual(rows, [{ a: Buffer.from([0, 1, 254, 255]), b: null }]);
      });
    }
  });
}
