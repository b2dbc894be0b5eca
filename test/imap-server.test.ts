/**
 * The IMAP server and session (first increment: connection, login, LIST,
 * STATUS, APPEND, IDLE, limits), on both database engines, with real
 * clients: imapflow, python3's imaplib, and a raw socket where the bytes
 * matter (test/helpers/imap-raw.ts).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tcpConnect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ImapFlow } from 'imapflow';
import { ensureTlsMaterial } from '../src/config/tls.ts';
import { addAccount } from '../src/core/accounts.ts';
import { appendMessage } from '../src/core/append.ts';
import type { CoreContext } from '../src/core/context.ts';
import { createImapCoreServices } from '../src/core/imap-services.ts';
import { MailboxChangeFeed } from '../src/core/mailbox-change-feed.ts';
import { createMailbox, deleteMailbox, subscribe } from '../src/core/mailbox-tree.ts';
import { getMailboxByName } from '../src/core/mailboxes.ts';
import { localDirectory } from '../src/directory/local.ts';
import type { AccountId, MailboxId } from '../src/lib/ids.ts';
import { createLogger } from '../src/lib/log.ts';
import { startImapServer, type ImapServerOptions, type RunningImapServer } from '../src/protocols/imap/server.ts';
import type { ImapLimits, ImapServices } from '../src/protocols/imap/services.ts';
import { listMessages, readMessageBytes } from '../src/store/messages.ts';
import { engines, testContext, type TestDb } from './helpers/db.ts';
import { RawImap } from './helpers/imap-raw.ts';

const PW = 'imap test password';
const log = createLogger({ level: 'fatal' });
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

function message(subject: string, body = 'Hello.\r\n'): Buffer {
  return Buffer.from(`From: a@remote.test\r\nTo: alice@imap.test\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}@remote.test>\r\n\r\n${body}`);
}

for (const engine of engines()) {
  describe(`IMAP server (${engine.name})`, () => {
    let t: TestDb;
    let ctx: CoreContext;
    let feed: MailboxChangeFeed;
    let services: ImapServices;
    let tls: { cert: string; key: string };
    let tlsDir: string;
    const limits: ImapLimits = { appendLimit: 5_000_000, allowPlaintextAuth: false, authFailuresPerIpPerMinute: 100, idleTimeoutSeconds: 1800 };
    const servers: RunningImapServer[] = [];
    const accounts = new Map<string, AccountId>();
    const ALICE = 'alice@imap.test';
    const BOB = 'bob@imap.test';

    const start = async (mode: 'imap' | 'imaps', extra: Partial<ImapServerOptions> = {}): Promise<number> => {
      const s = await startImapServer({
        mode,
        listen: { host: '127.0.0.1', port: 0 },
        hostname: 'imap.corp.test',
        serverInfo: { name: 'TEGU', version: 'test' },
        tls,
        services,
        log,
        ...extra,
      });
      servers.push(s);
      return s.address.port;
    };
    const box = async (address: string, name: string): Promise<MailboxId> => (await getMailboxByName(ctx, accounts.get(address)!, name)).id;
    const stored = async (address: string, name: string): Promise<{ uid: number; bytes: Buffer }[]> => {
      const out: { uid: number; bytes: Buffer }[] = [];
      for (const m of await listMessages(t.db, await box(address, name))) out.push({ uid: m.uid, bytes: (await readMessageBytes(t.db, m.id))! });
      return out;
    };
    /** A raw session on an implicit-TLS listener, logged in. */
    const loggedIn = async (port: number, user = ALICE): Promise<RawImap> => {
      const c = await RawImap.open(port, { tls: true });
      assert.match(await c.line(), /^\* OK /);
      assert.match((await c.command('L1', `LOGIN ${user} "${PW}"`)).done, /^L1 OK /);
      return c;
    };

    before(async () => {
      t = await engine.create();
      ctx = testContext(t.db);
      feed = new MailboxChangeFeed(t.db);
      const directory = localDirectory(t.db, { subaddressSeparator: () => '+' });
      services = { ...createImapCoreServices(t.db, directory, { node: 'test', feed }), limits: () => limits };
      tlsDir = await mkdtemp(join(tmpdir(), 'tegu-imap-tls-'));
      const material = await ensureTlsMaterial({ dataDir: tlsDir, hostname: 'imap.corp.test' });
      tls = { cert: material.cert, key: material.key };
      for (const a of [ALICE, BOB]) accounts.set(a, (await addAccount(ctx, { address: a, password: PW, createDomain: true })).id);
      await appendMessage(t.db, { mailboxId: await box(ALICE, 'INBOX'), raw: message('seeded 1'), flags: ['\\Seen'] });
      await appendMessage(t.db, { mailboxId: await box(ALICE, 'INBOX'), raw: message('seeded 2') });
      await createMailbox(ctx, accounts.get(ALICE)!, 'Private');
    });
    after(async () => {
      for (const s of servers) await s.close();
      await feed.close();
      await t.drop();
      await rm(tlsDir, { recursive: true, force: true });
    });

    it('imapflow over STARTTLS: LOGIN, LIST with special-use attributes, STATUS (RFC 9051 6.2.1, 6.3.9, 6.3.11; RFC 6154)', async () => {
      const port = await start('imap');
      const client = new ImapFlow({
        host: '127.0.0.1', port, secure: false, doSTARTTLS: true, tls: { rejectUnauthorized: false },
        auth: { user: ALICE, pass: PW, loginMethod: 'LOGIN' }, logger: false, disableAutoIdle: true,
      });
      await client.connect();
      try {
        assert.ok(client.capabilities.has('IMAP4rev2'));
        assert.ok(!client.capabilities.has('LOGINDISABLED'), 'after TLS and login');
        const boxes = await client.list();
        const byPath = new Map(boxes.map((b) => [b.path, b]));
        assert.deepEqual([...byPath.keys()].sort(), ['Archive', 'Drafts', 'INBOX', 'Junk', 'Private', 'Sent', 'Trash']);
        assert.equal(byPath.get('Sent')!.specialUse, '\\Sent');
        assert.ok(byPath.get('Trash')!.flags.has('\\Trash'));
        assert.equal(byPath.get('Junk')!.specialUse, '\\Junk');
        assert.ok(byPath.get('INBOX')!.subscribed, 'default mailboxes are subscribed');
        const st = await client.status('INBOX', { messages: true, uidNext: true, uidValidity: true, unseen: true });
        assert.ok(st);
        assert.equal(st.messages, 2);
        assert.equal(st.unseen, 1);
        assert.equal(st.uidNext, 3);
        assert.ok(st.uidValidity && st.uidValidity > 0n);
      } finally {
        await client.logout();
      }
    });

    it('imapflow over implicit TLS (RFC 8314) with AUTHENTICATE PLAIN: APPEND stored byte-exact, APPENDUID matches (RFC 4315 3)', async () => {
      const port = await start('imaps');
      const client = new ImapFlow({
        host: '127.0.0.1', port, secure: true, tls: { rejectUnauthorized: false }, auth: { user: ALICE, pass: PW }, logger: false, disableAutoIdle: true,
      });
      await client.connect();
      try {
        const raw = message('appended by imapflow', 'Привет, мир.\r\n');
        const date = new Date('2024-03-01T10:20:30Z');
        const res = await client.append('Drafts', raw, ['\\Draft', '\\Seen', '$Label1'], date);
        assert.ok(res && res.uid !== undefined && res.uidValidity !== undefined);
        const drafts = await getMailboxByName(ctx, accounts.get(ALICE)!, 'Drafts');
        assert.equal(BigInt(drafts.uidValidity), res.uidValidity);
        const [m] = (await listMessages(t.db, drafts.id)).filter((x) => x.uid === res.uid);
        assert.ok(m, 'the message with the APPENDUID UID exists');
        assert.deepEqual(await readMessageBytes(t.db, m.id), raw, 'byte-exact');
        assert.deepEqual(m.flags, { seen: true, answered: false, flagged: false, deleted: false, draft: true });
        assert.deepEqual(m.keywords, ['$Label1']);
        assert.equal(m.internalDate.getTime(), date.getTime());

        // 2 MiB: above the 1 MiB spool chunk, so it goes through the database spool.
        const big = Buffer.concat([message('big'), Buffer.alloc(2 * 1024 * 1024, 'abcdefghij\r\n')]);
        const res2 = await client.append('INBOX', big);
        assert.ok(res2 && res2.uid);
        const stored2 = (await stored(ALICE, 'INBOX')).find((x) => x.uid === res2.uid);
        assert.ok(stored2?.bytes.equals(big), 'the spooled message is byte-exact');
        const after = await client.status('INBOX', { messages: true });
        assert.ok(after && after.messages === 3);
      } finally {
        await client.logout();
      }
    });

    it('python3 imaplib over IMAPS: LOGIN, LIST, APPEND, LOGOUT', async () => {
      const port = await start('imaps');
      const script = `
import imaplib, json, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
m = imaplib.IMAP4_SSL('127.0.0.1', int(sys.argv[1]), ssl_context=ctx)
out = {'login': m.login(sys.argv[2], sys.argv[3])[0]}
typ, data = m.list()
out['list'] = [d.decode() for d in data]
typ, data = m.append('INBOX', '(\\\\Flagged)', None, b'Subject: from python\\r\\n\\r\\nhi\\r\\n')
out['append'] = [typ, data[0].decode()]
out['status'] = m.status('INBOX', '(MESSAGES)')[1][0].decode()
out['logout'] = m.logout()[0]
print(json.dumps(out))
`;
      const stdout = await new Promise<string>((resolve, reject) => {
        execFile('python3', ['-c', script, String(port), BOB, PW], { timeout: 20_000 }, (err, out, errOut) => (err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out)));
      });
      const r = JSON.parse(stdout) as { login: string; list: string[]; append: [string, string]; status: string; logout: string };
      assert.equal(r.login, 'OK');
      assert.ok(r.list.includes('(\\HasNoChildren \\Sent) "/" Sent') || r.list.some((l) => /\\Sent\) "\/" "?Sent"?$/.test(l)), JSON.stringify(r.list));
      assert.equal(r.list.length, 6, 'bob sees his six mailboxes, not alice\'s Private');
      assert.equal(r.append[0], 'OK');
      assert.match(r.append[1], /^\[APPENDUID \d+ 1\] APPEND completed$/);
      assert.match(r.status, /^"?INBOX"? \(MESSAGES 1\)$/);
      assert.equal(r.logout, 'BYE');
      assert.equal((await stored(BOB, 'INBOX'))[0]?.bytes.toString(), 'Subject: from python\r\n\r\nhi\r\n');
    });

    it('before TLS: LOGINDISABLED, no AUTH=PLAIN, LOGIN and AUTHENTICATE refused NO [PRIVACYREQUIRED]; after STARTTLS they work (RFC 9051 6.2.3)', async () => {
      const port = await start('imap');
      const c = await RawImap.open(port);
      const greeting = await c.line();
      assert.match(greeting, /^\* OK \[CAPABILITY IMAP4rev2 IMAP4rev1 STARTTLS LOGINDISABLED /);
      assert.doesNotMatch(greeting, /AUTH=PLAIN/);
      assert.match((await c.command('a', `LOGIN ${ALICE} "${PW}"`)).done, /^a NO \[PRIVACYREQUIRED\] /);
      assert.match((await c.command('b', `AUTHENTICATE PLAIN ${b64(`\0${ALICE}\0${PW}`)}`)).done, /^b NO \[PRIVACYREQUIRED\] /);
      assert.match((await c.command('c', 'STARTTLS')).done, /^c OK /);
      await c.upgrade();
      const caps = await c.command('d', 'CAPABILITY');
      assert.match(caps.lines[0]!, /^\* CAPABILITY IMAP4rev2 IMAP4rev1 AUTH=PLAIN SASL-IR /);
      assert.doesNotMatch(caps.lines[0]!, /STARTTLS|LOGINDISABLED/);
      assert.match((await c.command('e', `LOGIN ${ALICE} "${PW}"`)).done, /^e OK \[CAPABILITY IMAP4rev2 IMAP4rev1 LITERAL\+ /);
      c.close();

      // With auth.allowPlaintext, LOGIN works in the clear and LOGINDISABLED goes.
      limits.allowPlaintextAuth = true;
      try {
        const p = await RawImap.open(port);
        assert.match(await p.line(), /STARTTLS AUTH=PLAIN SASL-IR /);
        assert.match((await p.command('a', `LOGIN ${ALICE} "${PW}"`)).done, /^a OK /);
        p.close();
      } finally {
        limits.allowPlaintextAuth = false;
      }
    });

    it('AUTHENTICATE PLAIN with SASL-IR (RFC 4959), with the continuation, "*" cancels; authzid of someone else refused', async () => {
      const port = await start('imaps');
      const c = await RawImap.open(port, { tls: true });
      await c.line();
      c.write('a AUTHENTICATE PLAIN\r\n');
      assert.equal(await c.line(), '+ ');
      c.write('*\r\n');
      assert.match(await c.line(), /^a BAD AUTHENTICATE cancelled/);
      c.write('b AUTHENTICATE PLAIN\r\n');
      assert.equal(await c.line(), '+ ');
      c.write('not base64!\r\n');
      assert.match(await c.line(), /^b BAD /);
      assert.match((await c.command('c', `AUTHENTICATE PLAIN ${b64(`${BOB}\0${ALICE}\0${PW}`)}`)).done, /^c NO \[AUTHORIZATIONFAILED\] /);
      assert.match((await c.command('d', 'AUTHENTICATE CRAM-MD5')).done, /^d NO /);
      c.write('e AUTHENTICATE PLAIN\r\n');
      assert.equal(await c.line(), '+ ');
      c.write(`${b64(`\0${ALICE}\0${PW}`)}\r\n`);
      assert.match(await c.line(), /^e OK \[CAPABILITY IMAP4rev2 /);
      assert.match((await c.command('f', 'AUTHENTICATE PLAIN =')).done, /^f BAD .*already logged in/);
      c.close();
    });

    it('wrong password: NO [AUTHENTICATIONFAILED] after a delay; the third failure also ends the connection (RFC 5530)', async () => {
      const port = await start('imaps');
      const c = await RawImap.open(port, { tls: true });
      await c.line();
      const t0 = Date.now();
      assert.match((await c.command('a', `LOGIN ${ALICE} wrong`)).done, /^a NO \[AUTHENTICATIONFAILED\] /);
      assert.ok(Date.now() - t0 >= 200, 'answered after a delay');
      assert.match((await c.command('b', `LOGIN nobody@imap.test "${PW}"`)).done, /^b NO \[AUTHENTICATIONFAILED\] /, 'unknown users look the same');
      assert.match((await c.command('c', `LOGIN ${ALICE} wrong`)).done, /^c NO \[AUTHENTICATIONFAILED\] /);
      assert.match(await c.line(), /^\* BYE /);
      assert.ok(await c.waitClosed());
    });

    it('failed logins per IP across connections: past the limit refused NO [UNAVAILABLE] without checking the password', async () => {
      const port = await start('imaps', { services: { ...services, limits: () => ({ ...limits, authFailuresPerIpPerMinute: 2 }) } });
      for (const tag of ['a', 'b']) {
        const c = await RawImap.open(port, { tls: true });
        await c.line();
        assert.match((await c.command(tag, `LOGIN ${ALICE} wrong`)).done, /NO \[AUTHENTICATIONFAILED\]/);
        c.close();
      }
      const c = await RawImap.open(port, { tls: true });
      await c.line();
      assert.match((await c.command('c', `LOGIN ${ALICE} "${PW}"`)).done, /^c NO \[UNAVAILABLE\] /, 'even the right password');
      c.close();
    });

    it('unknown and malformed commands: BAD with a reason, the session goes on (RFC 9051 7.1.3); untagged BAD for no tag', async () => {
      const port = await start('imaps');
      const c = await loggedIn(port);
      assert.match((await c.command('a', 'FROBNICATE')).done, /^a BAD Unknown command FROBNICATE/);
      assert.match((await c.command('b', 'STATUS INBOX')).done, /^b BAD /);
      c.write('\r\n');
      assert.match(await c.line(), /^\* BAD /);
      assert.match((await c.command('c', 'NOOP')).done, /^c OK /);
      assert.match((await c.command('d', 'SELECT INBOX')).done, /^d OK \[READ-WRITE\] /);
      assert.match((await c.command('e', 'SEARCH FROBNICATE')).done, /^e BAD Unknown search key FROBNICATE/);
      c.close();
    });

    it('repeated bad commands: * BYE and close', async () => {
      const port = await start('imaps', { maxBadCommands: 5 });
      const c = await RawImap.open(port, { tls: true });
      await c.line();
      for (let i = 0; i < 4; i++) assert.match((await c.command(`x${i}`, 'BOGUS')).done, /BAD/);
      c.write('x4 BOGUS\r\n');
      assert.match(await c.line(), /^x4 BAD /);
      assert.match(await c.line(), /^\* BYE Too many invalid commands/);
      assert.ok(await c.waitClosed());
    });

    it('commands in the wrong state: BAD with the reason (RFC 9051 6)', async () => {
      const port = await start('imaps');
      const c = await RawImap.open(port, { tls: true });
      await c.line();
      assert.match((await c.command('a', 'LIST "" "*"')).done, /^a BAD LIST needs a logged-in session/);
      assert.match((await c.command('b', 'ENABLE UTF8=ACCEPT')).done, /^b BAD /);
      assert.match((await c.command('c', 'FETCH 1 FLAGS')).done, /^c BAD /);
      assert.match((await c.command('d', 'ID NIL')).done, /^d OK /, 'ID is valid in any state');
      assert.match((await c.command('e', `LOGIN ${ALICE} "${PW}"`)).done, /^e OK /);
      assert.match((await c.command('f', `LOGIN ${ALICE} "${PW}"`)).done, /^f BAD LOGIN is only valid before logging in/);
      assert.match((await c.command('g', 'STARTTLS')).done, /^g BAD /);
      assert.match((await c.command('h', 'FETCH 1 FLAGS')).done, /^h BAD FETCH needs a selected mailbox/);
      assert.match((await c.command('i', 'UNSELECT')).done, /^i BAD /);
      c.close();
    });

    it('APPEND over APPENDLIMIT: NO [TOOBIG] without reading the literal: no "+" is ever sent (RFC 7889)', async () => {
      const port = await start('imaps');
      const c = await loggedIn(port);
      c.write(`a APPEND INBOX {${limits.appendLimit + 1}}\r\n`);
      assert.match(await c.line(), /^a NO \[TOOBIG\] /);
      assert.ok(await c.silentFor(200), 'nothing more: no continuation');
      assert.match((await c.command('b', 'NOOP')).done, /^b OK /);
      // A missing mailbox is refused before the literal too, with TRYCREATE (RFC 9051 6.3.12).
      c.write('c APPEND Nonexistent {5}\r\n');
      assert.match(await c.line(), /^c NO \[TRYCREATE\] /);
      assert.ok(!c.transcript.some((l) => l.startsWith('+')), JSON.stringify(c.transcript));
      assert.match((await c.command('d', 'NOOP')).done, /^d OK /);
      c.close();
    });

    it('MULTIAPPEND (RFC 3502): two messages in one command, consecutive UIDs; a refused second literal stores nothing', async () => {
      const port = await start('imaps');
      const c = await loggedIn(port);
      const before = (await stored(ALICE, 'Archive')).length;
      const m1 = message('multi one');
      const m2 = message('multi two');
      c.write(`a APPEND Archive (\\Seen) {${m1.length}}\r\n`);
      assert.equal(await c.line(), '+ Ready');
      c.write(m1);
      c.write(` (\\Flagged) "01-Feb-2024 12:00:00 +0100" {${m2.length}}\r\n`);
      assert.equal(await c.line(), '+ Ready');
      c.write(m2);
      c.write('\r\n');
      const done = await c.line();
      const archive = await getMailboxByName(ctx, accounts.get(ALICE)!, 'Archive');
      assert.match(done, new RegExp(`^a OK \\[APPENDUID ${archive.uidValidity} (\\d+):(\\d+)\\] `));
      const rows = await stored(ALICE, 'Archive');
      assert.equal(rows.length, before + 2);
      assert.deepEqual(rows.slice(-2).map((r) => r.bytes), [m1, m2]);

      const count = rows.length;
      c.write(`b APPEND Archive {${m1.length}}\r\n`);
      assert.equal(await c.line(), '+ Ready');
      c.write(m1);
      c.write(` {${limits.appendLimit + 1}}\r\n`);
      assert.match(await c.line(), /^b NO \[TOOBIG\] /);
      assert.equal((await stored(ALICE, 'Archive')).length, count, 'all or none');
      // LITERAL+ (RFC 7888): a non-synchronizing literal needs no "+".
      c.write(`c APPEND Archive {${m1.length}+}\r\n`);
      c.write(m1);
      c.write('\r\n');
      assert.match(await c.line(), /^c OK \[APPENDUID /);
      // A non-synchronizing literal over APPENDLIMIT: NO [TOOBIG] at once, its bytes skipped as they
      // arrive (never held), nothing stored, and the session goes on (RFC 7888 4, RFC 7889).
      const before2 = (await stored(ALICE, 'Archive')).length;
      c.write(`d APPEND Archive {${limits.appendLimit + 1}+}\r\n`);
      assert.match(await c.line(), /^d NO \[TOOBIG\] /);
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      for (let left = limits.appendLimit + 1; left > 0; left -= chunk.length) c.write(chunk.subarray(0, Math.min(chunk.length, left)));
      c.write('\r\n');
      assert.match((await c.command('e', 'NOOP')).done, /^e OK /);
      assert.equal((await stored(ALICE, 'Archive')).length, before2);
      c.close();
    });

    it('literal bombs and long lines: refused before the bytes, the session survives or ends with BYE (RFC 7888 4-5)', async () => {
      const port = await start('imaps');
      const c = await RawImap.open(port, { tls: true });
      await c.line();
      c.write('a LOGIN {100000}\r\n');
      assert.match(await c.line(), /^a BAD \[TOOBIG\] /, 'a string literal over 64 KiB, before login');
      c.write(`b NOOP ${'x'.repeat(70_000)}\r\n`);
      assert.match(await c.line(), /^b BAD Line too long/);
      // LITERAL+: a non-synchronizing literal over a limit is refused, and its bytes skipped as they come.
      c.write('c LOGIN {70000+}\r\n');
      assert.match(await c.line(), /^c BAD \[TOOBIG\] Literal too large/);
      c.write(`${'y'.repeat(70000)}\r\n`);
      assert.match((await c.command('d', 'NOOP')).done, /^d OK /, 'the refused literal was skipped');
      assert.ok(!c.transcript.some((l) => l.startsWith('+')));
      c.write('e APPEND INBOX {999999999999+}\r\n');
      assert.match(await c.line(), /^e (BAD|NO) \[TOOBIG\] /);
      assert.match(await c.line(), /^\* BYE /);
      assert.ok(await c.waitClosed());
    });

    it('STARTTLS: commands pipelined after it in the clear are discarded, never run (RFC 9051 6.2.1, command injection)', async () => {
      const port = await start('imap');
      const c = await RawImap.open(port);
      await c.line();
      c.write(`a STARTTLS\r\nb LOGIN ${ALICE} "${PW}"\r\nc CAPABILITY\r\n`);
      assert.match(await c.line(), /^a OK Begin TLS/);
      await c.upgrade();
      const caps = await c.command('d', 'CAPABILITY');
      assert.deepEqual(caps.lines.length, 1);
      assert.match(caps.lines[0]!, /^\* CAPABILITY .*AUTH=PLAIN/);
      assert.match((await c.command('e', 'LIST "" "*"')).done, /^e BAD .*log in first/, 'still not authenticated');
      assert.ok(!c.transcript.some((l) => /^[bc] /.test(l)), JSON.stringify(c.transcript));
      c.close();
    });

    it('names are per account: bob can neither LIST, STATUS nor APPEND to alice\'s mailboxes', async () => {
      const port = await start('imaps');
      const c = await loggedIn(port, BOB);
      const listed = await c.command('a', 'LIST "" "*"');
      assert.ok(!listed.lines.some((l) => l.includes('Private')), JSON.stringify(listed.lines));
      assert.match((await c.command('b', 'STATUS Private (MESSAGES)')).done, /^b NO \[NONEXISTENT\] /);
      const aliceInbox = (await stored(ALICE, 'INBOX')).length;
      const inbox = await c.command('c', 'STATUS INBOX (MESSAGES)');
      assert.notEqual(inbox.lines[0], `* STATUS "INBOX" (MESSAGES ${aliceInbox})`, 'his own INBOX');
      c.write('d APPEND Private {5}\r\n');
      assert.match(await c.line(), /^d NO \[TRYCREATE\] /);
      assert.equal((await stored(ALICE, 'Private')).length, 0);
      const boxId = await box(ALICE, 'Private');
      assert.match((await c.command('e', 'LIST "" "Private"')).done, /^e OK /);
      assert.ok(boxId > 0);
      c.close();
    });

    it('LIST-EXTENDED (RFC 5258), CHILDREN (RFC 3348), LIST-STATUS (RFC 5819), LSUB (RFC 3501 6.3.9), NAMESPACE (RFC 2342)', async () => {
      const alice = accounts.get(ALICE)!;
      await createMailbox(ctx, alice, 'Work/Projects/2024');
      await deleteMailbox(ctx, alice, 'Work');
      await subscribe(ctx, alice, 'Work/Projects/2024');
      const port = await start('imaps');
      const c = await loggedIn(port);
      const all = await c.command('a', 'LIST "" "*"');
      assert.ok(all.lines.includes('* LIST (\\Noselect \\HasChildren) "/" "Work"'), JSON.stringify(all.lines));
      assert.ok(all.lines.includes('* LIST (\\HasChildren) "/" "Work/Projects"'));
      assert.ok(all.lines.includes('* LIST (\\HasNoChildren \\Sent) "/" "Sent"'));
      const top = await c.command('b', 'LIST "" "%"');
      assert.ok(top.lines.some((l) => l.endsWith(' "Work"')) && !top.lines.some((l) => l.includes('Work/')));
      const special = await c.command('c', 'LIST (SPECIAL-USE) "" "*"');
      assert.deepEqual(special.lines.map((l) => l.split(' ').pop()).sort(), ['"Archive"', '"Drafts"', '"Junk"', '"Sent"', '"Trash"']);
      const subs = await c.command('d', 'LIST (SUBSCRIBED RECURSIVEMATCH) "" "%" RETURN (CHILDREN)');
      assert.ok(subs.lines.includes('* LIST (\\NonExistent \\HasChildren) "/" "Work" ("CHILDINFO" ("SUBSCRIBED"))'), JSON.stringify(subs.lines));
      assert.ok(subs.lines.includes('* LIST (\\HasNoChildren \\Subscribed) "/" "INBOX"'));
      const status = await c.command('e', 'LIST "" "INBOX" RETURN (STATUS (MESSAGES UNSEEN SIZE))');
      assert.equal(status.lines[0], '* LIST (\\HasNoChildren) "/" "INBOX"');
      assert.match(status.lines[1]!, /^\* STATUS "INBOX" \(MESSAGES \d+ UNSEEN \d+ SIZE \d+\)$/);
      assert.deepEqual((await c.command('f', 'LIST "" ""')).lines, ['* LIST (\\Noselect) "/" ""']);
      const lsub = await c.command('g', 'LSUB "" "*"');
      assert.ok(lsub.lines.includes('* LSUB () "/" "Work/Projects/2024"') && lsub.lines.includes('* LSUB () "/" "Sent"'), JSON.stringify(lsub.lines));
      const lsubTop = await c.command('h', 'LSUB "" "%"');
      assert.ok(lsubTop.lines.includes('* LSUB (\\Noselect) "/" "Work"'), JSON.stringify(lsubTop.lines));
      assert.deepEqual((await c.command('i', 'NAMESPACE')).lines, ['* NAMESPACE (("" "/")) NIL NIL']);
      c.close();
    });

    it('STATUS items (RFC 9051 6.3.11, RFC 8438 SIZE, RFC 7162 HIGHESTMODSEQ, RFC 7889 APPENDLIMIT, RFC 8474 MAILBOXID)', async () => {
      const port = await start('imaps');
      const c = await loggedIn(port);
      const inbox = await getMailboxByName(ctx, accounts.get(ALICE)!, 'INBOX');
      const r = await c.command('a', 'STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE HIGHESTMODSEQ APPENDLIMIT MAILBOXID RECENT)');
      const m = /^\* STATUS "INBOX" \(MESSAGES (\d+) UIDNEXT (\d+) UIDVALIDITY (\d+) UNSEEN (\d+) DELETED 0 SIZE (\d+) HIGHESTMODSEQ (\d+) APPENDLIMIT 5000000 MAILBOXID \(([\w-]+)\) RECENT (\d+)\)$/.exec(r.lines[0]!);
      assert.ok(m, r.lines[0]);
      const msgs = await stored(ALICE, 'INBOX');
      assert.equal(Number(m[1]), msgs.length);
      assert.equal(Number(m[2]), inbox.uidNext);
      assert.equal(Number(m[3]), inbox.uidValidity);
      assert.equal(Number(m[5]), msgs.reduce((n, x) => n + x.bytes.length, 0));
      assert.equal(BigInt(m[6]!), inbox.highestModseq);
      assert.match((await c.command('b', 'STATUS INBOX (DELETED-STORAGE)')).done, /^b BAD .*not implemented yet/);
      c.close();
    });

    it('ENABLE (RFC 5161): UTF8=ACCEPT and IMAP4rev2 switch names from modified UTF-7 to UTF-8 (RFC 6855 3)', async () => {
      await createMailbox(ctx, accounts.get(BOB)!, 'Отчёты');
      const port = await start('imaps');
      const c = await loggedIn(port, BOB);
      assert.deepEqual((await c.command('a', 'LIST "" "&BB4-*"')).lines, ['* LIST (\\HasNoChildren) "/" "&BB4EQgRHBFEEQgRL-"']);
      const en = await c.command('b', 'ENABLE CONDSTORE UTF8=ACCEPT X-UNKNOWN');
      assert.deepEqual(en.lines, ['* ENABLED CONDSTORE UTF8=ACCEPT']);
      assert.deepEqual((await c.command('c', 'ENABLE UTF8=ACCEPT IMAP4rev2')).lines, ['* ENABLED IMAP4rev2']);
      const utf8 = await c.command('d', 'LIST "" "О*"'); // written as UTF-8
      assert.deepEqual(utf8.lines.map((l) => Buffer.from(l, 'latin1').toString('utf8')), ['* LIST (\\HasNoChildren) "/" "Отчёты"']);
      assert.match((await c.command('e', 'STATUS INBOX (RECENT)')).done, /^e BAD .*IMAP4rev2/);
      c.close();
    });

    it('ID (RFC 2971): our name and version, nothing of the client echoed; IDLE/DONE raw; LOGOUT BYE then OK', async () => {
      const port = await start('imaps');
      const c = await loggedIn(port);
      const id = await c.command('a', 'ID ("name" "evil\\"client" "x" "y")');
      assert.deepEqual(id.lines, ['* ID ("name" "TEGU" "version" "test")']);
      c.write('b IDLE\r\n');
      assert.equal(await c.line(), '+ idling');
      assert.ok(await c.silentFor(100));
      c.write('DONE\r\n');
      assert.match(await c.line(), /^b OK IDLE terminated/);
      c.write('c IDLE\r\n');
      assert.equal(await c.line(), '+ idling');
      c.write('NOOP\r\n');
      assert.match(await c.line(), /^c BAD Expected DONE/);
      const out = await c.command('d', 'LOGOUT');
      assert.match(out.lines[0]!, /^\* BYE /);
      assert.match(out.done, /^d OK LOGOUT completed/);
      assert.ok(await c.waitClosed());
    });

    it('autologout: idle before login, and a command trickled byte by byte (slowloris), end with BYE', async () => {
      const port = await start('imaps', { preAuthTimeoutMs: 400 });
      const idle = await RawImap.open(port, { tls: true });
      await idle.line();
      assert.match(await idle.line(2000), /^\* BYE Autologout/);
      assert.ok(await idle.waitClosed());
      const slow = await RawImap.open(port, { tls: true });
      await slow.line();
      const t0 = Date.now();
      for (const ch of 'a NOOP NOOP NOOP NOOP') {
        if (slow.closed) break;
        slow.write(ch);
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(await slow.waitClosed(3000));
      assert.ok(Date.now() - t0 < 2500, 'cut at the command deadline, not kept alive by the trickle');
    });

    it('per-IP connection limit: the connection past it gets * BYE and is closed', async () => {
      const port = await start('imap', { maxConnectionsPerIp: 2 });
      const a = await RawImap.open(port);
      const b = await RawImap.open(port);
      assert.match(await a.line(), /^\* OK /);
      assert.match(await b.line(), /^\* OK /);
      const c = await RawImap.open(port);
      assert.match(await c.line(), /^\* BYE \[UNAVAILABLE\] Too many connections/);
      assert.ok(await c.waitClosed());
      a.close();
      await new Promise((r) => setTimeout(r, 100));
      const d = await RawImap.open(port);
      assert.match(await d.line(), /^\* OK /, 'a slot is free again');
      b.close();
      d.close();
    });

    it('back-pressure: a client that pipelines without reading is not read from until it reads', async () => {
      const port = await start('imap');
      const socket = tcpConnect(port, '127.0.0.1');
      await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
      socket.pause(); // never read: the responses (about 15 times the commands) fill the buffers and must stop the server
      const chunk = Buffer.from('a CAPABILITY\r\n'.repeat(4096));
      // 16 MB of commands; answered in full they would be some 250 MB of responses.
      for (let i = 0; i < 280; i++) socket.write(chunk);
      await new Promise((r) => setTimeout(r, 1500));
      const stalled = socket.writableLength;
      await new Promise((r) => setTimeout(r, 2500));
      assert.ok(stalled > 4 * 1024 * 1024, `most of it is still queued on our side: ${stalled} octets`);
      assert.equal(socket.writableLength, stalled, 'the server read nothing more meanwhile');
      socket.destroy();
    });

    it('change hints reach the session side: watchMailbox fires after an APPEND through IMAP (one LISTEN per node)', async () => {
      const port = await start('imaps');
      const inbox = await box(BOB, 'INBOX');
      const seen: bigint[] = [];
      const stop = services.watchMailbox(inbox, (c) => seen.push(c.modseq));
      await feed.ready();
      const c = await loggedIn(port, BOB);
      const m = message('hinted');
      c.write(`a APPEND INBOX {${m.length}+}\r\n`);
      c.write(m);
      c.write('\r\n');
      assert.match(await c.line(), /^a OK \[APPENDUID /);
      const deadline = Date.now() + 5000;
      while (seen.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      stop();
      assert.ok(seen.length >= 1, 'a hint arrived');
      assert.equal(seen.at(-1), (await getMailboxByName(ctx, accounts.get(BOB)!, 'INBOX')).highestModseq);
      c.close();
    });
  });
}
