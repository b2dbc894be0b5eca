/**
 * SEARCH / UID SEARCH (RFC 9051 6.4.4, 6.4.9) on both database engines:
 * every key against a small known mailbox, NOT/OR/nesting, sequence and UID
 * sets, CHARSET, ESEARCH (RFC 4731), SEARCHRES (RFC 5182), WITHIN (RFC 5032),
 * MODSEQ (RFC 7162 3.1.5), EMAILID/THREADID (RFC 8474), full text of indexed
 * and not yet indexed messages, two sessions, isolation between accounts and
 * bad input. Raw sockets for exact bytes, imapflow for interop.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { ImapFlow } from 'imapflow';
import { addAccount } from '../src/core/accounts.ts';
import { appendMessage } from '../src/core/append.ts';
import type { CoreContext } from '../src/core/context.ts';
import { expungeMessages } from '../src/core/expunge.ts';
import { createMailbox } from '../src/core/mailbox-tree.ts';
import { getMailboxByName } from '../src/core/mailboxes.ts';
import { storeFlags } from '../src/core/message-flags.ts';
import { blobIdOfEmailId } from '../src/core/message-search.ts';
import type { AccountId, MailboxId, SeqNum, Uid, UidValidity } from '../src/lib/ids.ts';
import { SelectedMailbox } from '../src/protocols/imap/selected.ts';
import type { ImapLimits, ImapServices } from '../src/protocols/imap/services.ts';
import { searchMessages } from '../src/store/message-search.ts';
import { indexPendingSearch } from '../src/store/search.ts';
import { engines, testContext, type TestDb } from './helpers/db.ts';
import { RawImap } from './helpers/imap-raw.ts';
import { TestImapServer } from './helpers/imap-test-server.ts';

const PW = 'imap search password';
const ALICE = 'alice@search.test';
const BOB = 'bob@search.test';

const crlf = (lines: string[]): Buffer => Buffer.from(lines.join('\r\n'), 'utf8');

// The mailbox "Search": UIDs 1-4, in this order. 1 and 2 are indexed, 3 and 4 stay in search_pending.
const M1 = crlf([
  'From: "Alice Example" <alice@remote.test>',
  'To: bob@remote.test',
  'Cc: carol@remote.test',
  'Subject: Quarterly report',
  'Date: Mon, 2 Jan 2023 23:30:00 -0500',
  'Message-ID: <m1@remote.test>',
  'X-Priority: 1',
  '',
  'The numbers are final.',
  '',
]);
const M2 = crlf([
  'From: Bob <bob@remote.test>',
  `To: ${ALICE}`,
  'Bcc: dave@remote.test',
  'Subject: =?UTF-8?B?0J/RgNC40LLQtdGCINC80LjRgA==?=',
  'Date: Thu, 5 Jan 2023 10:00:00 +0000',
  'MIME-Version: 1.0',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: 8bit',
  '',
  'Съешь же ещё этих мягких французских булок.',
  ...Array.from({ length: 40 }, (_, i) => `filler line ${i} lorem ipsum dolor sit amet`),
  '',
]);
const M3 = crlf([
  'From: carol@remote.test',
  `To: ${ALICE}`,
  'Subject: Lunch?',
  'X-Priority: 5',
  'X-Note: first',
  ' second part',
  '',
  'meeting at noon, 50% off_sale',
  '',
]);
const M4 = crlf([
  'From: "Alice Example" <alice@remote.test>',
  'To: eve@remote.test',
  'Subject: Grüße draft report',
  'Date: Sat, 28 Nov 2026 10:00:00 +0100',
  'MIME-Version: 1.0',
  'Content-Type: text/plain; charset=utf-8',
  '',
  'fresh news',
  '',
]);

/** key -> expected UIDs of "Search" (RFC 9051 6.4.4, one row per key and then some). */
const CASES: [string, number[]][] = [
  ['ALL', [1, 2, 3, 4]],
  ['ANSWERED', [1]],
  ['UNANSWERED', [2, 3, 4]],
  ['SEEN', [1]],
  ['UNSEEN', [2, 3, 4]],
  ['FLAGGED', [2]],
  ['UNFLAGGED', [1, 3, 4]],
  ['DELETED', [3]],
  ['UNDELETED', [1, 2, 4]],
  ['DRAFT', [3]],
  ['UNDRAFT', [1, 2, 4]],
  ['KEYWORD Work', [1]],
  ['KEYWORD work', [1]],
  ['KEYWORD $Forwarded', [3]],
  ['KEYWORD Nothing', []],
  ['UNKEYWORD Work', [2, 3, 4]],
  ['SUBJECT report', [1, 4]],
  ['SUBJECT REPORT', [1, 4]],
  ['SUBJECT "quarterly rep"', [1]],
  ['SUBJECT ""', [1, 2, 3, 4]],
  ['FROM alice', [1, 4]],
  ['FROM "alice example"', [1, 4]],
  ['FROM bob@remote', [2]],
  ['FROM nobody', []],
  ['TO bob', [1]],
  [`TO ${ALICE}`, [2, 3]],
  ['CC carol', [1]],
  ['CC bob', []],
  ['BCC dave', [2]],
  ['HEADER X-Priority 1', [1]],
  ['HEADER x-priority ""', [1, 3]],
  ['HEADER X-Note "second part"', [3]],
  ['HEADER X-Note "first second"', [3]],
  ['HEADER Message-ID m1@remote', [1]],
  ['HEADER X-Missing ""', []],
  ['HEADER Subject "Lunch?"', [3]],
  ['HEADER Subject "_"', []],
  ['BODY numbers', [1]],
  ['BODY numb', [1]],
  ['BODY "the numbers"', [1]],
  ['BODY "numbers the"', []],
  ['BODY noon', [3]],
  ['BODY NOON', [3]],
  ['BODY "50% off"', [3]],
  ['BODY "50%"', [3]],
  ['BODY "0_s"', []],
  // LIKE wildcards in the client's string are literal: "n_on" would match "noon", "Lunch_" "Lunch?", "%" anything.
  ['BODY "n_on"', []],
  ['SUBJECT "Lunch_"', []],
  ['SUBJECT "%"', []],
  ['SUBJECT "lunch?"', [3]],
  ['BODY "off_sale"', [3]],
  ['BODY fresh', [4]],
  ['BODY absent', []],
  ['TEXT final', [1]],
  ['TEXT x-priority', [1, 3]],
  ['TEXT noon', [3]],
  ['TEXT eve@remote', [4]],
  ['BEFORE 3-Jan-2023', []],
  ['BEFORE 4-Jan-2023', [1]],
  ['ON 3-Jan-2023', [1]],
  ['ON 5-Jan-2023', [2]],
  ['SINCE 1-Feb-2023', [3, 4]],
  ['SINCE "5-Jan-2023"', [2, 3, 4]],
  ['SENTBEFORE 3-Jan-2023', [1]],
  ['SENTON 2-Jan-2023', [1]],
  ['SENTON 3-Jan-2023', []],
  ['SENTSINCE 5-Jan-2023', [2, 4]],
  ['NOT SENTON 2-Jan-2023', [2, 3, 4]],
  ['LARGER 1000', [2]],
  ['SMALLER 1000', [1, 3, 4]],
  ['LARGER 100000', []],
  ['OLDER 3600', [1, 2, 3]],
  ['YOUNGER 3600', [4]],
  ['2:3', [2, 3]],
  ['*', [4]],
  ['3:*', [3, 4]],
  ['4:2', [2, 3, 4]],
  ['1,4', [1, 4]],
  ['5', []],
  ['UID 2,4', [2, 4]],
  ['UID 3:*', [3, 4]],
  ['UID 9', []],
  ['UID 100:*', [4]],
  ['NOT SEEN', [2, 3, 4]],
  ['NOT NOT SEEN', [1]],
  ['OR SEEN FLAGGED', [1, 2]],
  ['OR SEEN (DELETED DRAFT)', [1, 3]],
  ['(SUBJECT report FROM alice) NOT 1', [4]],
  ['NOT (OR SEEN (OR FLAGGED DELETED))', [4]],
  ['OR (NOT SEEN SUBJECT report) UID 2', [2, 4]],
  ['UNSEEN UNDELETED SMALLER 1000', [4]],
  ['THREADID T1', []],
  ['EMAILID Mzzzzzzzz', []],
  ['NOT THREADID T1', [1, 2, 3, 4]],
  // EXAMINE claims no \Recent (RFC 9051 6.3.3): nothing is recent, everything old.
  ['RECENT', []],
  ['NEW', []],
  ['OLD', [1, 2, 3, 4]],
];

for (const engine of engines()) {
  describe(`IMAP SEARCH (${engine.name})`, () => {
    let t: TestDb;
    let ctx: CoreContext;
    let services: ImapServices;
    let imap: TestImapServer;
    let port: number;
    const limits: ImapLimits = { appendLimit: 5_000_000, allowPlaintextAuth: true, authFailuresPerIpPerMinute: 100, idleTimeoutSeconds: 1800 };
    const accounts = new Map<string, AccountId>();
    const box = async (address: string, name: string): Promise<MailboxId> => (await getMailboxByName(ctx, accounts.get(address)!, name)).id;
    let searchBox: MailboxId;
    let m1Blob = 0;

    const raw = async (user = ALICE): Promise<RawImap> => {
      const c = await RawImap.open(port);
      assert.match(await c.line(), /^\* OK /);
      assert.match((await c.command('L1', `LOGIN ${user} "${PW}"`)).done, /^L1 OK /);
      return c;
    };
    const examine = async (name = 'Search'): Promise<RawImap> => {
      const c = await raw();
      assert.match((await c.command('S1', `EXAMINE ${name}`)).done, /^S1 OK /);
      return c;
    };
    /** The numbers of the one `* SEARCH` line. */
    const searchLine = (lines: string[]): number[] => {
      const found = lines.filter((l) => l.startsWith('* SEARCH'));
      assert.equal(found.length, 1, `one * SEARCH in ${JSON.stringify(lines)}`);
      return found[0]!.slice('* SEARCH'.length).trim().split(' ').filter(Boolean).map(Number);
    };

    before(async () => {
      t = await engine.create();
      ctx = testContext(t.db);
      imap = new TestImapServer(t, limits);
      services = imap.services;
      for (const a of [ALICE, BOB]) accounts.set(a, (await addAccount(ctx, { address: a, password: PW, createDomain: true })).id);
      await createMailbox(ctx, accounts.get(ALICE)!, 'Search');
      searchBox = await box(ALICE, 'Search');
      const old = (iso: string): Date => new Date(iso);
      const a1 = await appendMessage(t.db, { mailboxId: searchBox, raw: M1, flags: ['\\Seen', '\\Answered'], keywords: ['Work'], internalDate: old('2023-01-03T05:00:00Z') });
      await appendMessage(t.db, { mailboxId: searchBox, raw: M2, flags: ['\\Flagged'], internalDate: old('2023-01-05T10:00:00Z') });
      // Messages 1 and 2 get their full-text index entry; 3 and 4 stay queued.
      while ((await indexPendingSearch(t.db, 100)) > 0);
      await appendMessage(t.db, { mailboxId: searchBox, raw: M3, flags: ['\\Deleted', '\\Draft'], keywords: ['$Forwarded'], internalDate: old('2023-02-01T00:00:00Z') });
      await appendMessage(t.db, { mailboxId: searchBox, raw: M4 });
      // Bob has a message that matches too: never Alice's result.
      await appendMessage(t.db, { mailboxId: await box(BOB, 'INBOX'), raw: M1 });
      const rows = await t.db.query<{ blob_id: string }>('SELECT blob_id FROM messages WHERE mailbox_id = $1 AND uid = $2', [searchBox, a1.uid]);
      m1Blob = Number(rows[0]!.blob_id);
      port = await imap.listen('imap.search.test');
    });
    after(async () => {
      await imap.close();
      await t.drop();
    });

    it('the index holds messages 1-2 and the queue 3-4 (the fixture this suite relies on)', async () => {
      const rows = await t.db.query<{ uid: string; indexed: boolean; pending: boolean }>(
        `SELECT m.uid, EXISTS (SELECT 1 FROM message_search s WHERE s.message_id = m.id) AS indexed,
                EXISTS (SELECT 1 FROM search_pending p WHERE p.message_id = m.id) AS pending
           FROM messages m WHERE m.mailbox_id = $1 ORDER BY m.uid`,
        [searchBox],
      );
      assert.deepEqual(rows.map((r) => [Number(r.uid), r.indexed, r.pending]), [[1, true, false], [2, true, false], [3, false, true], [4, false, true]]);
    });

    it('CAPABILITY announces ESEARCH, SEARCHRES and WITHIN', async () => {
      const c = await raw();
      const caps = (await c.command('c', 'CAPABILITY')).lines[0]!.split(' ');
      for (const cap of ['ESEARCH', 'SEARCHRES', 'WITHIN']) assert.ok(caps.includes(cap), cap);
      assert.ok(!caps.includes('SAVEDATE'));
      c.close();
    });

    it('every key of RFC 9051 6.4.4 (and WITHIN, OBJECTID, rev1 RECENT/NEW/OLD): UID SEARCH and SEARCH give the expected messages', async () => {
      const c = await examine();
      let n = 0;
      for (const [key, expected] of CASES) {
        const u = await c.command(`u${++n}`, `UID SEARCH ${key}`);
        assert.match(u.done, /^u\d+ OK UID SEARCH completed/, key);
        assert.deepEqual(searchLine(u.lines), expected, `UID SEARCH ${key}`);
        // Sequence numbers equal UIDs here (no gaps).
        const q = await c.command(`s${n}`, `SEARCH ${key}`);
        assert.deepEqual(searchLine(q.lines), expected, `SEARCH ${key}`);
      }
      c.close();
    });

    it('EMAILID (RFC 8474 6): M + the blob id in base 36 finds every copy of that content, in this mailbox only', async () => {
      const id = `M${m1Blob.toString(36)}`;
      assert.equal(blobIdOfEmailId(id), m1Blob);
      assert.equal(blobIdOfEmailId('T1'), null);
      assert.equal(blobIdOfEmailId('M'), null);
      const c = await examine();
      assert.deepEqual(searchLine((await c.command('a', `UID SEARCH EMAILID ${id}`)).lines), [1], "Bob's copy shares the blob but is not Alice's");
      assert.deepEqual(searchLine((await c.command('b', `UID SEARCH NOT EMAILID ${id}`)).lines), [2, 3, 4]);
      c.close();
    });

    it('CHARSET UTF-8 with non-ASCII strings (literals); decoded subject, raw UTF-8 header, indexed UTF-8 body; unknown charset: NO [BADCHARSET] and no * SEARCH', async () => {
      const c = await examine();
      const lit = (tag: string, before: string, text: string, afterText = ''): Promise<{ lines: string[]; done: string }> => {
        const bytes = Buffer.from(text, 'utf8');
        c.write(Buffer.concat([Buffer.from(`${tag} ${before} {${bytes.length}+}\r\n`), bytes, Buffer.from(`${afterText}\r\n`)]));
        return c.until(tag);
      };
      const decode = (lines: string[]): string[] => lines.map((l) => Buffer.from(l, 'latin1').toString('utf8'));
      assert.deepEqual(searchLine((await lit('a', 'UID SEARCH CHARSET UTF-8 SUBJECT', 'ПРИВЕТ')).lines), [2], 'RFC 2047 subject, case-folded Cyrillic');
      assert.deepEqual(searchLine((await lit('b', 'UID SEARCH CHARSET UTF-8 BODY', 'булок')).lines), [2], 'indexed body');
      assert.deepEqual(searchLine((await lit('c', 'UID SEARCH CHARSET UTF-8 HEADER Subject', 'grüße')).lines), [4], 'raw UTF-8 header (RFC 6532)');
      assert.deepEqual(searchLine((await lit('d', 'UID SEARCH CHARSET UTF-8 SUBJECT', 'Grüße', ' UNSEEN')).lines), [4]);
      assert.deepEqual(searchLine((await lit('e', 'UID SEARCH CHARSET UTF-8 TEXT', 'мягких')).lines), [2]);
      // Another charset the runtime knows: ISO-8859-1 bytes for "Grüße", matched against UTF-8 text.
      c.write(Buffer.concat([Buffer.from('i UID SEARCH CHARSET ISO-8859-1 SUBJECT {5+}\r\n'), Buffer.from('Grüße', 'latin1'), Buffer.from('\r\n')]));
      assert.deepEqual(searchLine((await c.until('i')).lines), [4]);
      const bad = await c.command('f', 'SEARCH CHARSET X-NO-SUCH-CHARSET SUBJECT report');
      assert.match(bad.done, /^f NO \[BADCHARSET\]/);
      assert.deepEqual(bad.lines, []);
      // Invalid UTF-8 in the string: BAD, nothing found, the session goes on.
      c.write(Buffer.concat([Buffer.from('g SEARCH CHARSET UTF-8 SUBJECT {2+}\r\n'), Buffer.from([0xc3, 0x28]), Buffer.from('\r\n')]));
      const g = await c.until('g');
      assert.match(g.done, /^g BAD /);
      assert.deepEqual(decode(g.lines), []);
      assert.match((await c.command('h', 'NOOP')).done, /^h OK /);
      c.close();
    });

    it('ESEARCH (RFC 4731): MIN MAX COUNT ALL with sequence-set compression, RETURN () is ALL, empty results; IMAP4rev2 always answers ESEARCH (RFC 9051 6.4.4)', async () => {
      const c = await examine();
      const r1 = await c.command('e1', 'UID SEARCH RETURN (MIN MAX COUNT ALL) UNSEEN');
      assert.deepEqual(r1.lines, ['* ESEARCH (TAG "e1") UID MIN 2 MAX 4 COUNT 3 ALL 2:4']);
      assert.match(r1.done, /^e1 OK UID SEARCH completed/);
      assert.deepEqual((await c.command('e2', 'SEARCH RETURN () OR SEEN UID 3:4')).lines, ['* ESEARCH (TAG "e2") ALL 1,3:4']);
      assert.deepEqual((await c.command('e3', 'SEARCH RETURN (COUNT) SUBJECT nothing-matches')).lines, ['* ESEARCH (TAG "e3") COUNT 0']);
      assert.deepEqual((await c.command('e4', 'UID SEARCH RETURN (MIN ALL) SUBJECT nothing-matches')).lines, ['* ESEARCH (TAG "e4") UID']);
      assert.deepEqual((await c.command('e5', 'SEARCH RETURN (MAX) ALL')).lines, ['* ESEARCH (TAG "e5") MAX 4']);
      const c2 = await raw();
      assert.match((await c2.command('en', 'ENABLE IMAP4rev2')).done, /^en OK /);
      assert.match((await c2.command('x', 'EXAMINE Search')).done, /^x OK /);
      assert.deepEqual((await c2.command('r1', 'SEARCH UNSEEN')).lines, ['* ESEARCH (TAG "r1") ALL 2:4']);
      assert.deepEqual((await c2.command('r2', 'UID SEARCH SUBJECT nothing-matches')).lines, ['* ESEARCH (TAG "r2") UID']);
      c.close();
      c2.close();
    });

    it('MODSEQ (RFC 7162 3.1.5): * SEARCH ... (MODSEQ highest); ESEARCH MODSEQ; no MODSEQ when nothing matched', async () => {
      const rows = await t.db.query<{ uid: string; modseq: string }>('SELECT uid, modseq FROM messages WHERE mailbox_id = $1 ORDER BY uid', [searchBox]);
      const modseq = new Map(rows.map((r) => [Number(r.uid), BigInt(r.modseq)]));
      const top = [...modseq.values()].reduce((a, b) => (a > b ? a : b));
      const c = await examine();
      const r = await c.command('m1', 'SEARCH MODSEQ 1 UNSEEN');
      assert.deepEqual(r.lines, [`* SEARCH 2 3 4 (MODSEQ ${[2, 3, 4].map((u) => modseq.get(u)!).reduce((a, b) => (a > b ? a : b))})`]);
      assert.deepEqual((await c.command('m2', `UID SEARCH MODSEQ ${modseq.get(4)! + 1n}`)).lines, ['* SEARCH']);
      assert.deepEqual((await c.command('m3', `UID SEARCH MODSEQ "/flags/\\\\Seen" all ${modseq.get(3)}`)).lines, [`* SEARCH 3 4 (MODSEQ ${top})`]);
      assert.deepEqual((await c.command('m4', 'UID SEARCH RETURN (MIN) MODSEQ 1')).lines, [`* ESEARCH (TAG "m4") UID MIN 1 MODSEQ ${modseq.get(1)}`]);
      assert.deepEqual((await c.command('m5', 'UID SEARCH RETURN (COUNT) MODSEQ 1')).lines, [`* ESEARCH (TAG "m5") UID COUNT 4 MODSEQ ${top}`]);
      c.close();
    });

    it('imapflow: search with objects, UID results, and an ESEARCH-capable server', async () => {
      const client = new ImapFlow({ host: '127.0.0.1', port, secure: false, auth: { user: ALICE, pass: PW }, logger: false, disableAutoIdle: true });
      await client.connect();
      await client.mailboxOpen('Search', { readOnly: true });
      assert.deepEqual(await client.search({ seen: false }, { uid: true }), [2, 3, 4]);
      assert.deepEqual(await client.search({ subject: 'report' }), [1, 4]);
      assert.deepEqual(await client.search({ or: [{ flagged: true }, { deleted: true }] }, { uid: true }), [2, 3]);
      assert.deepEqual(await client.search({ body: 'noon' }, { uid: true }), [3]);
      // With WITHIN announced imapflow sends SINCE/BEFORE dates as YOUNGER/OLDER seconds (RFC 5032).
      assert.deepEqual(await client.search({ since: new Date('2023-01-31T23:00:00Z') }, { uid: true }), [3, 4]);
      assert.deepEqual(await client.search({ before: new Date('2023-01-04T00:00:00Z') }, { uid: true }), [1]);
      assert.deepEqual(await client.search({ header: { 'x-priority': '5' } }, { uid: true }), [3]);
      await client.logout();
    });

    it('python3 imaplib: SEARCH and UID SEARCH with CHARSET UTF-8', async () => {
      const script = `
import imaplib, json, sys
m = imaplib.IMAP4('127.0.0.1', int(sys.argv[1]))
m.login(sys.argv[2], sys.argv[3])
m.select('Search', readonly=True)
out = {}
out['unseen'] = m.search(None, 'UNSEEN')[1][0].decode()
out['uid_or'] = m.uid('SEARCH', 'OR', 'FLAGGED', 'DELETED')[1][0].decode()
m.literal = 'булок'.encode('utf-8')
out['body'] = m.search('UTF-8', 'BODY')[1][0].decode()
out['logout'] = m.logout()[0]
print(json.dumps(out))
`;
      const stdout = await new Promise<string>((resolve, reject) => {
        execFile('python3', ['-c', script, String(port), ALICE, PW], { timeout: 20_000 }, (err, out, errOut) => (err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out)));
      });
      assert.deepEqual(JSON.parse(stdout), { unseen: '2 3 4', uid_or: '2 3', body: '2', logout: 'BYE' });
    });

    it('SEARCHRES (RFC 5182): RETURN (SAVE) then UID FETCH $ / SEARCH $; MIN saves one message; a failed SEARCH empties $; nothing saved is empty', async () => {
      const c = await examine();
      // Nothing saved yet: "$" is the empty set (RFC 5182 2.1).
      const none = await c.command('a', 'UID FETCH $ (UID)');
      assert.deepEqual(none.lines, []);
      assert.match(none.done, /^a OK /);
      const save = await c.command('b', 'UID SEARCH RETURN (SAVE) SUBJECT report');
      assert.deepEqual(save.lines, [], 'SAVE alone sends no ESEARCH (RFC 5182 2.4)');
      assert.match(save.done, /^b OK /);
      assert.deepEqual((await c.command('c', 'UID FETCH $ (UID)')).lines, ['* 1 FETCH (UID 1)', '* 4 FETCH (UID 4)']);
      assert.deepEqual((await c.command('d', 'FETCH $ (FLAGS)')).lines, ['* 1 FETCH (FLAGS (\\Seen \\Answered Work))', '* 4 FETCH (FLAGS ())'], 'FETCH $');
      assert.deepEqual(searchLine((await c.command('e', 'UID SEARCH $ UNSEEN')).lines), [4]);
      assert.deepEqual(searchLine((await c.command('f', 'UID SEARCH UID $')).lines), [1, 4]);
      assert.deepEqual(searchLine((await c.command('f2', 'SEARCH OR $ 2')).lines), [1, 2, 4]);
      // SAVE with MIN (and no ALL/COUNT): just the lowest (RFC 5182 2.4); the ESEARCH still has MIN.
      assert.deepEqual((await c.command('g', 'UID SEARCH RETURN (SAVE MIN) UNSEEN')).lines, ['* ESEARCH (TAG "g") UID MIN 2']);
      assert.deepEqual(searchLine((await c.command('h', 'UID SEARCH $')).lines), [2]);
      assert.deepEqual((await c.command('h2', 'UID SEARCH RETURN (SAVE MIN MAX) UNSEEN')).lines, ['* ESEARCH (TAG "h2") UID MIN 2 MAX 4']);
      assert.deepEqual(searchLine((await c.command('h3', 'UID SEARCH $')).lines), [2, 4]);
      assert.deepEqual((await c.command('h4', 'UID SEARCH RETURN (SAVE MIN COUNT) UNSEEN')).lines, ['* ESEARCH (TAG "h4") UID MIN 2 COUNT 3']);
      assert.deepEqual(searchLine((await c.command('h5', 'UID SEARCH $')).lines), [2, 3, 4]);
      // "$" in COPY (RFC 5182 2.1: any command that takes a sequence set).
      await createMailbox(ctx, accounts.get(ALICE)!, 'Copies');
      assert.match((await c.command('h6', 'UID COPY $ Copies')).done, /^h6 OK \[COPYUID \d+ 2:4 1:3\] /);
      // A failing SEARCH with SAVE leaves the empty set.
      assert.match((await c.command('i', 'UID SEARCH RETURN (SAVE) SAVEDBEFORE 1-Jan-2024')).done, /^i BAD /);
      assert.deepEqual((await c.command('j', 'UID FETCH $ (UID)')).lines, []);
      c.close();
    });

    it('two sessions: a message expunged elsewhere but not yet reported, and one appended without EXISTS yet, are not returned (RFC 9051 7.4.1); "$" loses expunged messages', async () => {
      const account = accounts.get(ALICE)!;
      await createMailbox(ctx, account, 'Two');
      const two = await box(ALICE, 'Two');
      for (const s of ['t1', 't2', 't3']) await appendMessage(t.db, { mailboxId: two, raw: crlf([`Subject: two ${s}`, '', 'body', '']) });
      const c = await raw();
      assert.match((await c.command('a', 'SELECT Two')).done, /^a OK /);
      assert.match((await c.command('b', 'UID SEARCH RETURN (SAVE) ALL')).done, /^b OK /);
      await storeFlags(ctx, { accountId: account, mailboxId: two, uids: [{ first: 2, last: 2 }], operation: 'add', flags: ['\\Deleted'] });
      await expungeMessages(ctx, { accountId: account, mailboxId: two, uids: [{ first: 2, last: 2 }] });
      await appendMessage(t.db, { mailboxId: two, raw: crlf(['Subject: two t4', '', 'body', '']) });
      // The map still has 1, 2, 3: message 2 is gone, UID 4 is unknown to the client.
      assert.deepEqual(searchLine((await c.command('c', 'SEARCH SUBJECT two')).lines), [1, 3]);
      assert.deepEqual(searchLine((await c.command('d', 'UID SEARCH ALL')).lines), [1, 3]);
      assert.deepEqual(searchLine((await c.command('e', 'UID SEARCH UID 1:*')).lines), [1, 3]);
      const noop = await c.command('f', 'NOOP');
      assert.ok(noop.lines.includes('* 2 EXPUNGE'), JSON.stringify(noop.lines));
      assert.ok(noop.lines.includes('* 3 EXISTS'), JSON.stringify(noop.lines));
      assert.deepEqual(searchLine((await c.command('g', 'SEARCH ALL')).lines), [1, 2, 3]);
      assert.deepEqual(searchLine((await c.command('h', 'UID SEARCH ALL')).lines), [1, 3, 4]);
      // "$" saved 1:3 before; 2 was expunged (RFC 5182 2.1), 4 was never in it.
      assert.deepEqual(searchLine((await c.command('i', 'UID SEARCH $')).lines), [1, 3]);
      // "$" in STORE and UID EXPUNGE.
      const st = await c.command('j', 'STORE $ +FLAGS.SILENT (\\Deleted)');
      assert.match(st.done, /^j OK /);
      assert.deepEqual(searchLine((await c.command('k', 'UID SEARCH DELETED')).lines), [1, 3]);
      const ex = await c.command('l', 'UID EXPUNGE $');
      assert.deepEqual(ex.lines, ['* 2 EXPUNGE', '* 1 EXPUNGE']);
      assert.deepEqual(searchLine((await c.command('m', 'UID SEARCH ALL')).lines), [4]);
      assert.deepEqual(searchLine((await c.command('n', 'UID SEARCH $')).lines), []);
      c.close();
    });

    it('another account\'s messages are never returned; another account\'s mailbox id matches nothing in the store', async () => {
      const c = await raw(BOB);
      assert.match((await c.command('a', 'EXAMINE INBOX')).done, /^a OK /);
      assert.deepEqual(searchLine((await c.command('b', 'UID SEARCH SUBJECT report')).lines), [1]);
      assert.deepEqual(searchLine((await c.command('c', 'UID SEARCH ALL')).lines), [1]);
      c.close();
      const r = await searchMessages(t.db, accounts.get(BOB)!, searchBox, { kind: 'true' }, { maxUid: 100, withModseq: false });
      assert.equal(r.uids.length, 0);
      const own = await searchMessages(t.db, accounts.get(ALICE)!, searchBox, { kind: 'true' }, { maxUid: 3, withModseq: true });
      assert.deepEqual([...own.uids], [1, 2, 3], 'maxUid bounds the result');
      assert.equal(own.modseqs?.length, 3);
    });

    it('\\Recent (rev1): RECENT, NEW and OLD follow the session\'s claimed range', async () => {
      const b = new SelectedMailbox(searchBox, 'Search', true, 1 as UidValidity, Uint32Array.from([1, 2, 3, 4]), 1n);
      b.recent.push({ from: 3, to: 5 });
      const account = accounts.get(ALICE)!;
      const uidsOf = async (kind: 'RECENT' | 'NEW' | 'OLD'): Promise<number[]> => {
        const recent = { kind: 'uids' as const, ranges: b.recent.map((r) => ({ first: r.from as Uid, last: (r.to - 1) as Uid })) };
        const q = kind === 'RECENT' ? recent : kind === 'NEW' ? { kind: 'and' as const, operands: [recent, { kind: 'not' as const, operand: { kind: 'flag' as const, flag: 'seen' as const } }] } : { kind: 'not' as const, operand: recent };
        return [...(await services.searchMessages(account, searchBox, q, { maxUid: b.lastUid, withModseq: false })).uids];
      };
      assert.deepEqual(await uidsOf('RECENT'), [3, 4]);
      assert.deepEqual(await uidsOf('NEW'), [3, 4]);
      assert.deepEqual(await uidsOf('OLD'), [1, 2]);
      // The sequence-set helpers SEARCH uses: lenient above EXISTS, "*" the last, "$" the saved result.
      const seqs = (first: number | '*', last: number | '*', saved = false) => ({ ranges: [{ first: first as SeqNum | '*', last: last as SeqNum | '*' }], saved });
      assert.deepEqual(b.searchSeqUids(seqs(3, 9)), [{ first: 3, last: 4 }]);
      assert.deepEqual(b.searchSeqUids(seqs(7, 9)), []);
      b.saveResult(Uint32Array.from([1, 9]));
      assert.deepEqual(b.searchSeqUids(seqs('*', '*', true)), [{ first: 1, last: 1 }, { first: 4, last: 4 }]);
      assert.deepEqual([...b.saved], [1], 'UID 9 is not in the map');
    });

    it('\\Recent at the protocol (rev1 SELECT claims it, RFC 3501 6.4.4): RECENT, NEW (recent and unseen), OLD; a second session sees none recent', async () => {
      const account = accounts.get(ALICE)!;
      await createMailbox(ctx, account, 'Fresh');
      const fresh = await box(ALICE, 'Fresh');
      await appendMessage(t.db, { mailboxId: fresh, raw: crlf(['Subject: fresh one', '', 'x', '']), flags: ['\\Seen'] });
      await appendMessage(t.db, { mailboxId: fresh, raw: crlf(['Subject: fresh two', '', 'y', '']) });
      const c = await raw();
      assert.ok((await c.command('a', 'SELECT Fresh')).lines.includes('* 2 RECENT'));
      assert.deepEqual(searchLine((await c.command('b', 'SEARCH RECENT')).lines), [1, 2]);
      assert.deepEqual(searchLine((await c.command('c', 'SEARCH NEW')).lines), [2]);
      assert.deepEqual(searchLine((await c.command('d', 'SEARCH OLD')).lines), []);
      const other = await raw();
      assert.ok((await other.command('a', 'SELECT Fresh')).lines.includes('* 0 RECENT'));
      assert.deepEqual(searchLine((await other.command('b', 'SEARCH RECENT')).lines), []);
      assert.deepEqual(searchLine((await other.command('c', 'SEARCH OLD')).lines), [1, 2]);
      c.close();
      other.close();
    });

    it('bad input: missing arguments, unknown keys, SAVEDATE keys, too many keys: BAD and the session goes on; not in the authenticated state', async () => {
      const c = await raw();
      assert.match((await c.command('a', 'SEARCH ALL')).done, /^a BAD SEARCH needs a selected mailbox/);
      assert.match((await c.command('b', 'EXAMINE Search')).done, /^b OK /);
      for (const [tag, cmd] of [
        ['c', 'SEARCH'],
        ['d', 'SEARCH SUBJECT'],
        ['e', 'SEARCH FROBNICATE'],
        ['f', 'SEARCH BEFORE 32-Jan-2023'],
        ['g', 'SEARCH LARGER x'],
        ['h', 'UID SEARCH OR SEEN'],
        ['i', 'SEARCH RETURN (BOGUS) ALL'],
        ['j', 'SEARCH (SEEN'],
        ['k', 'SEARCH SAVEDSINCE 1-Jan-2020'],
        ['l', 'SEARCH SAVEDATESUPPORTED'],
        ['m', `SEARCH ${Array.from({ length: 1001 }, () => 'ALL').join(' ')}`],
      ] as const) {
        const r = await c.command(tag, cmd);
        assert.match(r.done, new RegExp(`^${tag} BAD `), cmd);
        assert.deepEqual(r.lines.filter((l) => l.startsWith('* SEARCH') || l.startsWith('* ESEARCH')), [], cmd);
      }
      assert.match((await c.command('m', 'SEARCH SAVEDATESUPPORTED')).done, /SAVEDATE/);
      assert.deepEqual(searchLine((await c.command('n', `SEARCH ${Array.from({ length: 999 }, () => 'ALL').join(' ')}`)).lines), [1, 2, 3, 4]);
      assert.match((await c.command('o', 'NOOP')).done, /^o OK /);
      c.close();
    });
  });
}
