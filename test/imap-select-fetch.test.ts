/**
 * The selected state (issue 4, second increment), on both database engines:
 * SELECT/EXAMINE responses (raw bytes and imapflow), CLOSE/UNSELECT, the
 * sequence-number map, untagged updates from other sessions on NOOP, CHECK
 * and during IDLE (RFC 9051 6.3.2-6.3.3, 6.4.1-6.4.2, 7.4-7.5); FETCH (stored
 * bytes, the encoders' output, sections, partial, BINARY, implied \Seen),
 * STORE, EXPUNGE, COPY/MOVE with COPYUID (RFC 9051 6.4; RFC 3516, 4315, 6851).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ImapFlow } from 'imapflow';
import { addAccount } from '../src/core/accounts.ts';
import { appendMessage } from '../src/core/append.ts';
import type { CoreContext } from '../src/core/context.ts';
import { expungeMessages } from '../src/core/expunge.ts';
import { createMailbox } from '../src/core/mailbox-tree.ts';
import { getMailboxByName } from '../src/core/mailboxes.ts';
import { storeFlags } from '../src/core/message-flags.ts';
import { summarizeMessage } from '../src/mail/headers.ts';
import { parseMimeStructure } from '../src/mail/mime-structure.ts';
import { encodeBodyStructure } from '../src/protocols/imap/encode/bodystructure.ts';
import { encodeEnvelope } from '../src/protocols/imap/encode/envelope.ts';
import { insertMessage, readMessageBytes } from '../src/store/messages.ts';
import type { AccountId, MailboxId, SeqNum, Uid, UidValidity } from '../src/lib/ids.ts';
import { SelectedMailbox } from '../src/protocols/imap/selected.ts';
import type { ImapLimits } from '../src/protocols/imap/services.ts';
import { engines, testContext, type TestDb } from './helpers/db.ts';
import { RawImap } from './helpers/imap-raw.ts';
import { TestImapServer } from './helpers/imap-test-server.ts';

const PW = 'imap test password';
const ALICE = 'alice@select.test';
const BOB = 'bob@select.test';

function message(subject: string, body = 'Hello.\r\n'): Buffer {
  return Buffer.from(`From: a@remote.test\r\nTo: ${ALICE}\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}@remote.test>\r\n\r\n${body}`);
}

const MULTIPART = Buffer.from(
  'From: "Carol C" <carol@remote.test>\r\nTo: alice@select.test, bob@select.test\r\nSubject: parts\r\nDate: Mon, 2 Jan 2023 10:00:00 +0000\r\n' +
    'Message-ID: <parts@remote.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n\r\n' +
    'preamble\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nFirst part.\r\n' +
    '--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAwQF\r\n--b1--\r\n',
);

/** The octets of the literal that follows `marker` in a response transcript (lines joined with CRLF, latin1). */
function literalAfter(lines: readonly string[], marker: string): string {
  const text = lines.join('\r\n');
  const at = text.indexOf(marker);
  assert.ok(at >= 0, `${marker} in ${text.slice(0, 300)}`);
  const m = /^\{(\d+)\}\r\n/.exec(text.slice(at + marker.length));
  assert.ok(m, `a literal after ${marker}`);
  const start = at + marker.length + m[0].length;
  return text.slice(start, start + Number(m[1]));
}

describe('SelectedMailbox: the sequence-number map', () => {
  const box = (uids: number[]): SelectedMailbox => new SelectedMailbox(1 as MailboxId, 'INBOX', false, 1 as UidValidity, Uint32Array.from(uids), 1n);
  const seqs = (...ranges: [number | '*', number | '*'][]) => ({ ranges: ranges.map(([first, last]) => ({ first: first as SeqNum | '*', last: last as SeqNum | '*' })), saved: false });
  const uids = (...ranges: [number | '*', number | '*'][]) => ({ ranges: ranges.map(([first, last]) => ({ first: first as Uid | '*', last: last as Uid | '*' })), saved: false });

  it('resolves sequence sets with "*", reversed ranges; out of range is null', () => {
    const b = box([3, 5, 9, 10]);
    assert.deepEqual(b.resolveSeqs(seqs([2, '*'])), [2, 3, 4]);
    assert.deepEqual(b.resolveSeqs(seqs([3, 1], [2, 2])), [1, 2, 3]);
    assert.equal(b.resolveSeqs(seqs([5, 5])), null);
    assert.equal(box([]).resolveSeqs(seqs(['*', '*'])), null);
  });

  it('resolves UID sets: missing UIDs skipped, "n:*" always includes the last message (RFC 9051 9)', () => {
    const b = box([3, 5, 9, 10]);
    assert.deepEqual(b.resolveUids(uids([4, 9])), [2, 3]);
    assert.deepEqual(b.resolveUids(uids([100, '*'])), [4]);
    assert.deepEqual(b.resolveUids(uids([1, 2])), []);
    assert.deepEqual(box([]).resolveUids(uids([1, '*'])), []);
  });

  it('EXPUNGE removes in descending order; EXISTS appends', () => {
    const b = box([3, 5, 9, 10]);
    assert.deepEqual(b.remove([5, 10, 77]), [4, 2]);
    assert.deepEqual([...b.uids], [3, 9]);
    assert.equal(b.append([11, 12]), 4);
    assert.equal(b.seqOf(12), 4);
    assert.equal(b.seqOf(5), 0);
  });
});

for (const engine of engines()) {
  describe(`IMAP selected state (${engine.name})`, () => {
    let t: TestDb;
    let ctx: CoreContext;
    let imap: TestImapServer;
    let port: number;
    const limits: ImapLimits = { appendLimit: 5_000_000, allowPlaintextAuth: true, authFailuresPerIpPerMinute: 100, idleTimeoutSeconds: 1800 };
    const accounts = new Map<string, AccountId>();
    const box = async (address: string, name: string): Promise<MailboxId> => (await getMailboxByName(ctx, accounts.get(address)!, name)).id;

    const raw = async (user = ALICE): Promise<RawImap> => {
      const c = await RawImap.open(port);
      assert.match(await c.line(), /^\* OK /);
      assert.match((await c.command('L1', `LOGIN ${user} "${PW}"`)).done, /^L1 OK /);
      return c;
    };
    const flow = async (user = ALICE): Promise<ImapFlow> => {
      const client = new ImapFlow({ host: '127.0.0.1', port, secure: false, auth: { user, pass: PW }, logger: false, disableAutoIdle: true });
      await client.connect();
      return client;
    };

    before(async () => {
      t = await engine.create();
      ctx = testContext(t.db);
      imap = new TestImapServer(t, limits);
      for (const a of [ALICE, BOB]) accounts.set(a, (await addAccount(ctx, { address: a, password: PW, createDomain: true })).id);
      const inbox = await box(ALICE, 'INBOX');
      await appendMessage(t.db, { mailboxId: inbox, raw: message('one'), flags: ['\\Seen'] });
      await appendMessage(t.db, { mailboxId: inbox, raw: message('two') });
      await appendMessage(t.db, { mailboxId: inbox, raw: message('three') });
      await createMailbox(ctx, accounts.get(ALICE)!, 'Busy');
      await createMailbox(ctx, accounts.get(BOB)!, 'Secret');
      port = await imap.listen('imap.select.test');
    });
    after(async () => {
      await imap.close();
      await t.drop();
    });

    it('SELECT INBOX: the exact rev1 response lines, READ-WRITE; EXAMINE: READ-ONLY, no \\Recent claimed (RFC 9051 6.3.2-6.3.3, RFC 3501 6.3.1)', async () => {
      const c = await raw();
      const sel = await c.command('a', 'SELECT INBOX');
      const lines = sel.lines;
      assert.equal(lines[0], '* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)');
      assert.equal(lines[1], '* 3 EXISTS');
      assert.equal(lines[2], '* 3 RECENT');
      assert.match(lines[3]!, /^\* OK \[UNSEEN 2\] /);
      assert.match(lines[4]!, /^\* OK \[UIDVALIDITY \d+\] /);
      assert.match(lines[5]!, /^\* OK \[UIDNEXT 4\] /);
      assert.match(lines[6]!, /^\* OK \[PERMANENTFLAGS \(\\Answered \\Flagged \\Deleted \\Seen \\Draft \\\*\)\] /);
      assert.match(lines[7]!, /^\* OK \[MAILBOXID \([\w-]+\)\] /);
      assert.equal(lines.length, 8);
      assert.match(sel.done, /^a OK \[READ-WRITE\] SELECT completed/);

      // Selecting again: CLOSED first; the \Recent messages were claimed by the first SELECT.
      const ex = await c.command('b', 'EXAMINE INBOX');
      assert.match(ex.lines[0]!, /^\* OK \[CLOSED\] /);
      assert.ok(ex.lines.includes('* 0 RECENT'));
      assert.ok(ex.lines.includes('* OK [PERMANENTFLAGS ()] No permanent flags in a read-only mailbox'));
      assert.match(ex.done, /^b OK \[READ-ONLY\] EXAMINE completed/);
      assert.match((await c.command('c', 'UNSELECT')).done, /^c OK /);
      assert.match((await c.command('d', 'CHECK')).done, /^d BAD CHECK needs a selected mailbox/);
      c.close();
    });

    it('IMAP4rev2: no RECENT and no UNSEEN code (RFC 9051 Appendix E); an empty mailbox', async () => {
      const c = await raw();
      assert.match((await c.command('e', 'ENABLE IMAP4rev2')).done, /^e OK /);
      const sel = await c.command('a', 'SELECT Busy');
      assert.ok(sel.lines.includes('* 0 EXISTS'));
      assert.ok(!sel.lines.some((l) => / RECENT$/.test(l) || l.includes('[UNSEEN')));
      assert.ok(sel.lines.some((l) => l.startsWith('* OK [UIDNEXT 1]')));
      c.close();
    });

    it('SELECT of a missing name, another user\'s mailbox, or QRESYNC without ENABLE: refused; a failed SELECT leaves nothing selected', async () => {
      const c = await raw();
      assert.match((await c.command('a', 'SELECT INBOX')).done, /^a OK /);
      const bad = await c.command('b', 'SELECT Secret');
      assert.match(bad.lines[0]!, /^\* OK \[CLOSED\]/);
      assert.match(bad.done, /^b NO \[NONEXISTENT\] /);
      assert.match((await c.command('c', 'NOOP')).done, /^c OK /);
      assert.match((await c.command('d', 'CLOSE')).done, /^d BAD CLOSE needs a selected mailbox/);
      assert.match((await c.command('e', 'EXAMINE Nothing/Here')).done, /^e NO \[NONEXISTENT\] /);
      assert.match((await c.command('f', 'SELECT INBOX (QRESYNC (1 1))')).done, /^f BAD /);
      c.close();
      const bob = await flow(BOB);
      await assert.rejects(bob.mailboxOpen('Busy'), 'alice\'s mailbox is not there for bob');
      await bob.logout();
    });

    it('imapflow: mailboxOpen reports exists, uidNext, uidValidity, flags, readOnly', async () => {
      const client = await flow();
      const mb = await client.mailboxOpen('INBOX');
      assert.equal(mb.exists, 3);
      assert.equal(Number(mb.uidNext), 4);
      assert.ok(mb.flags.has('\\Seen'));
      assert.ok(mb.permanentFlags?.has('\\*'));
      assert.equal(mb.readOnly, false);
      const ro = await client.mailboxOpen('INBOX', { readOnly: true });
      assert.equal(ro.readOnly, true);
      await client.mailboxClose();
      await client.logout();
    });

    it('updates on NOOP and CHECK: flags changed elsewhere as FETCH, new messages as EXISTS, expunges renumber descending (RFC 9051 7.4-7.5)', async () => {
      const account = accounts.get(ALICE)!;
      const mailboxId = await box(ALICE, 'Busy');
      const first = await appendMessage(t.db, { mailboxId, raw: message('b1') });
      const second = await appendMessage(t.db, { mailboxId, raw: message('b2') });
      const third = await appendMessage(t.db, { mailboxId, raw: message('b3') });
      const c = await raw();
      assert.ok((await c.command('a', 'SELECT Busy')).lines.includes('* 3 EXISTS'));
      assert.deepEqual((await c.command('b', 'NOOP')).lines, [], 'nothing changed');

      await storeFlags(ctx, { accountId: account, mailboxId, uids: [{ first: second.uid, last: second.uid }], operation: 'add', flags: ['\\Flagged', 'Work'] });
      const n1 = await c.command('c', 'NOOP');
      assert.deepEqual(n1.lines, [`* 2 FETCH (FLAGS (\\Flagged Work \\Recent) UID ${second.uid})`]);

      const fourth = await appendMessage(t.db, { mailboxId, raw: message('b4') });
      await storeFlags(ctx, { accountId: account, mailboxId, uids: [{ first: first.uid, last: third.uid }], operation: 'add', flags: ['\\Deleted'] });
      await expungeMessages(ctx, { accountId: account, mailboxId, uids: [{ first: first.uid, last: first.uid }, { first: third.uid, last: third.uid }] });
      const n2 = await c.command('d', 'CHECK');
      // Third is 3, first is 1: descending; then the new message is the 2nd of 2 (second stays, fourth joins).
      // RECENT after EXISTS (RFC 3501 7.3.2): second (claimed at SELECT) and fourth (claimed now).
      assert.deepEqual(n2.lines.slice(0, 4), ['* 3 EXPUNGE', '* 1 EXPUNGE', '* 2 EXISTS', '* 2 RECENT']);
      assert.deepEqual(n2.lines.slice(4), [`* 1 FETCH (FLAGS (\\Flagged \\Deleted Work \\Recent) UID ${second.uid})`]);
      assert.match(n2.done, /^d OK CHECK completed/);
      assert.deepEqual((await c.command('e', 'NOOP')).lines, []);
      void fourth;

      // CLOSE expunges \Deleted silently (RFC 9051 6.4.1): no EXPUNGE response.
      const cl = await c.command('f', 'CLOSE');
      assert.deepEqual(cl.lines, []);
      assert.match(cl.done, /^f OK CLOSE completed/);
      const st = await c.command('g', 'STATUS Busy (MESSAGES)');
      assert.deepEqual(st.lines, ['* STATUS "Busy" (MESSAGES 1)']);
      c.close();
    });

    it('IDLE in the selected state: another session\'s APPEND, flag change and expunge arrive as EXISTS, FETCH, EXPUNGE; DONE ends it', async () => {
      const account = accounts.get(ALICE)!;
      const mailboxId = await box(ALICE, 'INBOX');
      const c = await raw();
      const sel = await c.command('a', 'EXAMINE INBOX');
      const exists = Number(/^\* (\d+) EXISTS$/.exec(sel.lines.find((l) => l.endsWith(' EXISTS'))!)![1]);
      c.write('b IDLE\r\n');
      assert.equal(await c.line(), '+ idling');
      const other = await flow();
      const appended = await other.append('INBOX', message('idle arrival'));
      assert.equal(await c.line(), `* ${exists + 1} EXISTS`);
      await storeFlags(ctx, { accountId: account, mailboxId, uids: [{ first: 1, last: 1 }], operation: 'add', flags: ['\\Answered'] });
      assert.equal(await c.line(), '* 1 FETCH (FLAGS (\\Seen \\Answered) UID 1)');
      assert.ok(appended);
      const newUid = Number(appended.uid);
      await storeFlags(ctx, { accountId: account, mailboxId, uids: [{ first: newUid, last: newUid }], operation: 'add', flags: ['\\Deleted'] });
      assert.equal(await c.line(), `* ${exists + 1} FETCH (FLAGS (\\Deleted) UID ${newUid})`);
      await expungeMessages(ctx, { accountId: account, mailboxId, uids: [{ first: newUid, last: newUid }] });
      assert.equal(await c.line(), `* ${exists + 1} EXPUNGE`);
      c.write('DONE\r\n');
      assert.match(await c.line(), /^b OK IDLE terminated/);
      await other.logout();
      c.close();
    });

    it('UNSELECT does not expunge; EXAMINE\'s CLOSE does not either', async () => {
      const account = accounts.get(ALICE)!;
      const mailboxId = await box(ALICE, 'INBOX');
      const m = await appendMessage(t.db, { mailboxId, raw: message('kept'), flags: ['\\Deleted'] });
      const c = await raw();
      await c.command('a', 'SELECT INBOX');
      assert.match((await c.command('b', 'UNSELECT')).done, /^b OK /);
      await c.command('c', 'EXAMINE INBOX');
      assert.match((await c.command('d', 'CLOSE')).done, /^d OK /);
      const gone = await expungeMessages(ctx, { accountId: account, mailboxId, uids: [{ first: m.uid, last: m.uid }] });
      assert.deepEqual([...gone.uids], [m.uid], 'still there for an explicit expunge');
      c.close();
    });

    describe('FETCH, STORE, EXPUNGE', () => {
      let fetchBox: MailboxId;
      const uids: number[] = [];
      const raws: Buffer[] = [];
      const PREFIX = Buffer.from('Delivered-To: alice@select.test\r\n');
      before(async () => {
        await createMailbox(ctx, accounts.get(ALICE)!, 'Fetch');
        fetchBox = await box(ALICE, 'Fetch');
        const plain = message('plain fetch', 'Line one.\r\nLine two.\r\n');
        for (const raw of [plain, MULTIPART]) {
          uids.push((await appendMessage(t.db, { mailboxId: fetchBox, raw, internalDate: new Date(Date.UTC(2024, 0, 5, 9, 8, 7)) })).uid);
          raws.push(raw);
        }
        // Delivered with a header prefix (offsets of the stored tree are into the blob), and one without a stored tree.
        for (const [prefix, computed] of [[PREFIX, true], [Buffer.alloc(0), false]] as const) {
          const raw = message(computed ? 'prefixed' : 'legacy row');
          const summary = summarizeMessage(raw);
          const inserted = await insertMessage(t.db, {
            mailbox: fetchBox,
            content: { sha256: createHash('sha256').update(raw).digest(), raw },
            headerPrefix: prefix,
            internalDate: new Date(),
            flags: { seen: false, answered: false, flagged: false, deleted: false, draft: false },
            keywords: [],
            ...summary,
            ...(computed ? {} : { envelope: null, bodystructure: null }),
          });
          uids.push(inserted!.uid);
          raws.push(Buffer.concat([prefix, raw]));
        }
      });

      it('ENVELOPE, BODYSTRUCTURE, BODY, INTERNALDATE, RFC822.SIZE: the encoders\' output of the stored tree (or of the parsed message)', async () => {
        const c = await raw();
        await c.command('s', 'EXAMINE Fetch');
        for (let i = 0; i < raws.length; i++) {
          const parsed = parseMimeStructure(raws[i]!);
          const env = encodeEnvelope(parsed.envelope);
          const bs = encodeBodyStructure(parsed.root, { extensible: true });
          const body = encodeBodyStructure(parsed.root, { extensible: false });
          const r = await c.command(`f${i}`, `FETCH ${i + 1} (UID RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY)`);
          assert.deepEqual(r.lines, [`* ${i + 1} FETCH (UID ${uids[i]} RFC822.SIZE ${raws[i]!.length} ENVELOPE ${env} BODYSTRUCTURE ${bs} BODY ${body})`]);
        }
        const d = await c.command('d', 'UID FETCH ' + uids[0] + ' INTERNALDATE');
        assert.deepEqual(d.lines, [`* 1 FETCH (UID ${uids[0]} INTERNALDATE " 5-Jan-2024 09:08:07 +0000")`]);
        c.close();
      });

      it('imapflow: source byte-exact (with a header prefix), envelope and bodystructure parsed; sections and partial fetch', async () => {
        const client = await flow();
        await client.mailboxOpen('Fetch', { readOnly: true });
        for (let i = 0; i < raws.length; i++) {
          const m = await client.fetchOne(String(i + 1), { source: true, envelope: true, bodyStructure: true, uid: true });
          assert.ok(m);
          assert.equal(m.uid, uids[i]);
          assert.ok(m.source!.equals(raws[i]!), `message ${i + 1} byte-exact`);
        }
        const parts = await client.fetchOne('2', { envelope: true, bodyStructure: true, bodyParts: ['1', '2', '2.mime'] });
        assert.ok(parts);
        assert.equal(parts.envelope!.subject, 'parts');
        assert.equal(parts.envelope!.from![0]!.address, 'carol@remote.test');
        assert.equal(parts.bodyStructure!.childNodes!.length, 2);
        assert.equal(parts.bodyParts!.get('1')!.toString(), 'First part.');
        assert.equal(parts.bodyParts!.get('2')!.toString(), 'AAECAwQF');
        assert.match(parts.bodyParts!.get('2.mime')!.toString(), /^Content-Type: application\/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n$/);
        const stored = await readMessageBytes(t.db, (await t.db.query<{ id: string }>('SELECT id FROM messages WHERE mailbox_id = $1 AND uid = $2', [fetchBox, uids[2]]))[0]!.id as never);
        assert.ok(stored!.equals(raws[2]!));
        await client.logout();

        const c = await raw();
        await c.command('s', 'EXAMINE Fetch');
        const partial = await c.command('p', 'FETCH 3 (BODY.PEEK[]<10.20>)');
        assert.equal(literalAfter(partial.lines, 'BODY[]<10> '), raws[2]!.subarray(10, 30).toString('latin1'));
        const beyond = await c.command('q', 'FETCH 3 (BODY.PEEK[]<100000.5>)');
        assert.deepEqual(beyond.lines, ['* 3 FETCH (BODY[]<100000> {0}', ')']);
        const fields = await c.command('h', 'FETCH 3 (BODY.PEEK[HEADER.FIELDS (Subject delivered-to)])');
        assert.equal(literalAfter(fields.lines, 'BODY[HEADER.FIELDS (Subject delivered-to)] '), 'Delivered-To: alice@select.test\r\nSubject: prefixed\r\n\r\n');
        const not = await c.command('n', 'FETCH 1 (BODY.PEEK[HEADER.FIELDS.NOT (From To Message-ID)])');
        assert.equal(literalAfter(not.lines, 'BODY[HEADER.FIELDS.NOT (From To Message-ID)] '), 'Subject: plain fetch\r\n\r\n');
        // The node remembers selections per message (message-cache memo): other lists, the NOT form and a
        // partial of the same list still get their own octets, however often and in whatever order asked.
        for (let round = 0; round < 2; round++) {
          const pair = await c.command(`r${round}`, 'FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY.PEEK[HEADER.FIELDS (From)] BODY.PEEK[HEADER.FIELDS.NOT (Subject)]<0.6>)');
          assert.equal(literalAfter(pair.lines, 'BODY[HEADER.FIELDS (SUBJECT)] '), 'Subject: plain fetch\r\n\r\n');
          assert.match(literalAfter(pair.lines, 'BODY[HEADER.FIELDS (From)] '), /^From: [^\r]+\r\n\r\n$/);
          assert.equal(literalAfter(pair.lines, 'BODY[HEADER.FIELDS.NOT (Subject)]<0> '), 'From: ');
          const again = await c.command(`a${round}`, 'FETCH 1 (BODY.PEEK[HEADER.FIELDS.NOT (From To Message-ID)])');
          assert.equal(literalAfter(again.lines, 'BODY[HEADER.FIELDS.NOT (From To Message-ID)] '), 'Subject: plain fetch\r\n\r\n');
        }
        const text = await c.command('t', 'FETCH 1 (BODY.PEEK[TEXT] RFC822.HEADER)');
        assert.equal(literalAfter(text.lines, 'BODY[TEXT] '), 'Line one.\r\nLine two.\r\n');
        assert.equal(literalAfter(text.lines, 'RFC822.HEADER '), raws[0]!.subarray(0, raws[0]!.indexOf('\r\n\r\n') + 4).toString('latin1'));
        const missing = await c.command('m', 'FETCH 1 (BODY.PEEK[5])');
        assert.deepEqual(missing.lines, ['* 1 FETCH (BODY[5] "")']);
        c.close();
      });

      it('BINARY (RFC 3516): decoded base64 as literal8, partial, BINARY.SIZE; identity parts as they are', async () => {
        const c = await raw();
        await c.command('s', 'EXAMINE Fetch');
        assert.deepEqual((await c.command('a', 'FETCH 2 (BINARY.SIZE[2] BINARY.SIZE[1])')).lines, ['* 2 FETCH (BINARY.SIZE[2] 6 BINARY.SIZE[1] 11)']);
        const whole = await c.command('b', 'FETCH 2 (BINARY.PEEK[2])');
        assert.equal(literalAfter(whole.lines, 'BINARY[2] ~'), '\x00\x01\x02\x03\x04\x05');
        const part = await c.command('c', 'FETCH 2 (BINARY.PEEK[2]<2.3>)');
        assert.equal(literalAfter(part.lines, 'BINARY[2]<2> ~'), '\x02\x03\x04');
        const text = await c.command('d', 'FETCH 2 (BINARY.PEEK[1])');
        assert.equal(literalAfter(text.lines, 'BINARY[1] ~'), 'First part.');
        assert.match(text.done, /^d OK /);
        c.close();
      });

      it('\\Seen: BODY.PEEK[] does not set it, BODY[] does and reports FLAGS; EXAMINE never sets it (RFC 9051 6.4.5)', async () => {
        const c = await raw();
        await c.command('r', 'ENABLE IMAP4rev2'); // no \\Recent in FLAGS (rev1 would show it after SELECT)
        await c.command('s', 'EXAMINE Fetch');
        await c.command('a', 'FETCH 1 BODY[]');
        assert.deepEqual((await c.command('b', 'FETCH 1 FLAGS')).lines, ['* 1 FETCH (FLAGS ())']);
        await c.command('s2', 'SELECT Fetch');
        const peek = await c.command('c', 'FETCH 1 (BODY.PEEK[HEADER])');
        assert.ok(!peek.lines.join('\n').includes('FLAGS'));
        assert.deepEqual((await c.command('d', 'FETCH 1 FLAGS')).lines, ['* 1 FETCH (FLAGS ())']);
        const read = await c.command('e', 'UID FETCH ' + uids[0] + ' BODY[TEXT]');
        assert.match(read.lines.at(-1)!, / FLAGS \(\\Seen\)\)$/);
        assert.match(read.lines[0]!, new RegExp(`^\\* 1 FETCH \\(UID ${uids[0]} BODY\\[TEXT\\] \\{`));
        assert.deepEqual((await c.command('f', 'NOOP')).lines, [], 'the session\'s own change is not reported back');
        assert.deepEqual((await c.command('g', 'UID FETCH 1:* (FLAGS)')).lines, [
          `* 1 FETCH (UID ${uids[0]} FLAGS (\\Seen))`,
          `* 2 FETCH (UID ${uids[1]} FLAGS ())`,
          `* 3 FETCH (UID ${uids[2]} FLAGS ())`,
          `* 4 FETCH (UID ${uids[3]} FLAGS ())`,
        ]);
        c.close();
      });

      it('bad sequence sets: BAD; UID sets that match nothing: OK with no data; FETCH before SELECT: BAD', async () => {
        const c = await raw();
        assert.match((await c.command('a', 'FETCH 1 FLAGS')).done, /^a BAD FETCH needs a selected mailbox/);
        await c.command('s', 'SELECT Fetch');
        assert.match((await c.command('b', 'FETCH 99 FLAGS')).done, /^b BAD /);
        assert.match((await c.command('c', 'FETCH 1:99 (FLAGS UID)')).done, /^c BAD /);
        assert.match((await c.command('d', 'STORE 99 +FLAGS (\\Seen)')).done, /^d BAD /);
        const none = await c.command('e', 'UID FETCH 9000:9100 (FLAGS)');
        assert.deepEqual(none.lines, []);
        assert.match(none.done, /^e OK /);
        assert.match((await c.command('f', 'FETCH 1 (FLAGS) (CHANGEDSINCE 0)')).done, /^f BAD /);
        c.close();
      });

      it('COPY with COPYUID, MOVE with untagged COPYUID and EXPUNGE, UID EXPUNGE of given UIDs only (RFC 4315, RFC 6851); TRYCREATE', async () => {
        await createMailbox(ctx, accounts.get(ALICE)!, 'Moves');
        await createMailbox(ctx, accounts.get(ALICE)!, 'Target');
        const src = await box(ALICE, 'Moves');
        const m: number[] = [];
        for (const n of ['m1', 'm2', 'm3', 'm4']) m.push((await appendMessage(t.db, { mailboxId: src, raw: message(n), flags: ['\\Deleted'] })).uid);
        const c = await raw();
        assert.ok((await c.command('s', 'SELECT Moves')).lines.includes('* 4 EXISTS'));
        const target = (await c.command('st', 'STATUS Target (UIDVALIDITY)')).lines[0]!;
        const validity = /UIDVALIDITY (\d+)/.exec(target)![1];
        const copy = await c.command('a', 'COPY 1:2 Target');
        assert.equal(copy.done, `a OK [COPYUID ${validity} ${m[0]}:${m[1]} 1:2] COPY completed`);
        assert.match((await c.command('b', 'COPY 1 Nowhere')).done, /^b NO \[TRYCREATE\] /);
        const move = await c.command('c', `UID MOVE ${m[1]}:${m[2]} Target`);
        assert.deepEqual(move.lines, [`* OK [COPYUID ${validity} ${m[1]}:${m[2]} 3:4] Moved`, '* 3 EXPUNGE', '* 2 EXPUNGE']);
        assert.match(move.done, /^c OK UID MOVE completed/);
        // Left: m1 (1), m4 (2), both \Deleted; UID EXPUNGE removes only m4.
        assert.deepEqual((await c.command('d', `UID EXPUNGE ${m[3]}`)).lines, ['* 2 EXPUNGE']);
        assert.deepEqual((await c.command('e', 'UID FETCH 1:* (UID)')).lines, [`* 1 FETCH (UID ${m[0]})`]);
        c.close();

        const client = await flow();
        await client.mailboxOpen('Target');
        const moved = await client.messageMove('1', 'Moves', { uid: false });
        assert.ok(moved && moved.uidMap && moved.uidMap.size === 1);
        const copied = await client.messageCopy('1:*', 'Moves');
        assert.ok(copied && copied.uidMap && copied.uidMap.size === 3);
        await client.logout();
      });

      it("a message list FETCH reflects another session's STORE at once, no NOOP between (the node's flag cache)", async () => {
        await createMailbox(ctx, accounts.get(ALICE)!, 'Lists');
        const mailboxId = await box(ALICE, 'Lists');
        const uids: number[] = [];
        for (const n of ['l1', 'l2', 'l3']) uids.push((await appendMessage(t.db, { mailboxId, raw: message(n) })).uid);
        const a = await raw();
        const b = await raw();
        for (const x of [a, b]) {
          await x.command('r', 'ENABLE IMAP4rev2');
          await x.command('s', 'SELECT Lists');
        }
        const list = async (tag: string): Promise<string[]> =>
          (await b.command(tag, `UID FETCH ${uids[0]}:${uids[2]} (FLAGS)`)).lines.map((l) => /FLAGS \(([^)]*)\)/.exec(l)![1]!);
        assert.deepEqual(await list('b1'), ['', '', '']);
        await a.command('a1', `UID STORE ${uids[1]} +FLAGS.SILENT (\\Flagged Work)`);
        assert.deepEqual(await list('b2'), ['', '\\Flagged Work', '']);
        await a.command('a2', `UID STORE ${uids[1]} -FLAGS.SILENT (Work)`);
        await a.command('a3', `UID STORE ${uids[2]} +FLAGS.SILENT (\\Seen)`);
        // b's own implied \Seen (BODY[] without PEEK) and its STORE count too.
        await b.command('b3', `UID FETCH ${uids[0]} (BODY[])`);
        await b.command('b4', `UID STORE ${uids[1]} +FLAGS.SILENT (\\Answered)`);
        assert.deepEqual(await list('b5'), ['\\Seen', '\\Answered \\Flagged', '\\Seen']);
        a.close();
        b.close();
      });

      it('STORE and EXPUNGE: another session sees FETCH, then EXPUNGE renumbered, on NOOP; EXAMINE refuses changes', async () => {
        const mailboxId = await box(ALICE, 'Busy');
        const extra: number[] = [];
        for (const n of ['s1', 's2', 's3', 's4']) extra.push((await appendMessage(t.db, { mailboxId, raw: message(n) })).uid);
        const a = await raw();
        const b = await raw();
        for (const x of [a, b]) await x.command('r', 'ENABLE IMAP4rev2'); // no \\Recent in FLAGS
        const selA = await a.command('s', 'SELECT Busy');
        const exists = Number(/^\* (\d+) EXISTS$/.exec(selA.lines.find((l) => l.endsWith(' EXISTS'))!)![1]);
        await b.command('s', 'SELECT Busy');
        const base = exists - 4; // the four new messages are the last four
        const st = await a.command('a1', `STORE ${base + 1},${base + 3} +FLAGS (\\Deleted Urgent)`);
        assert.deepEqual(st.lines, [`* ${base + 1} FETCH (FLAGS (\\Deleted Urgent))`, `* ${base + 3} FETCH (FLAGS (\\Deleted Urgent))`]);
        const silent = await a.command('a2', `UID STORE ${extra[1]} FLAGS.SILENT (\\Flagged)`);
        assert.deepEqual(silent.lines, []);
        const seen = await b.command('b1', 'NOOP');
        assert.deepEqual(seen.lines.sort(), [
          `* ${base + 1} FETCH (FLAGS (\\Deleted Urgent) UID ${extra[0]})`,
          `* ${base + 2} FETCH (FLAGS (\\Flagged) UID ${extra[1]})`,
          `* ${base + 3} FETCH (FLAGS (\\Deleted Urgent) UID ${extra[2]})`,
        ].sort());
        const ex = await a.command('a3', 'EXPUNGE');
        assert.deepEqual(ex.lines, [`* ${base + 3} EXPUNGE`, `* ${base + 1} EXPUNGE`]);
        const after1 = await a.command('a4', `FETCH ${base + 1}:* (UID)`);
        assert.deepEqual(after1.lines, [`* ${base + 1} FETCH (UID ${extra[1]})`, `* ${base + 2} FETCH (UID ${extra[3]})`]);
        assert.deepEqual((await b.command('b2', 'NOOP')).lines, [`* ${base + 3} EXPUNGE`, `* ${base + 1} EXPUNGE`]);
        assert.deepEqual((await b.command('b3', `FETCH ${base + 2} (UID)`)).lines, [`* ${base + 2} FETCH (UID ${extra[3]})`]);
        await b.command('e', 'EXAMINE Busy');
        assert.match((await b.command('b4', 'STORE 1 +FLAGS (\\Seen)')).done, /^b4 NO /);
        assert.match((await b.command('b5', 'EXPUNGE')).done, /^b5 NO /);
        a.close();
        b.close();
      });

      it('a 2.5 MB message with a header prefix: whole and partial bodies across the 1 MiB read chunks are byte-exact', async () => {
        const body = Buffer.alloc(2_500_000);
        for (let i = 0; i < body.length; i++) body[i] = i % 78 === 77 ? 0x0a : 0x41 + (i % 26);
        const rawBig = Buffer.concat([message('big', ''), body]);
        const inserted = await insertMessage(t.db, {
          mailbox: fetchBox,
          content: { sha256: createHash('sha256').update(rawBig).digest(), raw: rawBig },
          headerPrefix: PREFIX,
          internalDate: new Date(),
          flags: { seen: false, answered: false, flagged: false, deleted: false, draft: false },
          keywords: [],
          ...summarizeMessage(rawBig),
        });
        const whole = Buffer.concat([PREFIX, rawBig]);
        const client = await flow();
        await client.mailboxOpen('Fetch', { readOnly: true });
        const m = await client.fetchOne(String(inserted!.uid), { source: true }, { uid: true });
        assert.ok(m && m.source!.equals(whole));
        for (const [offset, length] of [[1_048_570, 20], [PREFIX.length - 3, 10], [2_097_100, 600_000]] as const) {
          const part = await client.fetchOne(String(inserted!.uid), { source: { start: offset, maxLength: length } }, { uid: true });
          assert.ok(part && part.source!.equals(whole.subarray(offset, offset + length)), `<${offset}.${length}>`);
        }
        await client.logout();
      });
    });
  });
}
