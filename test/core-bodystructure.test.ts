import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { addAccount } from '../src/core/accounts.ts';
import { appendMessage } from '../src/core/append.ts';
import { deliverMessage } from '../src/core/deliver.ts';
import { getMailboxByName } from '../src/core/mailboxes.ts';
import { MessageSpool, replaceSpooledPrefix, type SpooledMessage } from '../src/core/spool.ts';
import type { AccountId, MailboxId, MessageId } from '../src/lib/ids.ts';
import { envelopeFromJson, structureFromJson, structureToJson } from '../src/mail/mime-json.ts';
import { parseMimeStructure } from '../src/mail/mime-structure.ts';
import type { MimePart } from '../src/mail/mime-types.ts';
import { sectionRange } from '../src/protocols/imap/encode/section-range.ts';
import type { Queryable } from '../src/store/db.ts';
import { readMessageBytes } from '../src/store/messages.ts';
import { engines, testContext, type TestDb } from './helpers/db.ts';
import { crlf, shape } from './helpers/mime.ts';

const MESSAGE = crlf(
  'From: =?utf-8?q?Ann=C3=A9e?= <annee@remote.test>',
  'To: Team: bob@corp.test;',
  'Subject: =?utf-8?q?r=C3=A9sum=C3=A9?=',
  'Message-ID: <m1@remote.test>',
  'Content-Type: multipart/mixed; boundary="outer"',
  '',
  '--outer',
  'Content-Type: multipart/alternative; boundary="inner"',
  '',
  '--inner',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  'Caf=C3=A9 au lait',
  '--inner',
  'Content-Type: text/html; charset=utf-8',
  '',
  '<p>Hot <b>chocolate</b></p>',
  '--inner--',
  '--outer',
  'Content-Type: application/octet-stream',
  'Content-Transfer-Encoding: base64',
  '',
  Buffer.from('ATTACHMENT-SECRET').toString('base64'),
  '--outer--',
  '',
);

type Row = {
  envelope: unknown;
  bodystructure: unknown;
  header_prefix: Buffer;
  text: string | null;
};

async function stored(q: Queryable, id: MessageId): Promise<{ root: MimePart; row: Row; bytes: Buffer }> {
  const rows = await q.query<Row>(
    `SELECT m.envelope, m.bodystructure, m.header_prefix, s.text
       FROM messages m LEFT JOIN search_pending s ON s.message_id = m.id WHERE m.id = $1`,
    [id],
  );
  const row = rows[0]!;
  const root = structureFromJson(row.bodystructure);
  assert.ok(root, `bodystructure stored and readable: ${JSON.stringify(row.bodystructure)}`);
  return { root, row, bytes: (await readMessageBytes(q, id))! };
}

/** The octets of BODY[path] of the stored message (header_prefix || blob). */
function section(s: { root: MimePart; row: Row; bytes: Buffer }, path: number[], text: '' | 'HEADER' | 'MIME' = ''): string {
  const r = sectionRange(s.root, path, text, s.row.header_prefix.length);
  assert.ok(r);
  return s.bytes.subarray(r.start, r.end).toString('utf8');
}

for (const engine of engines()) {
  describe(`MIME structure stored at delivery and append (${engine.name})`, () => {
    let t: TestDb;
    let account: AccountId;
    let address: string;
    let inbox: MailboxId;
    const idOf = async (mailboxId: MailboxId, uid: number): Promise<MessageId> => {
      const rows = await t.db.query<{ id: string }>('SELECT id FROM messages WHERE mailbox_id = $1 AND uid = $2', [mailboxId, uid]);
      return Number(rows[0]!.id) as MessageId;
    };

    before(async () => {
      t = await engine.create();
      const a = await addAccount(testContext(t.db), { address: 'bob@corp.test', password: 'structure test pw', createDomain: true });
      account = a.id;
      address = a.address;
      inbox = (await getMailboxByName(testContext(t.db), a.id, 'INBOX')).id;
    });
    after(async () => t.drop());

    it('append: the tree with offsets into the blob, the raw envelope, MIME-aware search text', async () => {
      const r = await appendMessage(t.db, { mailboxId: inbox, raw: MESSAGE });
      const s = await stored(t.db, r.id);
      assert.equal(shape(s.root), 'multipart/mixed[multipart/alternative[text/plain,text/html],application/octet-stream]');
      assert.deepEqual(structureToJson(s.root), structureToJson(parseMimeStructure(MESSAGE).root));
      assert.equal(section(s, [1, 1]), 'Caf=C3=A9 au lait');
      assert.equal(section(s, [1, 2], 'MIME'), 'Content-Type: text/html; charset=utf-8\r\n\r\n');
      assert.equal(s.root.children[1]?.binarySize, 'ATTACHMENT-SECRET'.length);
      const env = envelopeFromJson(s.row.envelope);
      assert.equal(env?.subject, '=?utf-8?q?r=C3=A9sum=C3=A9?=', 'raw, for IMAP ENVELOPE');
      assert.deepEqual(env?.to, [[null, null, 'Team', null], [null, null, 'bob', 'corp.test'], [null, null, null, null]]);
      assert.match(s.row.text ?? '', /résumé/);
      assert.match(s.row.text ?? '', /Café au lait/);
      assert.match(s.row.text ?? '', /Hot chocolate/);
      assert.doesNotMatch(s.row.text ?? '', /ATTACHMENT|QVRUQUNI/, 'no attachment octets in the search text');
    });

    it('delivery to two recipients: one structure, offsets shift by each header_prefix', async () => {
      const other = await addAccount(testContext(t.db), { address: 'carol-with-a-longer-name@corp.test', password: 'structure test pw' });
      const copies = await deliverMessage(t.db, {
        message: MESSAGE,
        headers: Buffer.from('Received: from remote.test by corp.test\r\n'),
        recipients: [
          { accountId: account, mailbox: 'INBOX', deliveredTo: address },
          { accountId: other.id, mailbox: 'INBOX', deliveredTo: other.address },
        ],
      });
      for (const c of copies) {
        const s = await stored(t.db, await idOf(c.mailboxId, c.uid));
        assert.equal(section(s, [1, 2]), '<p>Hot <b>chocolate</b></p>');
        const top = section(s, [], 'HEADER');
        assert.ok(top.startsWith('Delivered-To: ') && top.includes('Received: from remote.test') && top.endsWith('boundary="outer"\r\n\r\n'), top);
      }
    });

    it('a spooled message: the structure comes from the chunks as they were written, nothing read back', async () => {
      const big = Buffer.concat([MESSAGE.subarray(0, MESSAGE.indexOf('--outer--')), crlf(
        '--outer', 'Content-Type: text/plain', '', ...Array.from({ length: 400 }, (_, i) => `filler line ${i}`), '--outer--', '',
      )]);
      const spool = new MessageSpool(t.db, 1000);
      for (let i = 0; i < big.length; i += 333) await spool.write(big.subarray(i, i + 333));
      const message = await spool.finish();
      assert.ok(!Buffer.isBuffer(message), 'spooled');
      assert.deepEqual(structureToJson(message.parsed.root), structureToJson(parseMimeStructure(big).root));
      const [c] = await deliverMessage(t.db, { message, recipients: [{ accountId: account, mailbox: 'INBOX', deliveredTo: address }] });
      const s = await stored(t.db, await idOf(c!.mailboxId, c!.uid));
      assert.equal(shape(s.root), 'multipart/mixed[multipart/alternative[text/plain,text/html],application/octet-stream,text/plain]');
      assert.ok(section(s, [3]).endsWith('filler line 399'));
    });

    it('a spooled message whose head is rewritten (forged Authentication-Results removed): the structure is parsed again', async () => {
      const forged = Buffer.from('Authentication-Results: corp.test; dkim=pass\r\n');
      const big = Buffer.concat([forged, MESSAGE, Buffer.alloc(3000, 0x20)]);
      const spool = new MessageSpool(t.db, 1000);
      await spool.write(big);
      const first = (await spool.finish()) as SpooledMessage;
      const cleaned = await replaceSpooledPrefix(t.db, first, forged.length, Buffer.alloc(0));
      assert.equal(cleaned.parsed.root.children[0]?.headerStart, first.parsed.root.children[0]!.headerStart - forged.length);
      const [c] = await deliverMessage(t.db, { message: cleaned, recipients: [{ accountId: account, mailbox: 'INBOX', deliveredTo: address }] });
      const s = await stored(t.db, await idOf(c!.mailboxId, c!.uid));
      assert.equal(section(s, [1, 1]), 'Caf=C3=A9 au lait');
    });
  });
}
