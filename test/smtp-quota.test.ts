// Mailbox quota at SMTP/LMTP RCPT (and LMTP end of DATA): real server, real
// clients (RawSmtp, nodemailer), both engines.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import nodemailer from 'nodemailer';
import { ensureTlsMaterial } from '../src/config/tls.ts';
import { addAccount } from '../src/core/accounts.ts';
import { addAlias } from '../src/core/aliases.ts';
import type { CoreContext } from '../src/core/context.ts';
import { getMailboxByName } from '../src/core/mailboxes.ts';
import { createMailServices } from '../src/core/mail-services.ts';
import { getQuota, setQuota } from '../src/core/quota.ts';
import { localDirectory } from '../src/directory/local.ts';
import { createLogger } from '../src/lib/log.ts';
import { startSmtpServer, type RunningSmtpServer } from '../src/protocols/smtp/server.ts';
import type { SmtpLimits, SmtpServices } from '../src/protocols/smtp/services.ts';
import type { ListenerMode } from '../src/protocols/smtp/state.ts';
import { findAccount } from '../src/store/directory.ts';
import { listMessages } from '../src/store/messages.ts';
import { engines, testContext, type TestDb } from './helpers/db.ts';
import { RawSmtp } from './helpers/smtp-client.ts';

const PW = 'quota test password';
const log = createLogger({ level: 'fatal' });
const FULL_TEMP = ['452 4.2.2 Mailbox full, try again later'];
const FULL_PERM = ['552 5.2.2 Mailbox full'];

for (const engine of engines()) {
  describe(`SMTP/LMTP quota (${engine.name})`, () => {
    let t: TestDb;
    let ctx: CoreContext;
    let services: SmtpServices;
    let limits: SmtpLimits;
    let defaultQuota = 0;
    let tlsDir: string;
    let tls: { cert: string; key: string };
    const servers: RunningSmtpServer[] = [];
    const ports = new Map<ListenerMode, number>();

    const port = async (mode: ListenerMode): Promise<number> => {
      const known = ports.get(mode);
      if (known !== undefined) return known;
      const s = await startSmtpServer({ mode, listen: { host: '127.0.0.1', port: 0 }, hostname: 'mx.corp.test', tls, services, log });
      servers.push(s);
      ports.set(mode, s.address.port);
      return s.address.port;
    };
    /** A session after the greeting and EHLO (LHLO for LMTP). */
    const open = async (mode: ListenerMode = 'mx'): Promise<RawSmtp> => {
      const c = await RawSmtp.open(await port(mode));
      assert.equal((await c.reply()).code, 220);
      assert.equal((await c.command(mode === 'lmtp' ? 'LHLO mta.corp.test' : 'EHLO client.test')).code, 250);
      return c;
    };
    const body = (subject: string, fill = 0): string => `Subject: ${subject}\r\n\r\n${'x'.repeat(fill)}\r\n.\r\n`;
    const inboxCount = async (user: string): Promise<number> => {
      const a = (await findAccount(t.db, `${user}@corp.test`))!;
      return (await listMessages(t.db, (await getMailboxByName(ctx, a.id, 'INBOX')).id)).length;
    };
    const used = async (user: string): Promise<number> => (await getQuota(ctx, `${user}@corp.test`)).usedBytes;
    /** Quota = what the user uses now: the mailbox is exactly full. */
    const fill = async (user: string): Promise<void> => {
      await setQuota(ctx, `${user}@corp.test`, await used(user));
    };
    /** One message over SMTP to `to`, no SIZE; the code of the final reply. */
    const send = async (to: string[], subject: string, fill = 0): Promise<number> => {
      const c = await open();
      assert.equal((await c.command('MAIL FROM:<s@remote.test>')).code, 250);
      for (const r of to) assert.equal((await c.command(`RCPT TO:<${r}>`)).code, 250, r);
      assert.equal((await c.command('DATA')).code, 354);
      c.write(body(subject, fill));
      const code = (await c.reply()).code;
      c.close();
      return code;
    };

    before(async () => {
      t = await engine.create();
      ctx = testContext(t.db);
      const dir = localDirectory(t.db, { subaddressSeparator: () => '+' });
      limits = { maxMessageBytes: 1_000_000, maxRecipients: 100, allowPlaintextAuth: false };
      services = { ...createMailServices(t.db, dir, { defaultQuotaBytes: () => defaultQuota }), limits: () => limits };
      tlsDir = await mkdtemp(join(tmpdir(), 'tegu-quota-tls-'));
      const material = await ensureTlsMaterial({ dataDir: tlsDir, hostname: 'mx.corp.test' });
      tls = { cert: material.cert, key: material.key };
      for (const u of ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'gina']) {
        await addAccount(ctx, { address: `${u}@corp.test`, password: PW, createDomain: true });
      }
      await addAlias(ctx, 'team@corp.test', ['alice@corp.test', 'carol@corp.test']);
      await addAlias(ctx, 'full-pair@corp.test', ['alice@corp.test', 'bob@corp.test']);
    });
    after(async () => {
      for (const s of servers) await s.close();
      await t.drop();
      await rm(tlsDir, { recursive: true, force: true });
    });

    it('under quota: nodemailer delivers, and usage grows by the stored size (header_prefix included)', async () => {
      await setQuota(ctx, 'alice@corp.test', 1024 * 1024);
      const transport = nodemailer.createTransport({ host: '127.0.0.1', port: await port('mx'), secure: false, ignoreTLS: true });
      const info = await transport.sendMail({ from: 'x@remote.test', to: 'alice@corp.test', subject: 'fits', text: 'small' });
      assert.deepEqual(info.accepted, ['alice@corp.test']);
      const q = await getQuota(ctx, 'alice@corp.test');
      const a = (await findAccount(t.db, 'alice@corp.test'))!;
      const stored = await listMessages(t.db, (await getMailboxByName(ctx, a.id, 'INBOX')).id);
      assert.equal(stored.length, 1);
      assert.equal(q.usedBytes, stored[0]!.size);
      assert.equal(q.messages, 1);
      assert.ok(q.usedBytes > 'small'.length, 'trace headers and Delivered-To count too');
    });

    it('a full mailbox: RCPT gets 452 4.2.2 (RFC 3463 X.2.2), the other recipients are still delivered', async () => {
      await fill('alice');
      const before = { alice: await inboxCount('alice'), bob: await inboxCount('bob') };
      const c = await open();
      assert.equal((await c.command('MAIL FROM:<s@remote.test>')).code, 250);
      assert.deepEqual((await c.command('RCPT TO:<alice@corp.test>')).lines, FULL_TEMP);
      assert.equal((await c.command('RCPT TO:<bob@corp.test>')).code, 250);
      assert.equal((await c.command('DATA')).code, 354);
      c.write(body('to bob only'));
      assert.equal((await c.reply()).code, 250);
      c.close();
      assert.deepEqual({ alice: await inboxCount('alice'), bob: await inboxCount('bob') }, { alice: before.alice, bob: before.bob + 1 });
    });

    it('smtp.overQuotaReply = permanent: 552 5.2.2', async () => {
      limits = { ...limits, overQuotaReply: 'permanent' };
      try {
        const c = await open();
        await c.command('MAIL FROM:<s@remote.test>');
        assert.deepEqual((await c.command('RCPT TO:<alice@corp.test>')).lines, FULL_PERM);
        c.close();
      } finally {
        limits = { ...limits, overQuotaReply: 'temporary' };
      }
    });

    it('the SIZE declared at MAIL (RFC 1870) counts at RCPT: refused when usage + SIZE > quota', async () => {
      await setQuota(ctx, 'bob@corp.test', (await used('bob')) + 1000);
      const c = await open();
      const rcptWith = async (size: number | undefined): Promise<string[]> => {
        assert.equal((await c.command(`MAIL FROM:<s@remote.test>${size === undefined ? '' : ` SIZE=${size}`}`)).code, 250);
        const r = await c.command('RCPT TO:<bob@corp.test>');
        assert.equal((await c.command('RSET')).code, 250);
        return r.lines;
      };
      assert.equal((await rcptWith(500))[0]!.slice(0, 3), '250');
      assert.equal((await rcptWith(1000))[0]!.slice(0, 3), '250', 'exactly up to the limit fits');
      assert.deepEqual(await rcptWith(1001), FULL_TEMP);
      assert.equal((await rcptWith(undefined))[0]!.slice(0, 3), '250', 'without SIZE: only a full mailbox is refused');
      c.close();
    });

    it('SMTP: a message accepted at RCPT is stored whole even past the quota (grace of one message); the next is refused', async () => {
      // bob has 1000 octets left and no SIZE is declared: RCPT passes, the message is larger.
      assert.equal(await send(['bob@corp.test'], 'big one', 3000), 250);
      const q = await getQuota(ctx, 'bob@corp.test');
      assert.ok(q.usedBytes > q.limitBytes, `${q.usedBytes} > ${q.limitBytes}`);
      const c = await open();
      await c.command('MAIL FROM:<s@remote.test>');
      assert.deepEqual((await c.command('RCPT TO:<bob@corp.test>')).lines, FULL_TEMP);
      c.close();
    });

    it('an alias to two accounts, one full: accepted, delivered to the other; all full: 452', async () => {
      const before = { alice: await inboxCount('alice'), carol: await inboxCount('carol') };
      assert.equal(await send(['team@corp.test'], 'team mail'), 250);
      assert.deepEqual({ alice: await inboxCount('alice'), carol: await inboxCount('carol') }, { alice: before.alice, carol: before.carol + 1 });
      const c = await open();
      await c.command('MAIL FROM:<s@remote.test>');
      assert.deepEqual((await c.command('RCPT TO:<full-pair@corp.test>')).lines, FULL_TEMP, 'alice and bob are both full');
      c.close();
    });

    it('LMTP: at end of DATA the real size puts one recipient over quota: that one gets 452 4.2.2, the other 250 (RFC 2033 4.2)', async () => {
      await setQuota(ctx, 'dave@corp.test', (await used('dave')) + 200);
      const before = { dave: await inboxCount('dave'), erin: await inboxCount('erin') };
      const c = await open('lmtp');
      assert.equal((await c.command('MAIL FROM:<l@remote.test>')).code, 250);
      assert.equal((await c.command('RCPT TO:<dave@corp.test>')).code, 250, 'not full yet, no SIZE');
      assert.deepEqual((await c.command('RCPT TO:<alice@corp.test>')).lines, FULL_TEMP, 'already full: refused at RCPT');
      assert.equal((await c.command('RCPT TO:<erin@corp.test>')).code, 250);
      assert.equal((await c.command('DATA')).code, 354);
      c.write(body('lmtp big', 1000));
      assert.deepEqual((await c.reply()).lines, FULL_TEMP, 'dave: the message does not fit');
      assert.equal((await c.reply()).code, 250, 'erin');
      assert.equal((await c.command('NOOP')).code, 250, 'exactly one reply per accepted recipient');
      // Only recipients over quota: nothing stored, every one answered.
      assert.equal((await c.command('MAIL FROM:<l@remote.test>')).code, 250);
      assert.equal((await c.command('RCPT TO:<dave@corp.test>')).code, 250);
      assert.equal((await c.command('DATA')).code, 354);
      c.write(body('lmtp big again', 1000));
      assert.deepEqual((await c.reply()).lines, FULL_TEMP);
      assert.equal((await c.command('NOOP')).code, 250);
      c.close();
      assert.deepEqual({ dave: await inboxCount('dave'), erin: await inboxCount('erin') }, { dave: before.dave, erin: before.erin + 1 });
    });

    it('quota_bytes NULL: the mailbox.defaultQuotaBytes setting applies; 0 there is unlimited', async () => {
      assert.equal(await send(['frank@corp.test'], 'first for frank'), 250);
      assert.equal((await getQuota(ctx, 'frank@corp.test')).quotaBytes, null);
      const rcpt = async (): Promise<string[]> => {
        const c = await open();
        await c.command('MAIL FROM:<s@remote.test> SIZE=100');
        const r = await c.command('RCPT TO:<frank@corp.test>');
        c.close();
        return r.lines;
      };
      defaultQuota = await used('frank');
      try {
        assert.deepEqual(await rcpt(), FULL_TEMP);
      } finally {
        defaultQuota = 0;
      }
      assert.equal((await rcpt())[0]!.slice(0, 3), '250');
    });

    it('quota 0 on the account is unlimited, whatever the default', async () => {
      await setQuota(ctx, 'gina@corp.test', 0);
      assert.equal(await send(['gina@corp.test'], 'for gina', 500), 250);
      defaultQuota = 1;
      try {
        const c = await open();
        await c.command('MAIL FROM:<s@remote.test> SIZE=900000');
        assert.equal((await c.command('RCPT TO:<gina@corp.test>')).code, 250);
        c.close();
      } finally {
        defaultQuota = 0;
      }
    });

    it('every mailbox: message_count and total_size equal count(*) and sum(size) of its messages', async () => {
      const rows = await t.db.query<{ name: string; n: number; total: string; count: number; sum: string }>(
        `SELECT mb.name, mb.message_count AS n, mb.total_size::text AS total,
                (SELECT count(*)::int FROM messages m WHERE m.mailbox_id = mb.id) AS count,
                (SELECT coalesce(sum(size), 0)::text FROM messages m WHERE m.mailbox_id = mb.id) AS sum
           FROM mailboxes mb`,
      );
      assert.ok(rows.some((r) => r.count > 0));
      for (const r of rows) assert.deepEqual([r.n, r.total], [r.count, r.sum], r.name);
    });
  });
}
