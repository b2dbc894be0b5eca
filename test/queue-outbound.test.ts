/**
 * Outbound mail end to end: a user submits over SMTP (nodemailer, AUTH), the
 * local recipients get their copy at once, the remote ones are queued in the
 * same transaction, and the queue worker delivers them to real SMTP servers
 * (the smtp-server package) on 127.0.0.x addresses found through a fake DNS:
 * success, a 4xx then success, a 5xx bounce, a server that is down, expiry,
 * a null MX, garbage and silence from the remote side, DKIM, DSN options.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { dkimVerify, type DNSResolver } from 'mailauth';
import nodemailer from 'nodemailer';
import { addAccount } from '../src/core/accounts.ts';
import { addAlias } from '../src/core/aliases.ts';
import type { CoreContext } from '../src/core/context.ts';
import { getMailboxByName } from '../src/core/mailboxes.ts';
import { createMailServices } from '../src/core/mail-services.ts';
import { deliverReport, ensureDkimKey } from '../src/core/outbound.ts';
import { listQueue, type QueueEntry } from '../src/core/queue-admin.ts';
import { localDirectory } from '../src/directory/local.ts';
import { createLogger } from '../src/lib/log.ts';
import { fakeResolver, type FakeZone } from '../src/mail/dns.ts';
import { startSmtpServer, type RunningSmtpServer } from '../src/protocols/smtp/server.ts';
import { ensureTlsMaterial } from '../src/config/tls.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SmtpLimits, SmtpServices } from '../src/protocols/smtp/services.ts';
import { startQueueWorker, type QueueLimits, type QueueWorker } from '../src/queue/worker.ts';
import { listMessages, readMessageBytes } from '../src/store/messages.ts';
import { engines, testContext, type TestDb } from './helpers/db.ts';
import { RawSmtp } from './helpers/smtp-client.ts';
import { freePortOn, startSink, type SmtpSink } from './helpers/smtp-sink.ts';

const PW = 'outbound test password';
const log = createLogger({ level: process.env.TEST_LOG_LEVEL as 'fatal' ?? 'fatal' });

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A "remote server" that answers with junk, never says anything, or refuses every session (554 greeting). */
async function badServer(host: string, port: number, kind: 'garbage' | 'silent' | 'refusing'): Promise<Server> {
  const server = createServer((sock) => {
    sock.on('error', () => undefined);
    if (kind === 'garbage') sock.write(Buffer.from('\x00\xffHELLO? \x1b[31mnot smtp at all\r\n', 'binary'));
    if (kind === 'refusing') sock.end('554 5.7.1 No SMTP service here\r\n');
  });
  await new Promise<void>((resolve) => server.listen(port, host, () => resolve()));
  return server;
}

for (const engine of engines()) {
  describe(`outbound queue (${engine.name})`, () => {
    let t: TestDb;
    let ctx: CoreContext;
    let services: SmtpServices;
    let limits: SmtpLimits;
    let queueLimits: QueueLimits;
    let submission: RunningSmtpServer;
    let worker: QueueWorker;
    let port: number;
    let sink: SmtpSink;
    const extraSinks: SmtpSink[] = [];
    const servers: Server[] = [];
    let zone: FakeZone;

    const transport = (user = 'alice@corp.test') =>
      nodemailer.createTransport({ host: '127.0.0.1', port: submission.address.port, secure: false, ignoreTLS: true, auth: { user, pass: PW } });
    const inbox = async (address: string): Promise<Buffer[]> => {
      const r = await services.resolveRecipient(address);
      const box = await getMailboxByName(ctx, r!.local[0]!.account.id, 'INBOX');
      const out: Buffer[] = [];
      for (const m of await listMessages(t.db, box.id)) out.push((await readMessageBytes(t.db, m.id))!);
      return out;
    };
    const entriesTo = async (address: string): Promise<QueueEntry[]> =>
      (await listQueue(ctx, { history: true })).filter((e) => e.address === address);
    const finished = (address: string, status: QueueEntry['status']) =>
      until(`${address} ${status}`, async () => {
        const e = (await entriesTo(address))[0];
        return e?.status === status ? e : undefined;
      });
    const reportsFor = async (sender: string, rcpt: string): Promise<string[]> =>
      (await inbox(sender)).map((m) => m.toString('utf8')).filter((m) => m.includes('report-type=delivery-status') && m.includes(rcpt));

    before(async () => {
      t = await engine.create();
      ctx = testContext(t.db);
      for (const u of ['alice', 'bob']) await addAccount(ctx, { address: `${u}@corp.test`, password: PW, createDomain: true });
      await addAlias(ctx, 'sales@corp.test', ['alice@corp.test']);
      const dir = localDirectory(t.db, { subaddressSeparator: () => '+' });
      limits = { maxMessageBytes: 1_000_000, maxRecipients: 100, allowPlaintextAuth: true, queueLifetimeHours: 120 };
      const mail = createMailServices(t.db, dir, { senderPolicy: () => 'own', subaddressSeparator: () => '+' });
      services = { ...mail, limits: () => limits };
      submission = await startSmtpServer({
        mode: 'submission', listen: { host: '127.0.0.1', port: 0 }, hostname: 'mail.corp.test', services, log,
      });
      port = await freePortOn('127.0.0.21');
      sink = await startSink('127.0.0.21', port);
      const mx = (name: string, addr: string) => ({ [name]: { MX: [{ exchange: `mx.${name}`, priority: 10 }] }, [`mx.${name}`]: { A: [addr] } });
      zone = {
        ...mx('remote.test', '127.0.0.21'),
        ...mx('down.test', '127.0.0.22'),
        ...mx('never.test', '127.0.0.23'),
        ...mx('garbage.test', '127.0.0.24'),
        ...mx('silent.test', '127.0.0.25'),
        ...mx('secure.test', '127.0.0.21'),
        ...mx('nodsn.test', '127.0.0.26'),
        ...mx('slow.test', '127.0.0.27'),
        ...mx('refusing.test', '127.0.0.29'),
        'nullmx.test': { MX: [{ exchange: '', priority: 0 }] },
      };
      queueLimits = {
        concurrency: 8, domainConcurrency: 2, delayWarningMs: 0, leaseSeconds: 60,
        route: { port, allowPrivateAddresses: true }, requireTls: () => false,
      };
      worker = await startQueueWorker({
        db: t.db, node: 'test-node', hostname: 'mail.corp.test',
        resolver: async (name, type) => fakeResolver(zone)(name, type),
        limits: () => queueLimits,
        deliverReport: async (message, to) => void (await deliverReport(t.db, mail, message, to, { lifetimeHours: 1 })),
        log,
        client: { timeouts: { connect: 1000, greeting: 500, ehlo: 500, mailFrom: 500, rcptTo: 500, dataInit: 500, dataBlock: 1000, dataTermination: 1000, quit: 300 } },
        backoff: { minMs: 100, maxMs: 300, random: () => 0.5 },
        maxSleepMs: 200,
      });
    });
    after(async () => {
      await worker.stop();
      await submission.close();
      await sink.close();
      for (const s of extraSinks) await s.close();
      for (const s of servers) await new Promise((r) => s.close(r));
      await t.drop();
    });

    it('local copy at once, remote recipients queued in the same transaction and delivered in one SMTP transaction', async () => {
      const info = await transport().sendMail({
        from: 'Alice <alice@corp.test>', to: ['bob@remote.test', 'carol@remote.test', 'bob@corp.test'], subject: 'to the world', text: 'hello out there',
      });
      assert.deepEqual([...info.accepted].sort(), ['bob@corp.test', 'bob@remote.test', 'carol@remote.test']);
      // The 250 came after the commit: the local copy is there already.
      assert.ok((await inbox('bob@corp.test')).some((m) => m.includes('to the world')));
      const got = await until('the sink got it', async () => sink.messages.find((m) => m.data.includes('to the world')));
      assert.deepEqual([...got.to].sort(), ['bob@remote.test', 'carol@remote.test'], 'one transaction for both recipients of the domain');
      assert.equal(got.from, 'alice@corp.test');
      const text = got.data.toString('utf8');
      assert.match(text, /^Received: from /, 'our trace line comes first (no DKIM key yet)');
      assert.match(text, /\r\nSubject: to the world\r\n/);
      assert.match(text, /hello out there/);
      const bob = await finished('bob@remote.test', 'delivered');
      assert.equal(bob.lastCode, 250);
      assert.equal(bob.attempts, 1);
      assert.match(bob.lastHost ?? '', /mx\.remote\.test \[127\.0\.0\.21\]/);
      assert.equal(sink.messages.filter((m) => m.data.includes('to the world')).length, 1, 'delivered once');
    });

    it('connections are reused: messages one after another to one domain share an idle connection', async () => {
      await transport().sendMail({ from: 'alice@corp.test', to: 'warm@remote.test', subject: 'warm-up', text: 'x' });
      await finished('warm@remote.test', 'delivered');
      const before = sink.connections;
      for (let i = 0; i < 5; i++) {
        await transport().sendMail({ from: 'alice@corp.test', to: `reuse${i}@remote.test`, subject: `reuse ${i}`, text: 'x' });
        await finished(`reuse${i}@remote.test`, 'delivered');
      }
      assert.equal(sink.connections - before, 0, 'all five went over the connection the warm-up left idle');
    });

    it('a 4xx at the final dot is retried, then delivered', async () => {
      sink.tempFailures = 1;
      await transport().sendMail({ from: 'alice@corp.test', to: 'retry@remote.test', subject: 'second time lucky', text: 'x' });
      const e = await finished('retry@remote.test', 'delivered');
      assert.equal(e.attempts, 2);
      assert.equal(sink.messages.filter((m) => m.data.includes('second time lucky')).length, 1);
    });

    it('a 5xx fails at once and the sender gets a DSN (RFC 3464) in the INBOX; NOTIFY=NEVER gets none', async () => {
      await transport().sendMail({ from: 'alice@corp.test', to: ['reject-one@remote.test', 'ok-one@remote.test'], subject: 'partly wrong', text: 'x' });
      const failed = await finished('reject-one@remote.test', 'failed');
      assert.equal(failed.lastCode, 550);
      assert.equal(failed.lastStatus, '5.1.1');
      await finished('ok-one@remote.test', 'delivered');
      const [report] = await until('the DSN', async () => {
        const r = await reportsFor('alice@corp.test', 'reject-one@remote.test');
        return r.length > 0 ? r : undefined;
      });
      assert.match(report!, /Content-Type: multipart\/report; report-type=delivery-status/i);
      assert.match(report!, /Final-Recipient: rfc822; ?reject-one@remote\.test/i);
      assert.match(report!, /Action: failed/);
      assert.match(report!, /Status: 5\.1\.1/);
      assert.match(report!, /Diagnostic-Code: smtp; ?550/);
      assert.doesNotMatch(report!, /Final-Recipient: rfc822; ?ok-one@remote\.test/i, 'only the failed recipient is reported');
      assert.match(report!, /Subject: partly wrong/, 'the original comes back (RET absent, small message: full)');

      await transport().sendMail({
        from: 'alice@corp.test', to: 'reject-quiet@remote.test', subject: 'quiet', text: 'x', dsn: { notify: 'NEVER', id: 'env-1' },
      });
      await finished('reject-quiet@remote.test', 'failed');
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(await reportsFor('alice@corp.test', 'reject-quiet@remote.test'), []);
    });

    it('the null sender is never bounced to: a failure is recorded and no report goes anywhere', async () => {
      const queuedBefore = (await listQueue(ctx, { history: true })).filter((e) => e.kind === 'dsn').length;
      const c = await RawSmtp.open(submission.address.port);
      await c.reply();
      await c.command('EHLO client.test');
      const auth = Buffer.from(`\0alice@corp.test\0${PW}`).toString('base64');
      assert.equal((await c.command(`AUTH PLAIN ${auth}`)).code, 235);
      assert.equal((await c.command('MAIL FROM:<>')).code, 250);
      assert.equal((await c.command('RCPT TO:<reject-null@remote.test>')).code, 250);
      assert.equal((await c.command('DATA')).code, 354);
      assert.equal((await c.command('From: alice@corp.test\r\nSubject: receipt\r\n\r\nread\r\n.')).code, 250);
      c.close();
      await finished('reject-null@remote.test', 'failed');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal((await listQueue(ctx, { history: true })).filter((e) => e.kind === 'dsn').length, queuedBefore);
      assert.deepEqual(await reportsFor('alice@corp.test', 'reject-null@remote.test'), []);
    });

    it('a server that is down: retried with backoff, delivered once it is up', async () => {
      await transport().sendMail({ from: 'alice@corp.test', to: 'someone@down.test', subject: 'patience', text: 'x' });
      const waiting = await until('a failed attempt', async () => {
        const e = (await entriesTo('someone@down.test'))[0];
        return e && e.attempts >= 2 && e.status === 'queued' ? e : undefined;
      });
      assert.equal(waiting.lastStatus, '4.4.1');
      assert.match(waiting.lastText ?? '', /127\.0\.0\.22/);
      const late = await startSink('127.0.0.22', port);
      extraSinks.push(late);
      await finished('someone@down.test', 'delivered');
      assert.equal(late.messages.filter((m) => m.data.includes('patience')).length, 1);
    });

    it('still undeliverable at expiry: expired, and the sender gets a DSN', async () => {
      limits.queueLifetimeHours = 1 / 3600; // one second
      try {
        await transport().sendMail({ from: 'alice@corp.test', to: 'someone@never.test', subject: 'too late', text: 'x' });
      } finally {
        limits.queueLifetimeHours = 120;
      }
      const e = await finished('someone@never.test', 'expired');
      assert.ok(e.attempts >= 1);
      const [report] = await until('the expiry DSN', async () => {
        const r = await reportsFor('alice@corp.test', 'someone@never.test');
        return r.length > 0 ? r : undefined;
      });
      assert.match(report!, /Action: failed/);
      assert.match(report!, /Status: 4\.4\.1/);
    });

    it('a null MX (RFC 7505) fails at once with 5.1.10, without a connection', async () => {
      await transport().sendMail({ from: 'alice@corp.test', to: 'x@nullmx.test', subject: 'nowhere', text: 'x' });
      const e = await finished('x@nullmx.test', 'failed');
      assert.equal(e.lastStatus, '5.1.10');
      assert.equal(e.attempts, 1);
      await until('the null-MX DSN', async () => (await reportsFor('alice@corp.test', 'x@nullmx.test')).length > 0);
    });

    it('garbage and silence from remote servers: deferred in bounded time, the rest of the queue keeps going', async () => {
      servers.push(await badServer('127.0.0.24', port, 'garbage'), await badServer('127.0.0.25', port, 'silent'));
      const started = Date.now();
      await transport().sendMail({ from: 'alice@corp.test', to: ['a@garbage.test', 'b@silent.test', 'c@remote.test'], subject: 'mixed', text: 'x' });
      await finished('c@remote.test', 'delivered');
      for (const rcpt of ['a@garbage.test', 'b@silent.test']) {
        const e = await until(`${rcpt} deferred`, async () => {
          const x = (await entriesTo(rcpt))[0];
          return x && x.attempts >= 1 && x.lastText !== null ? x : undefined;
        });
        assert.equal(e.status, 'queued');
        assert.equal(e.lastCode! >= 400 && e.lastCode! < 500, true, `${rcpt}: temporary (${e.lastCode} ${e.lastText})`);
      }
      assert.ok(Date.now() - started < 10_000, 'bounded by the client timeouts');
    });

    it('a host that refuses the session (554 greeting) defers the mail, it does not bounce it', async () => {
      servers.push(await badServer('127.0.0.29', port, 'refusing'));
      await transport().sendMail({ from: 'alice@corp.test', to: 'x@refusing.test', subject: 'refused', text: 'x' });
      const e = await until('a refused attempt', async () => {
        const x = (await entriesTo('x@refusing.test'))[0];
        return x && x.attempts >= 1 && x.lastText !== null ? x : undefined;
      });
      assert.equal(e.status, 'queued');
      assert.equal(e.lastCode, 451);
      assert.match(e.lastText ?? '', /session refused: 554/);
    });

    it('DKIM: mail from a domain with a key leaves signed, and an independent verifier passes it', async () => {
      const record = await ensureDkimKey(t.db, 'corp.test');
      assert.equal(record.created, true);
      await transport().sendMail({ from: 'alice@corp.test', to: 'dkim@remote.test', subject: 'signed', text: 'verify me\n' });
      const got = await until('signed mail', async () => sink.messages.find((m) => m.data.includes('Subject: signed')));
      assert.match(got.data.toString('utf8'), /^DKIM-Signature: /);
      const resolver = fakeResolver({ [record.name]: { TXT: [record.value] } }) as unknown as DNSResolver;
      const result = await dkimVerify(got.data, { resolver });
      assert.equal(result.results[0]?.status.result, 'pass', JSON.stringify(result.results[0]?.status));
      assert.equal(result.results[0]?.signingDomain, 'corp.test');
      // The same bytes with the body changed do not pass.
      const tampered = Buffer.from(got.data.toString('utf8').replace('verify me', 'verify you'));
      // (mailauth says "neutral" with "body hash did not verify" for a changed body.)
      const check = (await dkimVerify(tampered, { resolver })).results[0]?.status;
      assert.notEqual(check?.result, 'pass');
      assert.match(String(check?.comment), /body hash did not verify/);
      // A rotation: the new key alone signs from now on.
      const rotated = await ensureDkimKey(t.db, 'corp.test', { rotate: true });
      assert.notEqual(rotated.selector, record.selector);
      await transport().sendMail({ from: 'alice@corp.test', to: 'dkim2@remote.test', subject: 'signed again', text: 'x' });
      const second = await until('re-signed mail', async () => sink.messages.find((m) => m.data.includes('Subject: signed again')));
      const signatures = second.data.toString('utf8').split('\r\n\r\n')[0]!.match(/^DKIM-Signature:/gm) ?? [];
      assert.equal(signatures.length, 1);
      const both = fakeResolver({ [record.name]: { TXT: [record.value] }, [rotated.name]: { TXT: [rotated.value] } }) as unknown as DNSResolver;
      const r2 = (await dkimVerify(second.data, { resolver: both })).results[0];
      assert.equal(r2?.status.result, 'pass');
      assert.equal(r2?.selector, rotated.selector);
    });

    it('DSN parameters (ENVID, NOTIFY) go on to a next hop that offers DSN', async () => {
      await transport().sendMail({
        from: 'alice@corp.test', to: 'dsn@remote.test', subject: 'with dsn', text: 'x', dsn: { id: 'track-42', notify: ['SUCCESS', 'FAILURE'], ret: 'HDRS' },
      });
      const got = await until('dsn mail', async () => sink.messages.find((m) => m.data.includes('Subject: with dsn')));
      assert.equal(got.envid, 'track-42');
      assert.deepEqual(got.notify, [['SUCCESS', 'FAILURE']]);
    });

    it('NOTIFY=SUCCESS for a local recipient: a "delivered" report (RFC 3461 6.2.2), to a local or a remote sender', async () => {
      await transport().sendMail({ from: 'alice@corp.test', to: 'bob@corp.test', subject: 'did it arrive', text: 'x', dsn: { notify: ['SUCCESS'], id: 'env-ok' } });
      const [local] = await until('the delivered DSN', async () => {
        const r = await reportsFor('alice@corp.test', 'bob@corp.test');
        return r.length > 0 ? r : undefined;
      });
      assert.match(local!, /Action: delivered/);
      assert.match(local!, /Status: 2\.0\.0/);
      assert.match(local!, /Original-Envelope-Id: env-ok/);
      // From another MTA to bob: the report goes back through the queue, from <>.
      const mx = await startSmtpServer({ mode: 'mx', listen: { host: '127.0.0.1', port: 0 }, hostname: 'mail.corp.test', services, log });
      try {
        const c = await RawSmtp.open(mx.address.port);
        await c.reply();
        await c.command('EHLO sender.remote.test');
        assert.equal((await c.command('MAIL FROM:<someone@remote.test> RET=HDRS ENVID=x42')).code, 250);
        assert.equal((await c.command('RCPT TO:<bob@corp.test> NOTIFY=SUCCESS,FAILURE')).code, 250);
        assert.equal((await c.command('DATA')).code, 354);
        assert.equal((await c.command('From: someone@remote.test\r\nSubject: remote wants receipt\r\n\r\nhi\r\n.')).code, 250);
        c.close();
      } finally {
        await mx.close();
      }
      const report = await until('the report at the remote sender', async () =>
        sink.messages.find((m) => m.to.includes('someone@remote.test') && m.data.includes('report-type=delivery-status')));
      assert.equal(report.from, '', 'sent with the null reverse-path');
      assert.match(report.data.toString('utf8'), /Action: delivered/);
      assert.match(report.data.toString('utf8'), /Subject: remote wants receipt/, 'its header section (RET=HDRS)');
    });

    it('alias targets outside our domains are forwarded through the queue, with the original sender; a loop is refused', async () => {
      await addAlias(ctx, 'fwd@corp.test', ['bob@corp.test', 'ext-fwd@remote.test']);
      await addAlias(ctx, 'away@corp.test', ['ext-only@remote.test']);
      const mx = await startSmtpServer({ mode: 'mx', listen: { host: '127.0.0.1', port: 0 }, hostname: 'mail.corp.test', services, log });
      try {
        const send = async (rcpt: string, subject: string, extraHead = ''): Promise<number> => {
          const c = await RawSmtp.open(mx.address.port);
          await c.reply();
          await c.command('EHLO sender.remote.test');
          await c.command('MAIL FROM:<origin@remote.test>');
          const r = await c.command(`RCPT TO:<${rcpt}>`);
          if (r.code !== 250) return r.code;
          await c.command('DATA');
          const done = await c.command(`${extraHead}From: origin@remote.test\r\nSubject: ${subject}\r\n\r\nhi\r\n.`);
          c.close();
          return done.code;
        };
        assert.equal(await send('fwd@corp.test', 'forward me'), 250);
        assert.equal(await send('away@corp.test', 'only away'), 250, 'an alias with only outside targets is a valid recipient');
        assert.ok((await inbox('bob@corp.test')).some((m) => m.includes('Subject: forward me')), 'the local target got its copy');
        const fwd = await until('the forwarded copy', async () => sink.messages.find((m) => m.to.includes('ext-fwd@remote.test')));
        assert.equal(fwd.from, 'origin@remote.test', 'forwarded with the original envelope sender');
        assert.match(fwd.data.toString('utf8'), /^Received: from sender\.remote\.test/, 'our Received line, no Return-Path');
        await until('the alias-only copy', async () => sink.messages.some((m) => m.to.includes('ext-only@remote.test') && m.data.includes('only away')));
        // RFC 5321 6.3: 50 Received fields make it a loop.
        const hops = Array.from({ length: 50 }, (_, i) => `Received: from hop${i}.test by hop${i + 1}.test; Sun, 29 Nov 2026 10:00:00 +0000\r\n`).join('');
        assert.equal(await send('fwd@corp.test', 'looping', hops), 554);
        assert.equal((await entriesTo('ext-fwd@remote.test')).length, 1, 'the looping message was not forwarded');
      } finally {
        await mx.close();
      }
    });

    it('a domain that requires TLS is not sent to in clear: deferred while its server offers no STARTTLS', async () => {
      const before = sink.messages.length;
      queueLimits = { ...queueLimits, requireTls: (d) => d === 'secure.test' };
      try {
        await transport().sendMail({ from: 'alice@corp.test', to: 'x@secure.test', subject: 'tls only', text: 'x' });
        const e = await until('a refused attempt', async () => {
          const x = (await entriesTo('x@secure.test'))[0];
          return x && x.attempts >= 1 && x.lastText !== null ? x : undefined;
        });
        assert.equal(e.status, 'queued');
        assert.match(e.lastText ?? '', /TLS/);
        assert.equal(sink.messages.slice(before).some((m) => m.data.includes('tls only')), false, 'nothing went in clear');
      } finally {
        queueLimits = { ...queueLimits, requireTls: () => false };
      }
    });

    it('NOTIFY=SUCCESS through a next hop without DSN: a "relayed" report (RFC 3461 5.2.2)', async () => {
      const noDsn = await startSink('127.0.0.26', port, { hideDsn: true });
      extraSinks.push(noDsn);
      await transport().sendMail({ from: 'alice@corp.test', to: 'ok@nodsn.test', subject: 'tell me', text: 'x', dsn: { notify: 'SUCCESS' } });
      await finished('ok@nodsn.test', 'delivered');
      const [report] = await until('the relayed DSN', async () => {
        const r = await reportsFor('alice@corp.test', 'ok@nodsn.test');
        return r.length > 0 ? r : undefined;
      });
      assert.match(report!, /Action: relayed/);
      assert.match(report!, /Status: 2\.\d\.\d/);
    });

    it('still queued after queue.delayWarningHours: one "delayed" report, not one per attempt', async () => {
      queueLimits = { ...queueLimits, delayWarningMs: 1 };
      try {
        await transport().sendMail({ from: 'alice@corp.test', to: 'wait@slow.test', subject: 'slowly', text: 'x' });
        await until('three attempts', async () => ((await entriesTo('wait@slow.test'))[0]?.attempts ?? 0) >= 3);
      } finally {
        queueLimits = { ...queueLimits, delayWarningMs: 0 };
      }
      const reports = await reportsFor('alice@corp.test', 'wait@slow.test');
      assert.equal(reports.length, 1);
      assert.match(reports[0]!, /Action: delayed/);
      assert.match(reports[0]!, /Will-Retry-Until: /);
    });

    it('a smarthost with AUTH: everything goes there, logged in over STARTTLS, whatever the MX says', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'tegu-smarthost-'));
      try {
        const tls = await ensureTlsMaterial({ dataDir: dir, hostname: 'relay.provider.test' });
        const relay = await startSink('127.0.0.28', port, { tls: { cert: tls.cert, key: tls.key }, auth: { user: 'relay-user', pass: 'relay secret' } });
        extraSinks.push(relay);
        queueLimits = { ...queueLimits, route: { ...queueLimits.route, smarthost: `127.0.0.28:${port}`, smarthostAuth: { user: 'relay-user', pass: 'relay secret' } } };
        try {
          await transport().sendMail({ from: 'alice@corp.test', to: ['one@remote.test', 'two@nullmx.test'], subject: 'via relay', text: 'x' });
          await finished('one@remote.test', 'delivered');
          await finished('two@nullmx.test', 'delivered');
        } finally {
          queueLimits = { ...queueLimits, route: { port, allowPrivateAddresses: true } };
        }
        const got = relay.messages.filter((m) => m.data.includes('via relay'));
        assert.equal(got.length, 2, 'one transaction per domain, both through the smarthost');
        assert.ok(got.every((m) => m.secure && m.user === 'relay-user'));
        assert.equal(sink.messages.some((m) => m.data.includes('via relay')), false, 'not to the MX');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('bad input: relay without AUTH, a forged envelope sender, a forged From, too many recipients', async () => {
      // Submission needs AUTH before MAIL.
      await assert.rejects(
        nodemailer.createTransport({ host: '127.0.0.1', port: submission.address.port, secure: false, ignoreTLS: true })
          .sendMail({ from: 'alice@corp.test', to: 'x@remote.test', text: 'x' }),
        (e: { responseCode?: number }) => e.responseCode === 530,
      );
      // Someone else's envelope sender.
      await assert.rejects(
        transport().sendMail({ envelope: { from: 'bob@corp.test', to: 'x@remote.test' }, from: 'alice@corp.test', text: 'x' }),
        (e: { responseCode?: number; response?: string }) => e.responseCode === 550 && /5\.7\.1/.test(e.response ?? ''),
      );
      // An alias that delivers to alice is hers to use; another domain is not.
      await transport().sendMail({ from: 'sales@corp.test', to: 'alias-ok@remote.test', subject: 'from sales', text: 'x' });
      await finished('alias-ok@remote.test', 'delivered');
      // A forged From header: refused at the end of DATA, nothing stored or queued.
      await assert.rejects(
        transport().sendMail({ envelope: { from: 'alice@corp.test', to: ['forged@remote.test', 'bob@corp.test'] }, from: 'ceo@corp.test', subject: 'forged', text: 'x' }),
        (e: { responseCode?: number; response?: string }) => e.responseCode === 550 && /ceo@corp\.test/.test(e.response ?? ''),
      );
      assert.deepEqual(await entriesTo('forged@remote.test'), []);
      assert.equal((await inbox('bob@corp.test')).filter((m) => m.includes('Subject: forged')).length, 0);
      // Recipients past the limit: 452 4.5.3 (RFC 5321 4.5.3.1.8).
      const c = await RawSmtp.open(submission.address.port);
      await c.reply();
      await c.command('EHLO client.test');
      await c.command(`AUTH PLAIN ${Buffer.from(`\0alice@corp.test\0${PW}`).toString('base64')}`);
      await c.command('MAIL FROM:<alice@corp.test>');
      for (let i = 0; i < 100; i++) assert.equal((await c.command(`RCPT TO:<many${i}@remote.test>`)).code, 250);
      assert.deepEqual((await c.command('RCPT TO:<one-too-many@remote.test>')).lines, ['452 4.5.3 Too many recipients']);
      await c.command('RSET');
      c.close();
    });
  });
}
