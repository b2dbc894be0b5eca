/**
 * IMAP mailbox management (RFC 9051 6.3.4-6.3.8, RFC 6154 CREATE-SPECIAL-USE,
 * RFC 5530 response codes) on both database engines: imapflow for the
 * ordinary client's view, the raw client (test/helpers/imap-raw.ts) for the
 * exact responses. Each test uses its own account, so they do not depend on
 * each other.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ImapFlow } from 'imapflow';
import { ensureTlsMaterial } from '../src/config/tls.ts';
import { addAccount } from '../src/core/accounts.ts';
import { appendMessage } from '../src/core/append.ts';
import type { CoreContext } from '../src/core/context.ts';
import { createImapCoreServices } from '../src/core/imap-services.ts';
import { MailboxChangeFeed } from '../src/core/mailbox-change-feed.ts';
import { getMailboxByName } from '../src/core/mailboxes.ts';
import { localDirectory } from '../src/directory/local.ts';
import type { AccountId } from '../src/lib/ids.ts';
import { createLogger } from '../src/lib/log.ts';
import { encodeModifiedUtf7 } from '../src/protocols/imap/parser/index.ts';
import { startImapServer, type RunningImapServer } from '../src/protocols/imap/server.ts';
import type { ImapLimits, ImapServices } from '../src/protocols/imap/services.ts';
import { listMessages } from '../src/store/messages.ts';
import { engines, testContext, type TestDb } from './helpers/db.ts';
import { RawImap } from './helpers/imap-raw.ts';

const PW = 'imap mailboxes password';
const log = createLogger({ level: 'fatal' });

function message(subject: string): Buffer {
  return Buffer.from(`From: a@remote.test\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}@remote.test>\r\n\r\nHello.\r\n`);
}

/** The names of `* LIST` / `* LSUB` lines, with their attribute lists (quoted names only). */
function listed(lines: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const l of lines) {
    const m = /^\* (?:LIST|LSUB) \(([^)]*)\) "\/" "?([^"]*)"?/.exec(l);
    if (m) out.set(m[2]!, m[1]!);
  }
  return out;
}

for (const engine of engines()) {
  describe(`IMAP mailbox management (${engine.name})`, () => {
    let t: TestDb;
    let ctx: CoreContext;
    let feed: MailboxChangeFeed;
    let server: RunningImapServer;
    let port: number;
    let tlsDir: string;
    const limits: ImapLimits = { appendLimit: 5_000_000, allowPlaintextAuth: false, authFailuresPerIpPerMinute: 1000, idleTimeoutSeconds: 1800 };
    let n = 0;

    const account = async (): Promise<{ address: string; id: AccountId }> => {
      const address = `user${++n}@boxes.test`;
      const { id } = await addAccount(ctx, { address, password: PW, createDomain: true });
      return { address, id };
    };
    const loggedIn = async (address: string): Promise<RawImap> => {
      const c = await RawImap.open(port, { tls: true });
      assert.match(await c.line(), /^\* OK /);
      assert.match((await c.command('L1', `LOGIN ${address} "${PW}"`)).done, /^L1 OK /);
      return c;
    };
    const flow = async (address: string): Promise<ImapFlow> => {
      const client = new ImapFlow({
        host: '127.0.0.1', port, secure: true, tls: { rejectUnauthorized: false }, auth: { user: address, pass: PW }, logger: false, disableAutoIdle: true,
      });
      await client.connect();
      return client;
    };
    const exists = async (id: AccountId, name: string): Promise<boolean> => getMailboxByName(ctx, id, name).then(() => true, () => false);

    before(async () => {
      t = await engine.create();
      ctx = testContext(t.db);
      feed = new MailboxChangeFeed(t.db);
      const directory = localDirectory(t.db, { subaddressSeparator: () => '+' });
      const services: ImapServices = { ...createImapCoreServices(t.db, directory, { node: 'test', feed }), limits: () => limits };
      tlsDir = await mkdtemp(join(tmpdir(), 'tegu-imap-boxes-'));
      const material = await ensureTlsMaterial({ dataDir: tlsDir, hostname: 'imap.corp.test' });
      server = await startImapServer({
        mode: 'imaps', listen: { host: '127.0.0.1', port: 0 }, hostname: 'imap.corp.test', serverInfo: { name: 'TEGU', version: 'test' },
        tls: { cert: material.cert, key: material.key }, services, log,
      });
      port = server.address.port;
    });
    after(async () => {
      await server.close();
      await feed.close();
      await t.drop();
      await rm(tlsDir, { recursive: true, force: true });
    });

    it('imapflow: create nested (superiors appear), rename with children, delete, subscribe/unsubscribe', async () => {
      const a = await account();
      const client = await flow(a.address);
      try {
        assert.ok(client.capabilities.has('CREATE-SPECIAL-USE'));
        const made = await client.mailboxCreate(['Projects', '2024', 'Q1']);
        assert.equal(made.path, 'Projects/2024/Q1');
        assert.equal(made.created, true);
        const again = await client.mailboxCreate('Projects/2024/Q1');
        assert.notEqual(again.created, true, 'ALREADYEXISTS: not created, and no error');
        let paths = (await client.list()).map((b) => b.path);
        for (const p of ['Projects', 'Projects/2024', 'Projects/2024/Q1']) assert.ok(paths.includes(p), p);

        const renamed = await client.mailboxRename('Projects', 'Work');
        assert.equal(renamed.newPath, 'Work');
        paths = (await client.list()).map((b) => b.path);
        for (const p of ['Work', 'Work/2024', 'Work/2024/Q1']) assert.ok(paths.includes(p), p);
        assert.ok(!paths.some((p) => p.startsWith('Projects')), 'nothing left under the old name');

        await client.mailboxDelete('Work/2024/Q1');
        paths = (await client.list()).map((b) => b.path);
        assert.ok(!paths.includes('Work/2024/Q1'));
        await assert.rejects(client.mailboxDelete('Work/2024/Q1'));

        assert.equal(await client.mailboxSubscribe('Work/2024'), true);
        let sub = (await client.list()).find((b) => b.path === 'Work/2024');
        assert.equal(sub?.subscribed, true);
        assert.equal(await client.mailboxUnsubscribe('Work/2024'), true);
        sub = (await client.list()).find((b) => b.path === 'Work/2024');
        assert.ok(sub && !sub.subscribed);
      } finally {
        await client.logout();
      }
    });

    it('CREATE: special use (RFC 6154 3), USEATTR, ALREADYEXISTS, INBOX variants, trailing delimiter (RFC 9051 6.3.4)', async () => {
      const a = await account();
      const c = await loggedIn(a.address);
      try {
        assert.match((await c.command('C1', 'CAPABILITY')).lines[0]!, / CREATE-SPECIAL-USE /);
        assert.match((await c.command('A1', 'CREATE "Old Mail" (USE (\\Archive))')).done, /^A1 OK /);
        const l = listed((await c.command('A2', 'LIST "" "Old Mail" RETURN (SPECIAL-USE)')).lines);
        assert.match(l.get('Old Mail')!, /\\Archive/);
        assert.equal((await c.command('A3', 'CREATE Plain (USE ())')).done, 'A3 OK CREATE completed');

        assert.match((await c.command('B1', 'CREATE Everything (USE (\\All))')).done, /^B1 NO \[USEATTR\] /);
        assert.match((await c.command('B2', 'CREATE Two (USE (\\Archive \\Trash))')).done, /^B2 NO \[USEATTR\] /);
        assert.match((await c.command('B3', 'CREATE Odd (USE (\\Whatever))')).done, /^B3 NO \[USEATTR\] /);
        assert.equal(await exists(a.id, 'Everything'), false, 'a refused special use creates nothing (RFC 6154 3)');
        assert.equal(await exists(a.id, 'Two'), false);

        assert.match((await c.command('D1', 'CREATE "Old Mail"')).done, /^D1 NO \[ALREADYEXISTS\] /);
        for (const [tag, name] of [['I1', 'INBOX'], ['I2', 'inbox'], ['I3', 'Inbox/'], ['I4', 'Sent']] as const) {
          assert.match((await c.command(tag, `CREATE ${name}`)).done, new RegExp(`^${tag} NO \\[ALREADYEXISTS\\] `));
        }

        assert.match((await c.command('T1', 'CREATE Trail/')).done, /^T1 OK /);
        const names = listed((await c.command('T2', 'LIST "" "Trail*"')).lines);
        assert.deepEqual([...names.keys()], ['Trail'], 'created without the trailing delimiter');
        assert.match((await c.command('T3', 'CREATE "Bad%Name"')).done, /^T3 NO \[CANNOT\] /);
        assert.match((await c.command('T4', 'CREATE a//b')).done, /^T4 NO \[CANNOT\] /);
      } finally {
        c.close();
      }
    });

    it('DELETE: NONEXISTENT, INBOX refused, a mailbox with inferiors leaves a \\Noselect / \\NonExistent name (RFC 9051 6.3.5)', async () => {
      const a = await account();
      const c = await loggedIn(a.address);
      try {
        assert.match((await c.command('A1', 'CREATE Parent/Child')).done, /^A1 OK /);
        assert.match((await c.command('A2', 'DELETE Parent')).done, /^A2 OK /);
        const rev1 = listed((await c.command('A3', 'LIST "" "Parent*"')).lines);
        assert.match(rev1.get('Parent')!, /\\Noselect/);
        assert.match(rev1.get('Parent')!, /\\HasChildren/);
        assert.match(rev1.get('Parent/Child')!, /\\HasNoChildren/);
        const ext = listed((await c.command('A4', 'LIST () "" "Parent" RETURN (CHILDREN)')).lines);
        assert.match(ext.get('Parent')!, /\\NonExistent/);
        assert.equal(await exists(a.id, 'Parent/Child'), true, 'inferiors stay');

        assert.match((await c.command('B1', 'DELETE Parent')).done, /^B1 NO \[NONEXISTENT\] /, 'a name with only inferiors');
        assert.match((await c.command('B2', 'DELETE Nothing')).done, /^B2 NO \[NONEXISTENT\] /);
        assert.match((await c.command('B3', 'DELETE INBOX')).done, /^B3 NO \[CANNOT\] /);
        assert.match((await c.command('B4', 'DELETE inbox')).done, /^B4 NO \[CANNOT\] /);

        // CREATE gives the name back its mailbox.
        assert.match((await c.command('C1', 'CREATE Parent')).done, /^C1 OK /);
        const again = listed((await c.command('C2', 'LIST "" "Parent"')).lines);
        assert.doesNotMatch(again.get('Parent')!, /\\Noselect/);
      } finally {
        c.close();
      }
    });

    it('RENAME: children move, ALREADYEXISTS / NONEXISTENT / below itself; subscriptions follow (RFC 9051 6.3.6)', async () => {
      const a = await account();
      const c = await loggedIn(a.address);
      try {
        await c.command('A0', 'CREATE Lists/Dev/Core');
        assert.match((await c.command('A1', 'SUBSCRIBE Lists/Dev')).done, /^A1 OK /);
        assert.match((await c.command('A2', 'RENAME Lists Groups/Mail')).done, /^A2 OK /);
        const names = [...listed((await c.command('A3', 'LIST "" "*"')).lines).keys()];
        for (const p of ['Groups', 'Groups/Mail', 'Groups/Mail/Dev', 'Groups/Mail/Dev/Core']) assert.ok(names.includes(p), p);
        assert.ok(!names.some((p) => p.startsWith('Lists')));
        const subs = [...listed((await c.command('A4', 'LSUB "" "*"')).lines).keys()];
        assert.ok(subs.includes('Groups/Mail/Dev') && !subs.includes('Lists/Dev'), 'the subscription moved');

        assert.match((await c.command('B1', 'RENAME Groups/Mail Sent')).done, /^B1 NO \[ALREADYEXISTS\] /);
        assert.match((await c.command('B2', 'RENAME Nowhere Somewhere')).done, /^B2 NO \[NONEXISTENT\] /);
        assert.match((await c.command('B3', 'RENAME Groups Groups/Inner')).done, /^B3 NO \[CANNOT\] /);
        assert.match((await c.command('B4', 'RENAME Groups/Mail/Dev Groups/Mail/Dev')).done, /^B4 NO \[ALREADYEXISTS\] /);
      } finally {
        c.close();
      }
    });

    it('RENAME INBOX: INBOX stays, empty; the new mailbox has the messages (RFC 9051 6.3.6)', async () => {
      const a = await account();
      const inbox = await getMailboxByName(ctx, a.id, 'INBOX');
      for (const s of ['one', 'two']) await appendMessage(t.db, { mailboxId: inbox.id, raw: message(s) });
      const c = await loggedIn(a.address);
      try {
        assert.match((await c.command('A1', 'RENAME inbox "Old Inbox"')).done, /^A1 OK /);
        assert.equal((await c.command('A2', 'STATUS INBOX (MESSAGES)')).lines[0], '* STATUS "INBOX" (MESSAGES 0)');
        assert.equal((await c.command('A3', 'STATUS "Old Inbox" (MESSAGES)')).lines[0], '* STATUS "Old Inbox" (MESSAGES 2)');
        assert.equal((await getMailboxByName(ctx, a.id, 'INBOX')).id, inbox.id, 'INBOX keeps its id');
        assert.equal((await listMessages(t.db, (await getMailboxByName(ctx, a.id, 'Old Inbox')).id)).length, 2);
        assert.match((await c.command('A4', 'RENAME INBOX "Old Inbox"')).done, /^A4 NO \[ALREADYEXISTS\] /);
      } finally {
        c.close();
      }
    });

    it('SUBSCRIBE / UNSUBSCRIBE: LSUB and LIST (SUBSCRIBED); UNSUBSCRIBE of a name not subscribed is OK (RFC 9051 6.3.7, 6.3.8)', async () => {
      const a = await account();
      const c = await loggedIn(a.address);
      try {
        await c.command('A0', 'CREATE News');
        assert.match((await c.command('A1', 'SUBSCRIBE News')).done, /^A1 OK /);
        assert.match((await c.command('A2', 'SUBSCRIBE Ghost')).done, /^A2 OK /, 'a name that does not exist may be subscribed');
        assert.match((await c.command('A3', 'SUBSCRIBE News')).done, /^A3 OK /, 'idempotent');
        let lsub = listed((await c.command('A4', 'LSUB "" "*"')).lines);
        assert.ok(lsub.has('News') && lsub.has('Ghost'));
        const sel = listed((await c.command('A5', 'LIST (SUBSCRIBED) "" "*"')).lines);
        assert.match(sel.get('News')!, /\\Subscribed/);
        assert.match(sel.get('Ghost')!, /\\NonExistent/);
        const ret = listed((await c.command('A6', 'LIST "" "News" RETURN (SUBSCRIBED)')).lines);
        assert.match(ret.get('News')!, /\\Subscribed/);

        assert.match((await c.command('B1', 'UNSUBSCRIBE News')).done, /^B1 OK /);
        assert.match((await c.command('B2', 'UNSUBSCRIBE News')).done, /^B2 OK /, 'not subscribed: still OK');
        assert.match((await c.command('B3', 'UNSUBSCRIBE Never')).done, /^B3 OK /);
        lsub = listed((await c.command('B4', 'LSUB "" "*"')).lines);
        assert.ok(!lsub.has('News') && lsub.has('Ghost'));
        const plain = listed((await c.command('B5', 'LIST "" "News" RETURN (SUBSCRIBED)')).lines);
        assert.doesNotMatch(plain.get('News')!, /\\Subscribed/);

        // DELETE keeps the subscription (RFC 9051 6.3.7).
        await c.command('C0', 'SUBSCRIBE News');
        assert.match((await c.command('C1', 'DELETE News')).done, /^C1 OK /);
        assert.ok(listed((await c.command('C2', 'LSUB "" "*"')).lines).has('News'));
      } finally {
        c.close();
      }
    });

    it('names: modified UTF-7 for a rev1 client, UTF-8 after ENABLE UTF8=ACCEPT (RFC 9051 5.1.3, RFC 6855 3)', async () => {
      const a = await account();
      const c = await loggedIn(a.address);
      try {
        const mutf7 = encodeModifiedUtf7('Été/Reçus');
        assert.equal(mutf7, '&AMk-t&AOk-/Re&AOc-us');
        assert.match((await c.command('A1', `CREATE "${mutf7}"`)).done, /^A1 OK /);
        assert.equal(await exists(a.id, 'Été/Reçus'), true, 'stored decoded');
        const names = [...listed((await c.command('A2', 'LIST "" "*"')).lines).keys()];
        assert.ok(names.includes('&AMk-t&AOk-') && names.includes(mutf7), 'listed in modified UTF-7');
        assert.match((await c.command('A3', `RENAME "${mutf7}" "${encodeModifiedUtf7('Été/Zürich')}"`)).done, /^A3 OK /);
        assert.equal(await exists(a.id, 'Été/Zürich'), true);
        assert.match((await c.command('A4', `SUBSCRIBE "${encodeModifiedUtf7('Été/Zürich')}"`)).done, /^A4 OK /);

        assert.match((await c.command('E1', 'ENABLE UTF8=ACCEPT')).done, /^E1 OK /);
        c.write(Buffer.from('U1 CREATE "Ünïcode/日本"\r\n', 'utf8'));
        assert.match((await c.until('U1')).done, /^U1 OK /);
        assert.equal(await exists(a.id, 'Ünïcode/日本'), true);
        const after = (await c.command('U2', 'LSUB "" "*"')).lines.map((l) => Buffer.from(l, 'latin1').toString('utf8'));
        assert.ok(after.some((l) => l.endsWith('"Été/Zürich"')), `LSUB in UTF-8: ${after.join(' | ')}`);
        c.write(Buffer.from('U3 DELETE "Ünïcode/日本"\r\n', 'utf8'));
        assert.match((await c.until('U3')).done, /^U3 OK /);
        assert.equal(await exists(a.id, 'Ünïcode/日本'), false);
      } finally {
        c.close();
      }
    });

    it("names are per account: one user never creates, deletes, renames or subscribes in another's tree", async () => {
      const alice = await account();
      const bob = await account();
      const bobArchive = await getMailboxByName(ctx, bob.id, 'Archive');
      await appendMessage(t.db, { mailboxId: bobArchive.id, raw: message('bob archived') });
      const b = await loggedIn(bob.address);
      const c = await loggedIn(alice.address);
      try {
        assert.match((await b.command('B1', 'CREATE BobOnly/Inner')).done, /^B1 OK /);

        assert.match((await c.command('A1', 'DELETE Archive')).done, /^A1 OK /);
        assert.equal(await exists(alice.id, 'Archive'), false);
        assert.equal((await getMailboxByName(ctx, bob.id, 'Archive')).id, bobArchive.id, "bob's Archive stays");
        assert.equal((await listMessages(t.db, bobArchive.id)).length, 1);

        assert.match((await c.command('A2', 'DELETE BobOnly/Inner')).done, /^A2 NO \[NONEXISTENT\] /);
        assert.match((await c.command('A3', 'RENAME BobOnly Mine')).done, /^A3 NO \[NONEXISTENT\] /);
        assert.match((await c.command('A4', 'CREATE BobOnly')).done, /^A4 OK /, "alice's own name, beside bob's");
        assert.match((await c.command('A5', 'SUBSCRIBE BobOnly/Inner')).done, /^A5 OK /);
        assert.match((await c.command('A6', 'RENAME BobOnly AliceOnly')).done, /^A6 OK /);

        assert.equal(await exists(bob.id, 'BobOnly/Inner'), true);
        assert.equal(await exists(bob.id, 'BobOnly'), true);
        assert.equal(await exists(bob.id, 'AliceOnly'), false);
        const bobSubs = [...listed((await b.command('B2', 'LSUB "" "*"')).lines).keys()];
        assert.ok(!bobSubs.includes('BobOnly/Inner'), "alice's subscription is not bob's");
        const bobNames = [...listed((await b.command('B3', 'LIST "" "*"')).lines).keys()];
        assert.ok(bobNames.includes('Archive') && !bobNames.includes('AliceOnly'));
      } finally {
        b.close();
        c.close();
      }
    });

    it('IMAP4rev2: a name left by DELETE is \\NonExistent in LIST (RFC 9051 7.3.1)', async () => {
      const a = await account();
      const c = await loggedIn(a.address);
      try {
        assert.match((await c.command('E1', 'ENABLE IMAP4rev2')).done, /^E1 OK /);
        await c.command('A1', 'CREATE Top/Leaf');
        assert.match((await c.command('A2', 'DELETE Top')).done, /^A2 OK /);
        const l = listed((await c.command('A3', 'LIST "" "Top"')).lines);
        assert.match(l.get('Top')!, /\\NonExistent/);
      } finally {
        c.close();
      }
    });
  });
}
