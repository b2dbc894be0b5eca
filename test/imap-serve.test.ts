// `tegu serve --listen-imap/--listen-imaps`: the IMAP listeners wired into the
// composition root, with the settings and the generated certificate, as an
// operator starts them; imapflow logs in on both and gets BYE at shutdown.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ImapFlow } from 'imapflow';
import { freePort, runTegu, startTegu, targetFactories, type Server, type Target } from './helpers/cli.ts';

const T = { timeout: 300_000 };
const BANNER_END = /tegu user add you@example\.com.*\n/;
const USER = 'imap-serve@example.test';
const PW = 'serve test password';

for (const factory of targetFactories()) {
  describe(`tegu serve with IMAP listeners (${factory.engine})`, () => {
    let t: Target;
    let server: Server | undefined;
    before(async () => {
      t = await factory.make();
      const r = await runTegu(['user', 'add', USER, ...t.args], { input: `${PW}\n` });
      assert.equal(r.code, 0, r.stderr);
    });
    after(async () => {
      if (server && server.child.exitCode === null) server.child.kill('SIGKILL');
      await server?.exited;
      await t?.cleanup();
    });

    test('imap (STARTTLS) and imaps listeners: banner, login, LIST; BYE and a clean stop on SIGTERM', T, async () => {
      const [http, imap, imaps] = [await freePort(), await freePort(), await freePort()];
      server = startTegu(['serve', ...t.args, '--listen-http', `127.0.0.1:${http}`, '--listen-imap', `127.0.0.1:${imap}`, '--listen-imaps', `127.0.0.1:${imaps}`, '--log-level', 'warn']);
      await server.waitFor(BANNER_END);
      const banner = server.stdout();
      assert.ok(banner.includes(`imap 127.0.0.1:${imap} (STARTTLS)`), banner);
      assert.ok(banner.includes(`imaps 127.0.0.1:${imaps} (implicit TLS)`), banner);
      assert.doesNotMatch(server.stderr(), /not implemented yet; listener not started/);

      const starttls = new ImapFlow({
        host: '127.0.0.1', port: imap, secure: false, doSTARTTLS: true, tls: { rejectUnauthorized: false },
        auth: { user: USER, pass: PW }, logger: false, disableAutoIdle: true,
      });
      await starttls.connect();
      assert.ok((await starttls.list()).some((b) => b.path === 'Sent' && b.specialUse === '\\Sent'));
      await starttls.logout();

      const implicit = new ImapFlow({
        host: '127.0.0.1', port: imaps, secure: true, tls: { rejectUnauthorized: false }, auth: { user: USER, pass: PW }, logger: false, disableAutoIdle: true,
      });
      await implicit.connect();
      const closed = new Promise<void>((resolve) => implicit.once('close', () => resolve()));
      const st = await implicit.status('INBOX', { messages: true, uidNext: true });
      assert.ok(st && st.messages === 0 && st.uidNext === 1);
      server.child.kill('SIGTERM');
      await closed; // the server said BYE and closed the session
      assert.equal((await server.exited).code, 0, server.stderr());
    });
  });
}
