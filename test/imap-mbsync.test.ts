// Interoperability: Debian's mbsync (package isync, https://isync.sourceforge.io/)
// synchronizing a local Maildir with `tegu serve --listen-imap`, on each engine.
//
// mbsync logs in with STARTTLS, trusting the server's generated self-signed
// certificate through CertificateFile (a "host" certificate: matched against
// the server's certificate itself). One channel, every folder (Patterns *),
// Create/Remove/Expunge Both, sync state kept in the folders (SyncState *).
//
// 1. A folder tree on the server (INBOX, Work, Work/Projects, Archive/2025)
//    with \Seen \Flagged \Answered \Deleted messages; the first sync pulls it.
// 2. Changes on both sides (local: new message, flag change, deletion; server:
//    new message, flag change, expunge); after a sync both sides agree exactly.
// 3. \Deleted both ways: the Maildir letter T, carried by a run with Expunge
//    None (a second mbsyncrc, otherwise the same), then expunged by the next.
// 4. A RENAME on the server; mbsync sees a new folder and a vanished one
//    (what it does then with Remove Both is written down at the test).
//
// After every sync the two sides are compared folder by folder: the same
// Message-IDs, each once, with the same flags. Skipped when mbsync is missing
// (CI: apt-get install -y isync; or set TEGU_MBSYNC). TEGU_MBSYNC_DEBUG=1 adds
// -D (the IMAP conversation) to the captured output.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ImapFlow } from 'imapflow';
import { freePort, startTegu, type Server, type Target } from './helpers/cli.ts';
import { preparedTargets } from './helpers/serve-target.ts';
import { imapFlagsOf, type MaildirMessage, maildirDeliver, maildirFolders, maildirMessages, maildirSetFlags } from './helpers/maildir.ts';

const MBSYNC = process.env.TEGU_MBSYNC ?? '/usr/bin/mbsync';
const HAVE_MBSYNC = existsSync(MBSYNC);
const NO_MBSYNC = `mbsync not found at ${MBSYNC} (CI: apt-get install -y isync; or set TEGU_MBSYNC)`;
const VERSION = HAVE_MBSYNC ? (/isync (\S+)/.exec(execFileSync(MBSYNC, ['--version'], { encoding: 'utf8' }))?.[1] ?? '?') : '';
const DEBUG = process.env.TEGU_MBSYNC_DEBUG === '1';
const T = { timeout: 120_000 };
const BANNER_END = /tegu user add you@example\.com.*\n/;
const USER = 'mbsync@example.test';
const PW = 'mbsync test "password"';
/** One mbsync run may take this long. */
const SYNC_TIMEOUT_MS = 30_000;

interface SyncResult {
  code: number | null;
  output: string;
  ms: number;
}

function msg(id: string, subject: string): string {
  return [
    'From: Someone <someone@example.test>',
    `To: <${USER}>`,
    `Subject: ${subject}`,
    `Message-ID: <${id}@mbsync.test>`,
    'Date: Sat, 28 Nov 2026 10:00:00 +0000',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    `This is ${id}.`,
    '',
  ].join('\r\n');
}

/** folder -> sorted "message-id flags" lines, one per message (duplicates show as repeated lines). */
type State = Record<string, string[]>;

function line(messageId: string, flags: string[]): string {
  return `${messageId} ${flags.filter((f) => f !== '\\Recent').sort().join(' ')}`.trim();
}

async function localState(root: string): Promise<State> {
  const out: State = {};
  for (const folder of await maildirFolders(root)) {
    out[folder] = (await maildirMessages(root, folder)).map((m) => line(m.messageId, imapFlagsOf(m.flags))).sort();
  }
  return out;
}

async function serverState(client: ImapFlow): Promise<State> {
  const out: State = {};
  for (const box of await client.list()) {
    if (box.flags.has('\\Noselect') || box.flags.has('\\NonExistent')) continue;
    const lines: string[] = [];
    const lock = await client.getMailboxLock(box.path);
    try {
      if (client.mailbox && client.mailbox.exists > 0) {
        for await (const m of client.fetch('1:*', { envelope: true, flags: true })) lines.push(line(m.envelope?.messageId ?? '', [...(m.flags ?? [])]));
      }
    } finally {
      lock.release();
    }
    out[box.path] = lines.sort();
  }
  return out;
}

// The engines' suites run side by side (each has its own server and Maildir);
// the steps within one run in order.
describe(`mbsync interop (isync ${VERSION || 'missing'})`, { skip: HAVE_MBSYNC ? false : NO_MBSYNC, concurrency: true }, () => {
  for (const factory of preparedTargets()) {
    describe(`mbsync against tegu serve (${factory.engine})`, { concurrency: 1 }, () => {
      let t: Target;
      let server: Server | undefined;
      let dir: string;
      let port: number;
      let client: ImapFlow;
      const runs: SyncResult[] = [];

      const mailRoot = (): string => join(dir, 'mail');

      /** Runs mbsync on every channel of `rc` (mbsyncrc: the test's channel; -keep: the same with Expunge None; -wrong: a wrong password). */
      async function mbsync(rc = 'mbsyncrc'): Promise<SyncResult> {
        const started = Date.now();
        const args = ['-c', join(dir, rc), '-V', ...(DEBUG ? ['-D'] : []), '-a'];
        const child = spawn(MBSYNC, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOME: dir } });
        let output = '';
        child.stdout.setEncoding('utf8').on('data', (s: string) => (output += s));
        child.stderr.setEncoding('utf8').on('data', (s: string) => (output += s));
        const timer = setTimeout(() => child.kill('SIGKILL'), SYNC_TIMEOUT_MS);
        const code = await new Promise<number | null>((resolve, reject) => {
          child.on('error', reject);
          child.on('close', (c) => resolve(c));
        });
        clearTimeout(timer);
        const r = { code, output, ms: Date.now() - started };
        runs.push(r);
        if (DEBUG) console.log(`mbsync ${args.join(' ')}: exit ${code}, ${r.ms} ms\n${output}`);
        return r;
      }

      /** Runs mbsync and requires exit 0 and no error or warning in its output. */
      async function sync(what: string, rc?: string): Promise<SyncResult> {
        const r = await mbsync(rc);
        assert.equal(r.code, 0, `mbsync (${what}) exit ${r.code} after ${r.ms} ms:\n${r.output}`);
        assert.doesNotMatch(r.output, /^(Error|Warning|IMAP error)/im, `mbsync (${what}):\n${r.output}`);
        return r;
      }

      /** The last run's output, for assertion messages. */
      const lastOutput = (): string => `\nlast mbsync run (exit ${runs.at(-1)?.code}):\n${runs.at(-1)?.output ?? '(none)'}`;

      async function bothSides(): Promise<{ server: State; local: State }> {
        return { server: await serverState(client), local: await localState(mailRoot()) };
      }

      before(async () => {
        t = await factory.make({ users: [{ address: USER, password: PW }] });
        const http = await freePort();
        port = await freePort();
        server = startTegu(['serve', ...t.args, '--listen-http', `127.0.0.1:${http}`, '--listen-imap', `127.0.0.1:${port}`, '--log-level', 'warn']);
        await server.waitFor(BANNER_END);
        dir = await mkdtemp(join(tmpdir(), 'tegu-mbsync-'));
        await mkdir(mailRoot());
        const conf = [
          'IMAPAccount tegu',
          'Host 127.0.0.1',
          `Port ${port}`,
          `User ${USER}`,
          `Pass "${PW.replace(/["\\]/g, (c) => `\\${c}`)}"`,
          'SSLType STARTTLS',
          `CertificateFile ${join(t.dataDir, 'tls', 'cert.pem')}`,
          'Timeout 20',
          '',
          'IMAPStore remote',
          'Account tegu',
          '',
          'MaildirStore local',
          `Path ${mailRoot()}/`,
          `Inbox ${mailRoot()}/INBOX`,
          'SubFolders Verbatim',
          '',
          'Channel tegu',
          'Far :remote:',
          'Near :local:',
          'Patterns *',
          'Create Both',
          'Remove Both',
          'Expunge Both',
          'SyncState *',
          '',
        ].join('\n');
        await writeFile(join(dir, 'mbsyncrc'), conf);
        await writeFile(join(dir, 'mbsyncrc-keep'), conf.replace('Expunge Both', 'Expunge None'));
        await writeFile(join(dir, 'mbsyncrc-wrong'), conf.replace(/^Pass .*$/m, 'Pass "not the password"'));
        client = new ImapFlow({
          host: '127.0.0.1', port, secure: false, doSTARTTLS: true, tls: { rejectUnauthorized: false },
          auth: { user: USER, pass: PW }, logger: false, disableAutoIdle: true,
        });
        await client.connect();
      });

      after(async () => {
        await client?.logout().catch(() => undefined);
        if (server && server.child.exitCode === null) server.child.kill('SIGKILL');
        await server?.exited;
        await t?.cleanup();
        if (dir) await rm(dir, { recursive: true, force: true });
      });

      test('a wrong password: mbsync fails (exit 1) on the server\'s NO [AUTHENTICATIONFAILED] and writes nothing', T, async () => {
        const r = await mbsync('mbsyncrc-wrong');
        assert.equal(r.code, 1, r.output);
        assert.match(r.output, /AUTHENTICATIONFAILED/, r.output);
        assert.deepEqual(await maildirFolders(mailRoot()), [], r.output);
      });

      test('first sync pulls the folder tree, messages and flags into the Maildir', T, async () => {
        for (const name of ['Work', 'Work/Projects', 'Archive/2025']) await client.mailboxCreate(name);
        const put: [string, string, string[]][] = [
          ['INBOX', 'in-seen', ['\\Seen']],
          ['INBOX', 'in-flagged', ['\\Flagged', '\\Seen']],
          ['INBOX', 'in-new', []],
          ['INBOX', 'in-answered', ['\\Answered', '\\Seen']],
          ['INBOX', 'in-deleted', ['\\Deleted', '\\Seen']],
          ['Work', 'work-1', ['\\Seen']],
          ['Work', 'work-2', ['\\Flagged']],
          ['Work/Projects', 'proj-1', ['\\Answered']],
          ['Work/Projects', 'proj-2', ['\\Seen', '\\Flagged']],
          ['Archive/2025', 'arch-1', ['\\Seen']],
          ['Archive/2025', 'arch-2', ['\\Seen', '\\Answered']],
        ];
        for (const [box, id, flags] of put) await client.append(box, msg(id, id), flags);

        await sync('first');
        // Every folder became a maildir (SubFolders Verbatim: Work/Projects is a
        // directory inside Work), with the default mailboxes TEGU creates.
        assert.deepEqual(await maildirFolders(mailRoot()), ['Archive', 'Archive/2025', 'Drafts', 'INBOX', 'Junk', 'Sent', 'Trash', 'Work', 'Work/Projects']);
        // Flags as Maildir info letters (S seen, F flagged, R replied = \Answered).
        const letters = async (folder: string): Promise<Record<string, string>> =>
          Object.fromEntries((await maildirMessages(mailRoot(), folder)).map((m) => [m.messageId, m.flags]));
        assert.deepEqual(await letters('INBOX'), {
          '<in-seen@mbsync.test>': 'S',
          '<in-flagged@mbsync.test>': 'FS',
          '<in-new@mbsync.test>': '',
          '<in-answered@mbsync.test>': 'RS',
        });
        assert.deepEqual(await letters('Work/Projects'), { '<proj-1@mbsync.test>': 'R', '<proj-2@mbsync.test>': 'FS' });
        // Synced files carry the far side's UID (",U=n", SyncState * without AltMap).
        for (const m of await maildirMessages(mailRoot(), 'INBOX')) assert.match(m.file, /,U=\d+:2,[A-Z]*$/, m.file);
        // The \Deleted message: mbsync does not copy a new message that is flagged
        // \Deleted when it expunges ("ignoring - would be expunged anyway" in its
        // -D output), and Expunge Both expunged it on the server (by CLOSE). It is
        // on neither side; the letter T is checked by the third test.
        const s = await bothSides();
        assert.deepEqual(s.local, s.server, `the Maildir and the server agree${lastOutput()}`);
        assert.deepEqual(s.server, {
          Archive: [],
          'Archive/2025': ['<arch-1@mbsync.test> \\Seen', '<arch-2@mbsync.test> \\Answered \\Seen'],
          Drafts: [],
          INBOX: ['<in-answered@mbsync.test> \\Answered \\Seen', '<in-flagged@mbsync.test> \\Flagged \\Seen', '<in-new@mbsync.test>', '<in-seen@mbsync.test> \\Seen'],
          Junk: [],
          Sent: [],
          Trash: [],
          Work: ['<work-1@mbsync.test> \\Seen', '<work-2@mbsync.test> \\Flagged'],
          'Work/Projects': ['<proj-1@mbsync.test> \\Answered', '<proj-2@mbsync.test> \\Flagged \\Seen'],
        });
        // A second sync right away changes nothing.
        await sync('no-op');
        assert.deepEqual(await bothSides(), s, `a second sync changes nothing${lastOutput()}`);
      });

      test('changes on both sides: after a sync both sides agree exactly', T, async () => {
        const find = async (folder: string, id: string): Promise<MaildirMessage> => {
          const m = (await maildirMessages(mailRoot(), folder)).find((x) => x.messageId === `<${id}@mbsync.test>`);
          assert.ok(m, `${id} in the Maildir ${folder}`);
          return m;
        };
        // Local: a new message, a flag change, a deleted file, a message marked trashed (T).
        await maildirDeliver(mailRoot(), 'INBOX', msg('local-new', 'written locally'));
        await maildirSetFlags(await find('INBOX', 'in-new'), 'FS');
        await unlink((await find('Work', 'work-1')).path);
        await maildirSetFlags(await find('Work/Projects', 'proj-1'), 'RT');
        // Server: a new message, a flag change, an expunge (by another IMAP client).
        await client.append('Work/Projects', msg('server-new', 'appended on the server'), ['\\Flagged']);
        let lock = await client.getMailboxLock('INBOX');
        try {
          const m = (await client.fetchAll('1:*', { envelope: true, uid: true })).find((x) => x.envelope?.messageId === '<in-answered@mbsync.test>');
          assert.ok(m);
          assert.ok(await client.messageFlagsRemove(String(m.uid), ['\\Seen'], { uid: true }));
        } finally {
          lock.release();
        }
        lock = await client.getMailboxLock('Archive/2025');
        try {
          const m = (await client.fetchAll('1:*', { envelope: true, uid: true })).find((x) => x.envelope?.messageId === '<arch-1@mbsync.test>');
          assert.ok(m);
          assert.ok(await client.messageDelete(String(m.uid), { uid: true }));
        } finally {
          lock.release();
        }

        await sync('both sides changed');
        const s = await bothSides();
        assert.deepEqual(s.local, s.server, `the Maildir and the server agree${lastOutput()}`);
        assert.deepEqual(s.server, {
          Archive: [],
          'Archive/2025': ['<arch-2@mbsync.test> \\Answered \\Seen'],
          Drafts: [],
          INBOX: ['<in-answered@mbsync.test> \\Answered', '<in-flagged@mbsync.test> \\Flagged \\Seen', '<in-new@mbsync.test> \\Flagged \\Seen', '<in-seen@mbsync.test> \\Seen', '<local-new@mbsync.test>'],
          Junk: [],
          Sent: [],
          Trash: [],
          Work: ['<work-2@mbsync.test> \\Flagged'],
          'Work/Projects': ['<proj-2@mbsync.test> \\Flagged \\Seen', '<server-new@mbsync.test> \\Flagged'],
        });
        // The uploaded message is byte for byte what was written locally.
        lock = await client.getMailboxLock('INBOX');
        try {
          const m = (await client.fetchAll('1:*', { envelope: true, uid: true })).find((x) => x.envelope?.messageId === '<local-new@mbsync.test>');
          assert.ok(m);
          const full = await client.fetchOne(String(m.uid), { source: true }, { uid: true });
          assert.ok(full && full.source);
          // mbsync adds an X-TUID header to what it uploads (to find the copy
          // again if the run is interrupted before it learns the UID); the rest
          // is byte for byte what was written locally.
          const text = full.source.toString('latin1');
          assert.match(text, /^X-TUID: \S+\r\n/m);
          assert.equal(text.replace(/^X-TUID: \S+\r\n/m, ''), msg('local-new', 'written locally'));
        } finally {
          lock.release();
        }
        await sync('no-op');
        assert.deepEqual(await bothSides(), s, `a second sync changes nothing${lastOutput()}`);
      });

      test('\\Deleted is the Maildir letter T both ways (Expunge None), and Expunge Both then removes it on both sides', T, async () => {
        // A message from each side into Archive (empty so far), synced.
        await client.append('Archive', msg('t-far', 'deleted on the server'), ['\\Seen']);
        await maildirDeliver(mailRoot(), 'Archive', msg('t-near', 'deleted locally'));
        await sync('two new messages');
        let s = await bothSides();
        assert.deepEqual(s.server.Archive, ['<t-far@mbsync.test> \\Seen', '<t-near@mbsync.test>'], lastOutput());
        assert.deepEqual(s.local, s.server, `the Maildir and the server agree${lastOutput()}`);

        // Marked deleted on each side; a run that does not expunge carries the flag across.
        const lock = await client.getMailboxLock('Archive');
        try {
          const m = (await client.fetchAll('1:*', { envelope: true, uid: true })).find((x) => x.envelope?.messageId === '<t-far@mbsync.test>');
          assert.ok(m);
          assert.ok(await client.messageFlagsAdd(String(m.uid), ['\\Deleted'], { uid: true }));
        } finally {
          lock.release();
        }
        const near = (await maildirMessages(mailRoot(), 'Archive')).find((m) => m.messageId === '<t-near@mbsync.test>');
        assert.ok(near);
        await maildirSetFlags(near, 'T');
        await sync('Expunge None', 'mbsyncrc-keep');
        const letters = Object.fromEntries((await maildirMessages(mailRoot(), 'Archive')).map((m) => [m.messageId, m.flags]));
        assert.deepEqual(letters, { '<t-far@mbsync.test>': 'ST', '<t-near@mbsync.test>': 'T' }, lastOutput());
        s = await bothSides();
        assert.deepEqual(s.server.Archive, ['<t-far@mbsync.test> \\Deleted \\Seen', '<t-near@mbsync.test> \\Deleted'], lastOutput());
        assert.deepEqual(s.local, s.server, `the Maildir and the server agree${lastOutput()}`);

        // The test's channel (Expunge Both): both are expunged on the server and removed from the Maildir.
        await sync('Expunge Both');
        s = await bothSides();
        assert.deepEqual(s.server.Archive, [], lastOutput());
        assert.deepEqual(s.local, s.server, `the Maildir and the server agree${lastOutput()}`);
      });

      test('RENAME on the server: a new folder and a vanished one; nothing lost or duplicated', T, async () => {
        await client.mailboxRename('Work/Projects', 'Clients');
        const r = await mbsync();
        // What mbsync 1.4 does with Remove Both and a folder renamed on the far
        // side: the new name is a new far folder (Create Both: made locally,
        // its messages pulled). The old name has sync state but no far folder:
        // a far-side deletion. Propagating it would delete the local folder,
        // but non-empty mailboxes are never deleted: mbsync warns, skips that
        // pair and still exits 0. Nothing is recreated on the server and
        // nothing is lost; the local side keeps a stale copy of the folder.
        assert.equal(r.code, 0, r.output);
        assert.match(r.output, /Creating near side box Clients\.\.\./);
        assert.match(r.output, /Warning: channel tegu: far side box Work\/Projects cannot be opened and near side box Work\/Projects is not empty\./);
        assert.doesNotMatch(r.output, /Creating far side box/);
        const projects = ['<proj-2@mbsync.test> \\Flagged \\Seen', '<server-new@mbsync.test> \\Flagged'];
        const rest = {
          Archive: [],
          'Archive/2025': ['<arch-2@mbsync.test> \\Answered \\Seen'],
          Drafts: [],
          INBOX: ['<in-answered@mbsync.test> \\Answered', '<in-flagged@mbsync.test> \\Flagged \\Seen', '<in-new@mbsync.test> \\Flagged \\Seen', '<in-seen@mbsync.test> \\Seen', '<local-new@mbsync.test>'],
          Junk: [],
          Sent: [],
          Trash: [],
          Work: ['<work-2@mbsync.test> \\Flagged'],
        };
        let s = await bothSides();
        assert.deepEqual(s.server, { ...rest, Clients: projects }, `the server: the renamed folder once, the old name gone and not recreated${lastOutput()}`);
        assert.deepEqual(s.local, { ...rest, Clients: projects, 'Work/Projects': projects }, `the Maildir: the new folder, and the old one left as it was${lastOutput()}`);

        // The user drops the stale local copy (its messages are in Clients): the
        // folder is now empty, so the next sync propagates the far deletion and
        // removes it. Both sides then agree exactly.
        for (const m of await maildirMessages(mailRoot(), 'Work/Projects')) await unlink(m.path);
        const r2 = await sync('after the stale folder was emptied');
        assert.match(r2.output, /Deleting near side box Work\/Projects\.\.\./);
        assert.doesNotMatch(r2.output, /Creating far side box/);
        s = await bothSides();
        assert.deepEqual(s.local, s.server, `the Maildir and the server agree${lastOutput()}`);
        assert.deepEqual(s.server, { ...rest, Clients: projects });
        assert.equal(existsSync(join(mailRoot(), 'Work', 'Projects', 'cur')), false, 'the stale maildir is gone');
        await sync('no-op');
        assert.deepEqual(await bothSides(), s, `a second sync changes nothing${lastOutput()}`);
      });
    });
  }
});
