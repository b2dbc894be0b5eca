// Interoperability: Debian's swaks (https://jetmore.org/john/code/swaks/), a
// client we did not write, against the in-process SMTP, submission,
// submissions and LMTP listeners, on each engine. Each case checks swaks' exit
// code (0 = delivered; 24 = every RCPT refused; 28 = AUTH failed) and the
// message as stored. Skipped when swaks is not installed (CI: apt-get install -y swaks).
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureTlsMaterial } from '../src/config/tls.ts';
import { addAccount } from '../src/core/accounts.ts';
import type { CoreContext } from '../src/core/context.ts';
import { getMailboxByName } from '../src/core/mailboxes.ts';
import { createMailServices } from '../src/core/mail-services.ts';
import { localDirectory } from '../src/directory/local.ts';
import { createLogger } from '../src/lib/log.ts';
import { startSmtpServer, type RunningSmtpServer } from '../src/protocols/smtp/server.ts';
import type { SmtpServices } from '../src/protocols/smtp/services.ts';
import type { ListenerMode } from '../src/protocols/smtp/state.ts';
import { listMessages, readMessageBytes } from '../src/store/messages.ts';
import { engines, testContext, type TestDb } from './helpers/db.ts';

const SWAKS = process.env.TEGU_SWAKS ?? '/usr/bin/swaks';
const HAVE_SWAKS = existsSync(SWAKS);
const NO_SWAKS = `swaks not found at ${SWAKS} (CI: apt-get install -y swaks; or set TEGU_SWAKS)`;
/**
 * swaks is one Perl script with its manual inside: which optional protocol
 * features this version can drive (20201014.0, Debian 12: no 8BITMIME,
 * SMTPUTF8 or BDAT option). Read as text: `swaks --help` needs perldoc.
 * swaks cannot send BDAT at all, so CHUNKING is exercised by raw sessions
 * (smtp-server.test.ts, smtp-abuse.test.ts, wire-bdat.test.ts), and SMTPUTF8
 * by nodemailer and raw sessions (smtp-server.test.ts).
 */
const SCRIPT = HAVE_SWAKS ? readFileSync(SWAKS, 'latin1') : '';
const VERSION = HAVE_SWAKS ? (/swaks version (\S+)/.exec(execFileSync(SWAKS, ['--version'], { encoding: 'utf8' }))?.[1] ?? '?') : '';
const HAS_8BITMIME = /--8bitmime\b/i.test(SCRIPT);
const HAS_SMTPUTF8 = /smtputf8/i.test(SCRIPT);

const PW = 'swaks test password';
const log = createLogger({ level: 'fatal' });
const T = { timeout: 60_000 };

interface SwaksResult {
  code: number;
  out: string;
}

/** Runs swaks (never prompting: every needed value is on the command line). */
function swaks(args: string[]): Promise<SwaksResult> {
  return new Promise((resolve, reject) => {
    execFile(SWAKS, ['--timeout', '20', ...args], { timeout: 45_000, maxBuffer: 16 << 20, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      if (code === null) return reject(new Error(`swaks did not run: ${err?.message}\n${stdout}\n${stderr}`));
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

const token = (): string => randomBytes(6).toString('hex');

for (const engine of engines()) {
  describe(`swaks interop (${engine.name}, swaks ${VERSION || 'missing'})`, { skip: HAVE_SWAKS ? false : NO_SWAKS }, () => {
    let t: TestDb;
    let ctx: CoreContext;
    let services: SmtpServices;
    let tls: { cert: string; key: string };
    let dir: string;
    const servers: RunningSmtpServer[] = [];
    const ports = new Map<ListenerMode, number>();

    const start = async (mode: ListenerMode): Promise<number> => {
      const s = await startSmtpServer({ mode, listen: { host: '127.0.0.1', port: 0 }, hostname: 'mx.corp.test', tls, services, log });
      servers.push(s);
      return s.address.port;
    };
    const port = (mode: ListenerMode): number => ports.get(mode)!;
    /** The stored messages (header prefix + blob) of an account's INBOX. */
    const inbox = async (address: string): Promise<Buffer[]> => {
      const r = await services.resolveRecipient(address);
      const account = r!.local[0]!.account.id;
      const box = await getMailboxByName(ctx, account, 'INBOX');
      const out: Buffer[] = [];
      for (const m of await listMessages(t.db, box.id)) out.push((await readMessageBytes(t.db, m.id))!);
      return out;
    };
    /** The one stored message of `address` whose Subject carries `tag`. */
    const stored = async (address: string, tag: string): Promise<Buffer> => {
      const found = (await inbox(address)).filter((m) => m.includes(`Subject: ${tag}\r\n`));
      assert.equal(found.length, 1, `exactly one message "${tag}" for ${address}`);
      return found[0]!;
    };
    const countAll = async (): Promise<number> => Number((await t.db.query<{ n: string }>('SELECT count(*) AS n FROM messages'))[0]!.n);
    /** Options every run shares: the server, a fixed EHLO name, the envelope. */
    const base = (mode: ListenerMode, from: string, to: string, subject: string): string[] => [
      '--server', '127.0.0.1', '--port', String(port(mode)), '--ehlo', 'client.remote.test',
      '--from', from, '--to', to, '--header', `Subject: ${subject}`,
    ];

    before(async () => {
      t = await engine.create();
      ctx = testContext(t.db);
      const directory = localDirectory(t.db, { subaddressSeparator: () => '+' });
      services = { ...createMailServices(t.db, directory), limits: () => ({ maxMessageBytes: 5_000_000, maxRecipients: 100, allowPlaintextAuth: false }) };
      dir = await mkdtemp(join(tmpdir(), 'tegu-swaks-'));
      const material = await ensureTlsMaterial({ dataDir: dir, hostname: 'mx.corp.test' });
      tls = { cert: material.cert, key: material.key };
      for (const u of ['alice', 'bob', 'carol']) await addAccount(ctx, { address: `${u}@corp.test`, password: PW, createDomain: true });
      for (const mode of ['mx', 'submission', 'submissions', 'lmtp'] as const) ports.set(mode, await start(mode));
    });
    after(async () => {
      for (const s of servers) await s.close();
      await t?.drop();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('plain ESMTP send to the MX: exit 0, stored with trace fields and swaks headers', T, async () => {
      const tag = `plain ${token()}`;
      const r = await swaks(base('mx', 'someone@remote.test', 'alice@corp.test', tag));
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /<- {2}250 2\.0\.0 Message accepted/);
      const m = (await stored('alice@corp.test', tag)).toString('utf8');
      assert.match(m, /^Delivered-To: alice@corp\.test\r\nReturn-Path: <someone@remote\.test>\r\nReceived: from client\.remote\.test /);
      assert.match(m, /with ESMTP id /);
      assert.match(m, /\r\nX-Mailer: swaks v/);
      assert.match(m, /\r\n\r\nThis is a test mailing\r\n/);
    });

    it('--pipeline: MAIL and RCPTs in one go (RFC 2920), one RCPT refused, the others delivered', T, async () => {
      const tag = `pipelined ${token()}`;
      const r = await swaks([...base('mx', 'p@remote.test', 'alice@corp.test,nobody@corp.test,bob@corp.test', tag), '--pipeline']);
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /<\*\* 550 5\.1\.1 No such user/);
      // swaks sends the envelope commands back to back, then reads their replies.
      assert.match(r.out, / -> MAIL FROM:<p@remote\.test>\n -> RCPT TO:<alice@corp\.test>\n -> RCPT TO:<nobody@corp\.test>\n -> RCPT TO:<bob@corp\.test>\n/);
      await stored('alice@corp.test', tag);
      await stored('bob@corp.test', tag);
    });

    for (const mech of ['PLAIN', 'LOGIN'] as const) {
      it(`submission: STARTTLS then AUTH ${mech} (RFC 3207, 4954), delivered as ESMTPSA`, T, async () => {
        const tag = `auth ${mech} ${token()}`;
        const r = await swaks([
          ...base('submission', 'alice@corp.test', 'bob@corp.test', tag),
          '--tls', '--auth', mech, '--auth-user', 'alice@corp.test', '--auth-password', PW,
        ]);
        assert.equal(r.code, 0, r.out);
        assert.match(r.out, /<- {2}220 2\.0\.0 Ready to start TLS/);
        assert.match(r.out, /<~ {2}235 2\.7\.0 Authentication succeeded/);
        const m = (await stored('bob@corp.test', tag)).toString('utf8');
        assert.match(m, /with ESMTPSA id /);
        assert.match(m, /\(using TLSv1\.[23]/, 'the Received field names the TLS version');
      });
    }

    it('submission: a wrong password is 535 (swaks exit 28); AUTH is not offered before STARTTLS', T, async () => {
      const before = await countAll();
      const wrong = await swaks([
        ...base('submission', 'alice@corp.test', 'bob@corp.test', 'never'),
        '--tls', '--auth', 'PLAIN', '--auth-user', 'alice@corp.test', '--auth-password', 'not the password',
      ]);
      assert.equal(wrong.code, 28, wrong.out);
      assert.match(wrong.out, /<~\* 535 5\.7\.8/);
      const clear = await swaks([...base('submission', 'alice@corp.test', 'bob@corp.test', 'never'), '--auth', 'PLAIN', '--auth-user', 'alice@corp.test', '--auth-password', PW]);
      assert.equal(clear.code, 28, clear.out);
      assert.doesNotMatch(clear.out, /250-AUTH/, 'no AUTH in EHLO over plain TCP');
      assert.equal(await countAll(), before);
    });

    it('submissions: implicit TLS (--tls-on-connect, RFC 8314) with AUTH LOGIN', T, async () => {
      const tag = `implicit ${token()}`;
      const r = await swaks([
        ...base('submissions', 'carol@corp.test', 'alice@corp.test', tag),
        '--tls-on-connect', '--auth', 'LOGIN', '--auth-user', 'carol@corp.test', '--auth-password', PW,
      ]);
      assert.equal(r.code, 0, r.out);
      assert.match((await stored('alice@corp.test', tag)).toString('utf8'), /with ESMTPSA id /);
    });

    it(`8-bit UTF-8 body stored byte for byte${HAS_8BITMIME ? ' (BODY=8BITMIME)' : ' (swaks has no --8bitmime: sent without BODY=, which the server accepts)'}`, T, async () => {
      const tag = `eight bit ${token()}`;
      const body = 'Grüße aus Köln – 日本語のテキスト – Ελληνικά – emoji 🦎\nsecond line ñ';
      const r = await swaks([...base('mx', 'u@remote.test', 'carol@corp.test', tag), '--body', body, ...(HAS_8BITMIME ? ['--8bitmime'] : [])]);
      assert.equal(r.code, 0, r.out);
      const m = await stored('carol@corp.test', tag);
      const expected = Buffer.from(`\r\n\r\n${body.replace(/\n/g, '\r\n')}\r\n`, 'utf8');
      assert.ok(m.includes(expected), `UTF-8 body kept exactly:\n${m.toString('utf8')}`);
    });

    it('dot-stuffing both ways: lines starting with "." arrive unstuffed (RFC 5321 4.5.2)', T, async () => {
      const tag = `dots ${token()}`;
      const bodyFile = join(dir, `dots-${token()}.txt`);
      await writeFile(bodyFile, '.one leading dot\r\n..two leading dots\r\n.\r\nafter a lone dot\r\n');
      const r = await swaks([...base('mx', 'd@remote.test', 'bob@corp.test', tag), '--body', `@${bodyFile}`]);
      assert.equal(r.code, 0, r.out);
      const m = (await stored('bob@corp.test', tag)).toString('utf8');
      assert.ok(m.includes('\r\n\r\n.one leading dot\r\n..two leading dots\r\n.\r\nafter a lone dot\r\n'), m);
    });

    it('a 1.2 MB message with 998-octet lines (past the 1 MiB spool chunk)', T, async () => {
      const tag = `large ${token()}`;
      const line = 'x'.repeat(998);
      const bodyFile = join(dir, `large-${token()}.txt`);
      await writeFile(bodyFile, `${line}\r\n`.repeat(1_200));
      const r = await swaks([...base('mx', 'l@remote.test', 'alice@corp.test', tag), '--body', `@${bodyFile}`, '--hide-send']);
      assert.equal(r.code, 0, r.out);
      const m = await stored('alice@corp.test', tag);
      assert.ok(m.length > 1_200 * 1_000, `size ${m.length}`);
      assert.equal(m.toString('latin1').split(`\r\n${line}`).length - 1, 1_200, 'every long line intact');
    });

    it(HAS_SMTPUTF8 ? 'SMTPUTF8 recipient address' : 'a UTF-8 recipient without SMTPUTF8 is refused 553 5.6.7 (RFC 6531 3.5; swaks cannot send the SMTPUTF8 parameter)', T, async () => {
      const before = await countAll();
      const r = await swaks(base('mx', 'u@remote.test', 'jürgen@corp.test', `utf8 rcpt ${token()}`));
      if (HAS_SMTPUTF8) {
        // Left for a swaks that can say SMTPUTF8: the user does not exist, so 550 and nothing stored.
        assert.notEqual(r.code, 0, r.out);
      } else {
        assert.equal(r.code, 24, r.out);
        assert.match(r.out, /<\*\* 553 5\.6\.7 /);
      }
      assert.equal(await countAll(), before);
    });

    it('LMTP (--protocol LMTP): LHLO, one reply per recipient (RFC 2033)', T, async () => {
      const tag = `lmtp ${token()}`;
      const r = await swaks([...base('lmtp', 'l@remote.test', 'alice@corp.test,bob@corp.test', tag), '--protocol', 'LMTP']);
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, / -> LHLO client\.remote\.test/);
      assert.match((await stored('alice@corp.test', tag)).toString('utf8'), /with LMTP id /);
      await stored('bob@corp.test', tag);
    });

    it('every listener still answers after the runs (no session left the server stuck)', T, async () => {
      for (const mode of ['mx', 'submission', 'lmtp'] as const) {
        const r = await swaks(['--server', '127.0.0.1', '--port', String(port(mode)), '--ehlo', 'client.remote.test', '--quit-after', 'FIRST-HELO', ...(mode === 'lmtp' ? ['--protocol', 'LMTP'] : [])]);
        assert.equal(r.code, 0, `${mode}: ${r.out}`);
      }
    });
  });
}
