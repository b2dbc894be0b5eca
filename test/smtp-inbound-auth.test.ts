// Inbound authentication in the SMTP session (RFC 7208 SPF, RFC 7489 DMARC,
// RFC 8601 Authentication-Results), with a fake DNS resolver.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { addAccount } from '../src/core/accounts.ts';
import { createMailServices } from '../src/core/mail-services.ts';
import { getMailboxByName } from '../src/core/mailboxes.ts';
import { localDirectory } from '../src/directory/local.ts';
import { createLogger } from '../src/lib/log.ts';
import type { MailboxId } from '../src/lib/ids.ts';
import { fakeResolver } from '../src/mail/dns.ts';
import { startSmtpServer, type RunningSmtpServer } from '../src/protocols/smtp/server.ts';
import { listMessages, readMessageBytes } from '../src/store/messages.ts';
import { embeddedEngine, testContext, type TestDb } from './helpers/db.ts';
import { RawSmtp } from './helpers/smtp-client.ts';

const zone = {
  'reject.test': { TXT: ['v=spf1 -all'] },
  '_dmarc.reject.test': { TXT: ['v=DMARC1; p=reject'] },
  'quarantine.test': { TXT: ['v=spf1 -all'] },
  '_dmarc.quarantine.test': { TXT: ['v=DMARC1; p=quarantine'] },
  'good.test': { TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
  '_dmarc.good.test': { TXT: ['v=DMARC1; p=reject'] },
};

describe('SMTP inbound authentication', () => {
  let t: TestDb;
  let server: RunningSmtpServer;
  let inbox: MailboxId;
  let junk: MailboxId;
  let dir: string;
  before(async () => {
    t = await embeddedEngine().create();
    dir = await mkdtemp(join(tmpdir(), 'tegu-auth-'));
    const ctx = testContext(t.db);
    const a = await addAccount(ctx, { address: 'rcpt@corp.test', password: 'inbound auth pw', createDomain: true });
    inbox = (await getMailboxByName(ctx, a.id, 'INBOX')).id;
    junk = (await getMailboxByName(ctx, a.id, 'Junk')).id;
    const services = {
      ...createMailServices(t.db, localDirectory(t.db, { subaddressSeparator: () => '+' }), { resolver: fakeResolver(zone) }),
      limits: () => ({ maxMessageBytes: 1_000_000, maxRecipients: 100, allowPlaintextAuth: false }),
    };
    server = await startSmtpServer({ mode: 'mx', listen: { host: '127.0.0.1', port: 0 }, hostname: 'mx.corp.test', services, log: createLogger({ level: 'fatal' }) });
  });
  after(async () => {
    await server.close();
    await t.drop();
    await rm(dir, { recursive: true, force: true });
  });

  async function send(fromDomain: string, extraHeader = ''): Promise<string[]> {
    const c = await RawSmtp.open(server.address.port);
    await c.reply();
    await c.command('EHLO sender.example');
    await c.command(`MAIL FROM:<bounce@${fromDomain}>`);
    await c.command('RCPT TO:<rcpt@corp.test>');
    await c.command('DATA');
    c.write(`${extraHeader}From: someone@${fromDomain}\r\nSubject: from ${fromDomain}\r\n\r\nbody\r\n.\r\n`);
    const r = await c.reply();
    c.close();
    return r.lines;
  }

  const stored = async (box: MailboxId): Promise<string[]> =>
    Promise.all((await listMessages(t.db, box)).map(async (m) => (await readMessageBytes(t.db, m.id))!.toString()));

  it('DMARC p=reject with SPF fail: 550 5.7.1 after DATA, nothing stored (RFC 7489 6.6.2)', async () => {
    const reply = await send('reject.test');
    assert.match(reply[0]!, /^550 5\.7\.1 /);
    assert.equal((await stored(inbox)).filter((m) => m.includes('from reject.test')).length, 0);
  });

  it('DMARC p=quarantine: delivered to Junk with Authentication-Results (RFC 8601)', async () => {
    assert.match((await send('quarantine.test'))[0]!, /^250 /);
    const j = (await stored(junk)).find((m) => m.includes('from quarantine.test'));
    assert.ok(j, 'in Junk');
    assert.match(j, /Authentication-Results: mx\.corp\.test;[\s\S]*spf=fail[\s\S]*dmarc=fail/);
  });

  it('SPF pass aligned: DMARC pass, INBOX; a forged Authentication-Results for our host is removed (RFC 8601 5)', async () => {
    const forged = 'Authentication-Results: mx.corp.test; dmarc=pass header.from=bank.test\r\n';
    assert.match((await send('good.test', forged))[0]!, /^250 /);
    const m = (await stored(inbox)).find((x) => x.includes('from good.test'));
    assert.ok(m);
    assert.match(m, /spf=pass/);
    assert.match(m, /dmarc=pass/);
    assert.ok(!m.includes('header.from=bank.test'), 'forged result gone');
  });
});
