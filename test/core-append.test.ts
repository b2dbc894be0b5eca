import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { addAccount } from '../src/core/accounts.ts';
import { appendMessage } from '../src/core/append.ts';
import { MAILBOX_CHANNEL } from '../src/core/change-hints.ts';
import type { CoreContext } from '../src/core/context.ts';
import { getMailboxByName } from '../src/core/mailboxes.ts';
import { InvalidInputError, NotFoundError } from '../src/lib/errors.ts';
import type { MailboxId } from '../src/lib/ids.ts';
import { getMailbox } from '../src/store/mailboxes.ts';
import { changesSince, countBlobs, listMessages, readBlob } from '../src/store/messages.ts';
import { indexPendingSearch } from '../src/store/search.ts';
import { engines, testContext, type TestDb } from './helpers/db.ts';

function message(subject: string, body = 'Hello.\r\n'): Buffer {
  return Buffer.from(
    `From: =?utf-8?B?0JDQvdC90LA=?= <Anna@Example.TEST>\r\nTo: bob@example.test\r\n` +
      `Subject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}@example.test>\r\n` +
      `Date: Sat, 28 Nov 2026 10:00:00 +0000\r\n\r\n${body}`,
  );
}

for (const engine of engines({ remote: true })) {
  describe(`append (${engine.name})`, () => {
    let t: TestDb;
    let ctx: CoreContext;
    let inbox: MailboxId;
    let sent: MailboxId;
    before(async () => {
      t = await engine.create();
      ctx = testContext(t.db);
      const a = await addAccount(ctx, { address: 'bob@example.test', password: 'long enough pw', createDomain: true });
      inbox = (await getMailboxByName(ctx, a.id, 'inbox')).id;
      sent = (await getMailboxByName(ctx, a.id, 'Sent')).id;
    });
    after(async () => t.drop());

    it('stores the bytes exactly and allocates UID 1, 2, ... with rising MODSEQ (RFC 9051 2.3.1.1, RFC 7162)', async () => {
      const raw1 = message('first', 'line one\r\n\r\n.\r\nbinary \u00ff\r\n');
      const r1 = await appendMessage(t.db, { mailboxId: inbox, raw: raw1, flags: ['\\Seen'], keywords: ['$Forwarded'] });
      const r2 = await appendMessage(t.db, { mailboxId: inbox, raw: message('second') });
      assert.equal(r1.uid, 1);
      assert.equal(r2.uid, 2);
      assert.ok(r2.modseq > r1.modseq);
      const box = await getMailbox(t.db, inbox);
      assert.equal(box?.uidNext, 3);
      assert.equal(box?.highestModseq, r2.modseq);
      const msgs = await listMessages(t.db, inbox);
      assert.deepEqual(msgs.map((m) => m.uid), [1, 2]);
      const first = msgs[0]!;
      assert.equal(first.flags.seen, true);
      assert.equal(first.flags.deleted, false);
      assert.deepEqual(first.keywords, ['$Forwarded']);
      assert.equal(first.size, raw1.length);
      assert.equal(first.subject, 'first');
      assert.equal(first.fromAddress, 'anna@example.test');
      assert.ok((await readBlob(t.db, first.blobId))?.equals(raw1), 'byte-exact');
      const env = await t.db.query<{ s: string; f: string }>(
        `SELECT envelope->>'subject' AS s, envelope->'from'->0->>0 AS f FROM messages WHERE id = $1`,
        [first.id],
      );
      assert.deepEqual(env[0], { s: 'first', f: '=?utf-8?B?0JDQvdC90LA=?=' }, 'envelope stored as a JSON object (raw IMAP form), not a string');
    });

    it('journals every append for sync (change journal is the truth)', async () => {
      const changes = await changesSince(t.db, inbox, 0n);
      assert.deepEqual(changes.map((c) => [c.uid, c.kind]), [[1, 'append'], [2, 'append']]);
      const box = await getMailbox(t.db, inbox);
      assert.deepEqual(await changesSince(t.db, inbox, box!.highestModseq), []);
    });

    it('deduplicates identical content across mailboxes: one blob, two messages', async () => {
      const before = await countBlobs(t.db);
      const raw = message('same bytes');
      await appendMessage(t.db, { mailboxId: inbox, raw });
      await appendMessage(t.db, { mailboxId: sent, raw: Buffer.from(raw) });
      assert.equal(await countBlobs(t.db), before + 1);
      assert.equal((await listMessages(t.db, sent)).length, 1);
    });

    it('keeps the internal date it is given (IMAP APPEND date-time)', async () => {
      const when = new Date('2020-02-29T12:34:56Z');
      const r = await appendMessage(t.db, { mailboxId: sent, raw: message('dated'), internalDate: when });
      const m = (await listMessages(t.db, sent)).find((x) => x.uid === r.uid);
      assert.equal(m?.internalDate.toISOString(), when.toISOString());
    });

    it('refuses bad input without changing anything', async () => {
      const boxBefore = await getMailbox(t.db, inbox);
      await assert.rejects(appendMessage(t.db, { mailboxId: inbox, raw: Buffer.alloc(0) }), InvalidInputError);
      await assert.rejects(appendMessage(t.db, { mailboxId: inbox, raw: message('x'), keywords: ['bad keyword'] }), InvalidInputError);
      await assert.rejects(appendMessage(t.db, { mailboxId: inbox, raw: message('x'), keywords: ['\\Seen'] }), InvalidInputError);
      await assert.rejects(appendMessage(t.db, { mailboxId: 999999 as MailboxId, raw: message('x') }), NotFoundError);
      const boxAfter = await getMailbox(t.db, inbox);
      assert.deepEqual(boxAfter, boxBefore, 'no UID was consumed');
    });

    it('stores garbage bytes as they are (broken MIME is not an error)', async () => {
      const raw = Buffer.from([0x00, 0xff, 0x0a, 0x0d, 0x3a, 0x80, 0x00, 0x41]);
      const r = await appendMessage(t.db, { mailboxId: sent, raw });
      const m = (await listMessages(t.db, sent)).find((x) => x.uid === r.uid)!;
      assert.ok((await readBlob(t.db, m.blobId))?.equals(raw));
    });

    it('announces the change with NOTIFY after commit', async () => {
      const got: string[] = [];
      const unlisten = await t.db.listen(MAILBOX_CHANNEL, (p) => got.push(p));
      try {
        const r = await appendMessage(t.db, { mailboxId: inbox, raw: message('notify me') });
        const deadline = Date.now() + 5000;
        while (got.length === 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
        assert.deepEqual(got.map((p) => JSON.parse(p) as unknown), [{ mailbox: inbox, modseq: r.modseq.toString() }]);
      } finally {
        await unlisten();
      }
    });

    it('full-text vector covers decoded subject and sender (once the indexer ran)', async () => {
      await appendMessage(t.db, { mailboxId: inbox, raw: message('=?utf-8?B?0J/RgNC40LLQtdGC?= quarterly') });
      while ((await indexPendingSearch(t.db, 100)) > 0);
      const hit = await t.db.query(
        `SELECT m.uid FROM messages m JOIN message_search s ON s.message_id = m.id
          WHERE m.mailbox_id = $1 AND s.vector @@ plainto_tsquery('simple', $2)`,
        [inbox, 'привет'],
      );
      assert.equal(hit.length, 1);
    });
  });
}
