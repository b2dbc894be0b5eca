import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import nodemailer from 'nodemailer';
import { addAccount } from '../src/core/accounts.ts';
import { addAlias } from '../src/core/aliases.ts';
import type { CoreContext } from '../src/core/context.ts';
import { getMailboxByName } from '../src/core/mailboxes.ts';
import { createMailServices } from '../src/core/mail-services.ts';
import { addGroup } from '../src/core/groups.ts';
import { localDirectory } from '../src/directory/local.ts';
import type { AccountId } from '../src/lib/ids.ts';
import { createLogger } from '../src/lib/log.ts';
import { ensureTlsMaterial } from '../src/config/tls.ts';
import { startSmtpServer, type RunningSmtpServer } from '../src/protocols/smtp/server.ts';
import type { SmtpLimits, SmtpServices } from '../src/protocols/smtp/services.ts';
import type { ListenerMode } from '../src/protocols/smtp/state.ts';
import { countBlobs, listMessages, readMessageBytes } from '../src/store/messages.ts';
import { engines, testContext, type TestDb } from './helpers/db.ts';
import { RawSmtp } from './helpers/smtp-client.ts';

const PW = 'smtp test password';
const log = createLogger({ level: 'fatal' });

for (const engine of engines()) {
  describe(`SMTP server (${engine.name})`, () => {
    let t: TestDb;
    let ctx: CoreContext;
    let services: SmtpServices;
    let limits: SmtpLimits;
    let tls: { cert: string; key: string };
    let tlsDir: string;
    const servers: RunningSmtpServer[] = [];
    const start = async (mode: ListenerMode, extra: Partial<SmtpServices> = {}, opts: { maxBadCommands?: number } = {}): Promise<number> => {
      const s = await startSmtpServer({
        mode,
        listen: { host: '127.0.0.1', port: 0 },
        hostname: 'mx.corp.test',
        tls,
        services: { ...services, ...extra },
        log,
        ...opts,
      });
      servers.push(s);
      return s.address.port;
    };
    const inbox = async (address: string): Promise<{ id: AccountId; box: number }> => {
      const r = await services.resolveRecipient(address);
      const id = r!.local[0]!.account.id;
      return { id, box: (await getMailboxByName(ctx, id, 'INBOX')).id };
    };
    const messagesOf = async (address: string): Promise<Buffer[]> => {
      const { box } = await inbox(address);
      const out: Buffer[] = [];
      for (const m of await listMessages(t.db, box as never)) out.push((await readMessageBytes(t.db, m.id))!);
      return out;
    };

    before(async () => {
      t = await engine.create();
      ctx = testContext(t.db);
      const dir = localDirectory(t.db, { subaddressSeparator: () => '+' });
      limits = { maxMessageBytes: 200_000, maxRecipients: 100, allowPlaintextAuth: false };
      services = { ...createMailServices(t.db, dir), limits: () => limits };
      tlsDir = await mkdtemp(join(tmpdir(), 'tegu-smtp-tls-'));
      const material = await ensureTlsMaterial({ dataDir: tlsDir, hostname: 'mx.corp.test' });
      tls = { cert: material.cert, key: material.key };
      for (const u of ['alice', 'bob', 'carol', 'dave']) await addAccount(ctx, { address: `${u}@corp.test`, password: PW, createDomain: true });
      await addAlias(ctx, 'team@corp.test', ['alice@corp.test', 'bob@corp.test']);
      await addGroup(ctx, { address: 'all@corp.test', members: ['carol@corp.test', 'dave@corp.test', 'alice@corp.test'] });
    });
    after(async () => {
      for (const s of servers) await s.close();
      await t.drop();
      await rm(tlsDir, { recursive: true, force: true });
    });

    it('nodemailer delivers to a local user: 250 after commit, trace headers and Delivered-To (RFC 5321 4.4)', async () => {
      const port = await start('mx');
      const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
      const info = await transport.sendMail({ from: 'sender@remote.test', to: 'Alice@corp.test', subject: 'hello', text: 'Привет, Alice' });
      assert.deepEqual(info.accepted, ['Alice@corp.test']);
      const [stored] = await messagesOf('alice@corp.test');
      const text = stored!.toString('utf8');
      assert.match(text, /^Delivered-To: alice@corp\.test\r\nReturn-Path: <sender@remote\.test>\r\nReceived: from /);
      assert.match(text, /by mx\.corp\.test \(TEGU\) with ESMTP id /);
      assert.match(text, /\r\nSubject: hello\r\n/);
    });

    it('alias, group and direct recipients: one blob, one copy per account', async () => {
      const port = await start('mx');
      const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
      const before = { blobs: await countBlobs(t.db), alice: (await messagesOf('alice@corp.test')).length };
      await transport.sendMail({ from: 'x@remote.test', to: ['team@corp.test', 'all@corp.test', 'alice+tag@corp.test'], subject: 'fan-out', text: 'x' });
      assert.equal(await countBlobs(t.db), before.blobs + 1);
      assert.equal((await messagesOf('alice@corp.test')).length, before.alice + 1, 'alice once, though three ways');
      for (const u of ['bob', 'carol', 'dave']) assert.ok((await messagesOf(`${u}@corp.test`)).some((m) => m.includes('fan-out')));
    });

    it('nodemailer to 50 local accounts (aliases and a group among them): stored once, the next UID in all 50 INBOXes', async () => {
      const users = Array.from({ length: 50 }, (_, i) => `m${String(i + 1).padStart(2, '0')}@fifty.test`);
      for (const u of users) await addAccount(ctx, { address: u, password: PW, createDomain: true });
      await addAlias(ctx, 'pair@fifty.test', ['m01@fifty.test', 'm02@fifty.test']);
      await addGroup(ctx, { address: 'team@fifty.test', members: users.slice(40) });
      // Some INBOXes already hold mail, so "the next UID" differs between them.
      const port = await start('mx');
      const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
      for (const u of users.slice(0, 7)) await transport.sendMail({ from: 'x@remote.test', to: u, subject: 'earlier', text: 'x' });
      const uidNext = new Map<string, number>();
      for (const u of users) uidNext.set(u, (await getMailboxByName(ctx, (await inbox(u)).id, 'INBOX')).uidNext);
      const blobs = await countBlobs(t.db);
      const info = await transport.sendMail({ from: 'x@remote.test', to: [...users.slice(0, 40), 'pair@fifty.test', 'team@fifty.test'], subject: 'fifty', text: 'to all fifty' });
      assert.equal(info.accepted.length, 42);
      assert.equal(await countBlobs(t.db), blobs + 1, 'one blob row');
      for (const u of users) {
        const { box } = await inbox(u);
        const mine = (await listMessages(t.db, box as never)).filter((m) => m.subject === 'fifty');
        assert.equal(mine.length, 1, `${u}: one copy, however many ways it was addressed`);
        assert.equal(mine[0]!.uid, uidNext.get(u), `${u}: the next UID`);
      }
    });

    it('unknown users get 550 5.1.1; relaying without AUTH gets 554 5.7.1 (never an open relay)', async () => {
      const port = await start('mx');
      const c = await RawSmtp.open(port);
      assert.equal((await c.reply()).code, 220);
      assert.equal((await c.command('EHLO client.test')).code, 250);
      assert.equal((await c.command('MAIL FROM:<x@remote.test>')).code, 250);
      assert.deepEqual((await c.command('RCPT TO:<nobody@corp.test>')).lines, ['550 5.1.1 No such user']);
      assert.equal((await c.command('RCPT TO:<victim@elsewhere.test>')).lines[0]?.slice(0, 9), '554 5.7.1');
      assert.equal((await c.command('DATA')).code, 554, 'no valid recipients: DATA refused');
      assert.equal((await c.command('QUIT')).code, 221);
      c.close();
    });

    it('PIPELINING: a whole transaction in one write, replies in order (RFC 2920)', async () => {
      const port = await start('mx');
      const c = await RawSmtp.open(port);
      await c.reply();
      await c.command('EHLO client.test');
      c.write('MAIL FROM:<p@remote.test>\r\nRCPT TO:<bob@corp.test>\r\nRCPT TO:<ghost@corp.test>\r\nRCPT TO:<carol@corp.test>\r\nDATA\r\n');
      const codes = [];
      for (let i = 0; i < 5; i++) codes.push((await c.reply()).code);
      assert.deepEqual(codes, [250, 250, 550, 250, 354]);
      c.write('Subject: piped\r\n\r\n..leading dot\r\n.\r\nNOOP\r\n');
      assert.equal((await c.reply()).code, 250);
      assert.equal((await c.reply()).code, 250, 'NOOP pipelined after the end of data');
      const bob = await messagesOf('bob@corp.test');
      assert.ok(bob.some((m) => m.toString().includes('\r\n.leading dot\r\n')), 'dot-unstuffed');
      c.close();
    });

    it('BDAT in several chunks with LAST (RFC 3030), binary-safe', async () => {
      const port = await start('mx');
      const c = await RawSmtp.open(port);
      await c.reply();
      assert.match((await c.command('EHLO client.test')).lines.join('\n'), /CHUNKING/);
      await c.command('MAIL FROM:<b@remote.test> BODY=BINARYMIME');
      await c.command('RCPT TO:<dave@corp.test>');
      const part1 = Buffer.from('Subject: chunks\r\n\r\nfirst ');
      const part2 = Buffer.from([0x00, 0xff, 0x0d, 0x0a, 0x2e, 0x0d, 0x0a]);
      c.write(Buffer.concat([Buffer.from(`BDAT ${part1.length}\r\n`), part1]));
      assert.equal((await c.reply()).code, 250);
      c.write(Buffer.concat([Buffer.from(`BDAT ${part2.length} LAST\r\n`), part2]));
      assert.equal((await c.reply()).code, 250);
      const stored = (await messagesOf('dave@corp.test')).find((m) => m.includes('chunks'))!;
      assert.ok(stored.subarray(stored.length - part2.length).equals(part2), 'bytes kept exactly');
      c.close();
    });

    it('SMTPUTF8 (RFC 6531): nodemailer sends to a UTF-8 address with an 8-bit body; a raw session too; without the parameter 553 5.6.7', async () => {
      await addAccount(ctx, { address: 'jürgen@corp.test', password: PW });
      const port = await start('mx');
      const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
      const info = await transport.sendMail({ from: 'andré@remote.test', to: 'jürgen@corp.test', subject: 'Grüße', text: 'Schöne Grüße aus Köln' });
      assert.deepEqual(info.accepted, ['jürgen@corp.test']);
      let mine = await messagesOf('jürgen@corp.test');
      assert.equal(mine.length, 1);
      assert.match(mine[0]!.toString('utf8'), /^Delivered-To: jürgen@corp\.test\r\nReturn-Path: <andré@remote\.test>\r\n/);
      assert.match(mine[0]!.toString('utf8'), /with UTF8SMTP id /, 'RFC 6531 3.7.3: the Received protocol says UTF8SMTP');

      const c = await RawSmtp.open(port);
      await c.reply();
      assert.match((await c.command('EHLO client.test')).lines.join('\n'), /SMTPUTF8/);
      assert.equal((await c.command('MAIL FROM:<zoë@remote.test>')).code, 553, 'a UTF-8 sender needs the parameter too');
      assert.equal((await c.command('MAIL FROM:<zoe@remote.test>')).code, 250);
      assert.deepEqual((await c.command('RCPT TO:<jürgen@corp.test>')).lines, ['553 5.6.7 Non-ASCII addresses not permitted without SMTPUTF8']);
      assert.equal((await c.command('RSET')).code, 250);
      assert.equal((await c.command('MAIL FROM:<zoë@remote.test> SMTPUTF8 BODY=8BITMIME')).code, 250);
      assert.equal((await c.command('RCPT TO:<jürgen@corp.test>')).code, 250);
      assert.equal((await c.command('DATA')).code, 354);
      c.write('From: zoë@remote.test\r\nSubject: ünïcödé\r\n\r\nÄÖÜ\r\n.\r\n');
      assert.equal((await c.reply()).code, 250);
      c.close();
      mine = await messagesOf('jürgen@corp.test');
      assert.equal(mine.length, 2);
      assert.ok(mine[1]!.includes(Buffer.from('Subject: ünïcödé\r\n\r\nÄÖÜ\r\n')), 'the 8-bit bytes are kept exactly');
    });

    it('size limits: SIZE= too big is 552 at MAIL; an over-size DATA is 552 and stores nothing', async () => {
      const port = await start('mx');
      const c = await RawSmtp.open(port);
      await c.reply();
      await c.command('EHLO client.test');
      assert.equal((await c.command('MAIL FROM:<s@remote.test> SIZE=999999999')).code, 552);
      await c.command('MAIL FROM:<s@remote.test>');
      await c.command('RCPT TO:<carol@corp.test>');
      await c.command('DATA');
      const before = (await messagesOf('carol@corp.test')).length;
      c.write(`Subject: big\r\n\r\n${'x'.repeat(998)}\r\n`.repeat(300) + '.\r\n');
      assert.deepEqual((await c.reply()).lines, ['552 5.3.4 Message size exceeds fixed maximum message size']);
      assert.equal((await messagesOf('carol@corp.test')).length, before);
      assert.equal((await c.command('NOOP')).code, 250, 'the session goes on');
      c.close();
    });

    it('bad input: MAIL before EHLO, over-long lines, garbage; too many errors disconnect', async () => {
      const port = await start('mx', {}, { maxBadCommands: 4 });
      const c = await RawSmtp.open(port);
      await c.reply();
      assert.equal((await c.command('MAIL FROM:<a@remote.test>')).code, 503);
      assert.deepEqual((await c.command('X'.repeat(2000))).lines, ['500 Line too long']);
      assert.equal((await c.command('\u0001\u0002 garbage')).code, 500);
      assert.equal((await c.command('RCPT TO:<bob@corp.test>')).code, 503, 'RCPT before MAIL');
      assert.equal((await c.command('RCPT TO:<bad address>')).code, 501, 'a syntax error comes first');
      const last = await c.command('FOO');
      assert.equal(last.code, 421);
      assert.ok(await c.waitClosed());
    });

    it('a store failure answers 451 4.3.0 and the client can retry', async () => {
      const port = await start('mx', { deliver: async () => Promise.reject(new Error('database down')) });
      const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
      await assert.rejects(transport.sendMail({ from: 'f@remote.test', to: 'bob@corp.test', subject: 'x', text: 'x' }), (err: { responseCode?: number; response?: string }) => {
        assert.equal(err.responseCode, 451);
        assert.match(err.response ?? '', /4\.3\.0/);
        return true;
      });
    });

    it('submission: AUTH only after STARTTLS (RFC 3207, 4954); then AUTH PLAIN and delivery', async () => {
      const port = await start('submission');
      const c = await RawSmtp.open(port);
      await c.reply();
      const ehlo = (await c.command('EHLO client.test')).lines.join('\n');
      assert.match(ehlo, /STARTTLS/);
      assert.doesNotMatch(ehlo, /AUTH/);
      assert.equal((await c.command('AUTH PLAIN AGFsaWNlQGNvcnAudGVzdABzbXRwIHRlc3QgcGFzc3dvcmQ=')).code, 530);
      c.close();
      const transport = nodemailer.createTransport({
        host: '127.0.0.1', port, secure: false, requireTLS: true,
        tls: { rejectUnauthorized: false },
        auth: { user: 'alice@corp.test', pass: PW },
      });
      await transport.sendMail({ from: 'alice@corp.test', to: 'bob@corp.test', subject: 'submitted', text: 'hi bob' });
      const bob = await messagesOf('bob@corp.test');
      assert.ok(bob.some((m) => /with ESMTPSA id/.test(m.toString()) && m.includes('submitted')));
      const wrong = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, requireTLS: true, tls: { rejectUnauthorized: false }, auth: { user: 'alice@corp.test', pass: 'wrong password' } });
      await assert.rejects(wrong.sendMail({ from: 'alice@corp.test', to: 'bob@corp.test', text: 'x' }), (e: { responseCode?: number }) => e.responseCode === 535);
    });

    it('submission without AUTH cannot send, not even to local users', async () => {
      const port = await start('submission');
      const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, requireTLS: true, tls: { rejectUnauthorized: false } });
      await assert.rejects(transport.sendMail({ from: 'x@remote.test', to: 'bob@corp.test', text: 'x' }), (e: { responseCode?: number }) => e.responseCode === 530);
    });

    it('submissions: implicit TLS (RFC 8314) with AUTH LOGIN', async () => {
      const port = await start('submissions');
      const transport = nodemailer.createTransport({
        host: '127.0.0.1', port, secure: true, tls: { rejectUnauthorized: false },
        auth: { user: 'carol@corp.test', pass: PW }, authMethod: 'LOGIN',
      });
      await transport.sendMail({ from: 'carol@corp.test', to: 'dave@corp.test', subject: 'over 465', text: 'x' });
      assert.ok((await messagesOf('dave@corp.test')).some((m) => m.includes('over 465')));
    });

    it('LMTP: LHLO, one reply per recipient after DATA (RFC 2033 4.2)', async () => {
      const port = await start('lmtp');
      const c = await RawSmtp.open(port);
      assert.match((await c.reply()).lines[0]!, /LMTP/);
      assert.equal((await c.command('HELO x')).code, 500);
      assert.equal((await c.command('LHLO mta.corp.test')).code, 250);
      await c.command('MAIL FROM:<l@remote.test>');
      assert.equal((await c.command('RCPT TO:<alice@corp.test>')).code, 250);
      assert.equal((await c.command('RCPT TO:<nobody@corp.test>')).code, 550);
      assert.equal((await c.command('RCPT TO:<bob@corp.test>')).code, 250);
      assert.equal((await c.command('DATA')).code, 354);
      c.write('Subject: via lmtp\r\n\r\nbody\r\n.\r\n');
      assert.equal((await c.reply()).code, 250);
      assert.equal((await c.reply()).code, 250);
      assert.equal((await c.command('NOOP')).code, 250, 'exactly two replies, then the session goes on');
      c.close();
      assert.ok((await messagesOf('bob@corp.test')).some((m) => /with LMTP id/.test(m.toString())));
    });

    it('AUTH failures are limited per IP across connections: past the limit even the right password gets 454 4.7.0', async () => {
      const port = await start('submissions', { limits: () => ({ ...limits, authFailuresPerIpPerMinute: 2 }) });
      const send = (pass: string): Promise<unknown> =>
        nodemailer
          .createTransport({ host: '127.0.0.1', port, secure: true, tls: { rejectUnauthorized: false }, auth: { user: 'bob@corp.test', pass } })
          .sendMail({ from: 'bob@corp.test', to: 'carol@corp.test', text: 'x' });
      for (let i = 0; i < 2; i++) await assert.rejects(send('wrong guess'), (e: { responseCode?: number }) => e.responseCode === 535);
      await assert.rejects(send(PW), (e: { responseCode?: number; response?: string }) => e.responseCode === 454 && /4\.7\.0/.test(e.response ?? ''));
    });

    it('messages are limited per IP across connections (limits.messagesPerIpPerMinute): past it MAIL gets 450 4.7.1; LMTP is not counted', async () => {
      const limited = { limits: () => ({ ...limits, messagesPerIpPerMinute: 3 }) };
      const mx = await start('mx', limited);
      const a = await RawSmtp.open(mx);
      const b = await RawSmtp.open(mx);
      await a.reply();
      await b.reply();
      await a.command('EHLO a.test');
      await b.command('EHLO b.test');
      for (const c of [a, b, a]) {
        assert.equal((await c.command('MAIL FROM:<x@remote.test>')).code, 250);
        assert.equal((await c.command('RSET')).code, 250);
      }
      const refused = await b.command('MAIL FROM:<x@remote.test>');
      assert.equal(refused.code, 450);
      assert.match(refused.lines.join(' '), /4\.7\.1/);
      assert.equal((await b.command('RCPT TO:<bob@corp.test>')).code, 503, 'no transaction was started');
      a.close();
      b.close();
      const lmtp = await start('lmtp', limited);
      const l = await RawSmtp.open(lmtp);
      await l.reply();
      await l.command('LHLO l.test');
      for (let i = 0; i < 5; i++) {
        assert.equal((await l.command('MAIL FROM:<x@remote.test>')).code, 250);
        assert.equal((await l.command('RSET')).code, 250);
      }
      l.close();
    });

    it('a limit of 0 means none: AUTH failures are not limited across connections then', async () => {
      const port = await start('submissions', { limits: () => ({ ...limits, authFailuresPerIpPerMinute: 0 }) });
      const send = (pass: string): Promise<unknown> =>
        nodemailer
          .createTransport({ host: '127.0.0.1', port, secure: true, tls: { rejectUnauthorized: false }, auth: { user: 'bob@corp.test', pass } })
          .sendMail({ from: 'bob@corp.test', to: 'carol@corp.test', text: 'x' });
      for (let i = 0; i < 2; i++) await assert.rejects(send('wrong guess'), (e: { responseCode?: number }) => e.responseCode === 535);
      await send(PW);
    });
  });
}
