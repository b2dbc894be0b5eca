// `tegu serve`, `tegu migrate` and the first run, as an operator meets them:
// real child processes, real ports, real signals, on each engine.
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openDatabase } from '../src/store/open.ts';
import { LATEST_SCHEMA_VERSION } from '../src/store/migrations/index.ts';
import { freePort, oneErrorLine, runTegu, startTegu, targetFactories, type CliResult, type Server, type Target } from './helpers/cli.ts';

const T = { timeout: 300_000 };
/** The last banner line: the server is up. */
const BANNER_END = /tegu user add you@example\.com.*\n/;

function json<V = unknown>(r: CliResult): V {
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as V;
}

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text() };
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Waits for the exit after a signal; fails when it takes longer than `ms`. */
async function exitWithin(s: Server, ms: number): Promise<number | null> {
  const timer = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no exit within ${ms} ms:\n${s.stderr()}`)), ms).unref());
  return (await Promise.race([s.exited, timer])).code;
}

for (const factory of targetFactories()) {
  const embedded = factory.engine === 'embedded';

  describe(`tegu migrate and first run (${factory.engine})`, () => {
    let t: Target;
    before(async () => {
      t = await factory.make({ fresh: true });
    });
    after(async () => {
      await t?.cleanup();
    });

    if (!embedded) {
      test('an admin command refuses an outdated schema and names the fix', T, async () => {
        const r = await runTegu(['user', 'list', ...t.args]);
        assert.equal(r.code, 1);
        assert.equal(oneErrorLine(r.stderr), `tegu: database schema is at version 0, this tegu needs ${LATEST_SCHEMA_VERSION}: run \`tegu migrate\``);
      });
    }

    test('migrate applies every migration, a second run applies nothing', T, async () => {
      const first = json<{ from: number; to: number; applied: unknown[] }>(await runTegu(['migrate', '--json', ...t.args]));
      assert.deepEqual([first.from, first.to, first.applied.length], [0, LATEST_SCHEMA_VERSION, LATEST_SCHEMA_VERSION]);
      const second = await runTegu(['migrate', ...t.args]);
      assert.equal(second.code, 0, second.stderr);
      assert.match(second.stdout, /up to date .*nothing to apply/);
    });

    test('a schema newer than this tegu is refused with exit 1', T, async () => {
      const url = t.args[t.args.indexOf('--database') + 1];
      const db = await openDatabase({ databaseUrl: embedded ? undefined : url, dataDir: t.dataDir });
      try {
        await db.query(`INSERT INTO schema_migrations(version, name) VALUES (9999, 'from the future')`);
      } finally {
        await db.close();
      }
      const r = await runTegu(['domain', 'list', ...t.args]);
      assert.equal(r.code, 1);
      assert.match(oneErrorLine(r.stderr), /schema version 9999 is newer than this tegu knows/);
    });
  });

  describe(`tegu serve (${factory.engine})`, () => {
    let t: Target;
    const running: Server[] = [];
    const serve = (port: number, node: string): Server => {
      const s = startTegu(['serve', ...t.args, '--listen-http', `127.0.0.1:${port}`, '--node-name', node]);
      running.push(s);
      return s;
    };
    before(async () => {
      t = await factory.make({ fresh: true });
    });
    after(async () => {
      for (const s of running) if (s.child.exitCode === null) s.child.kill('SIGKILL');
      await Promise.all(running.map((s) => s.exited));
      await t?.cleanup();
    });

    if (embedded) {
      test('first run: user add on an empty data directory works without tegu migrate', T, async () => {
        const r = await runTegu(['user', 'add', 'first@example.test', ...t.args], { input: 'first password\n' });
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /added user first@example\.test/);
      });
    } else {
      test('setup: migrate and add a user', T, async () => {
        assert.equal((await runTegu(['migrate', ...t.args])).code, 0);
        assert.equal((await runTegu(['user', 'add', 'first@example.test', ...t.args], { input: 'first password\n' })).code, 0);
      });
    }

    test('serve: banner, health and readiness, a second serve, clean stop on SIGINT', T, async () => {
      const port = await freePort();
      const a = serve(port, 'node-a');
      await a.waitFor(BANNER_END);
      const banner = a.stdout();
      assert.ok(banner.includes(`listening: http 127.0.0.1:${port} (/healthz, /readyz)`), banner);
      if (embedded) {
        assert.match(banner, /database: embedded \(PGlite\) in /);
        assert.match(banner, /evaluation and small single-node installs/);
        assert.match(banner, /does not fsync/);
        assert.ok(banner.includes(t.dataDir), 'banner names the data directory');
        assert.ok(banner.includes(`tegu user add you@example.com --data ${t.dataDir}`), 'hint carries --data');
      } else {
        assert.match(banner, /database: PostgreSQL postgres:\/\//);
      }
      assert.deepEqual(await get(port, '/healthz'), { status: 200, body: 'ok\n' });
      assert.deepEqual(await get(port, '/readyz'), { status: 200, body: 'ready\n' });

      const port2 = await freePort();
      if (embedded) {
        const b = await runTegu(['serve', ...t.args, '--listen-http', `127.0.0.1:${port2}`]);
        assert.equal(b.code, 1);
        assert.match(oneErrorLine(b.stderr), /^tegu: data directory .* is in use by another tegu process \(\d+@/);
        // Admin commands still work while the node runs: through its control socket.
        const add = await runTegu(['user', 'add', 'second@example.test', ...t.args], { input: 'second password\n' });
        assert.equal(add.code, 0, add.stderr);
        const users = json<{ address: string; createdAt: string }[]>(await runTegu(['user', 'list', '--json', ...t.args]));
        assert.deepEqual(users.map((u) => u.address), ['first@example.test', 'second@example.test']);
        assert.ok(!Number.isNaN(Date.parse(users[0]!.createdAt)), 'dates survive the socket');
        const dup = await runTegu(['user', 'add', 'second@example.test', ...t.args], { input: 'second password\n' });
        assert.equal(dup.code, 1);
        assert.match(oneErrorLine(dup.stderr), /already exists/);
      } else {
        // PostgreSQL: a second node joins the cluster; both are listed.
        const b = serve(port2, 'node-b');
        await b.waitFor(BANNER_END);
        const status = json<{ nodes: { name: string; alive: boolean }[] }>(await runTegu(['status', '--json', ...t.args]));
        assert.deepEqual(status.nodes.map((n) => [n.name, n.alive]), [['node-a', true], ['node-b', true]]);
        const users = json<{ address: string }[]>(await runTegu(['user', 'list', '--json', ...t.args]));
        assert.deepEqual(users.map((u) => u.address), ['first@example.test']);
        b.child.kill('SIGTERM');
        assert.equal(await exitWithin(b, 20_000), 0);
      }

      const stoppedAt = Date.now();
      a.child.kill('SIGINT');
      assert.equal(await exitWithin(a, 20_000), 0);
      assert.ok(Date.now() - stoppedAt < 20_000);
      // stdout stays human; the structured log goes to stderr, one JSON object a line.
      const logs = a.stderr().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { msg: string });
      assert.ok(logs.some((l) => l.msg === 'stopping') && logs.some((l) => l.msg === 'stopped'), a.stderr());
      if (embedded) {
        assert.equal(await exists(join(t.dataDir, 'tegu.lock')), false, 'lock released');
        assert.equal(await exists(join(t.dataDir, 'tegu.sock')), false, 'control socket removed');
      } else {
        const status = json<{ nodes: unknown[] }>(await runTegu(['status', '--json', ...t.args]));
        assert.deepEqual(status.nodes, [], 'stopped nodes deregister');
      }
    });

    if (embedded) {
      test('serve again on the same directory reuses the data; a second signal forces exit 1', T, async () => {
        const port = await freePort();
        const s = serve(port, 'node-a');
        await s.waitFor(BANNER_END);
        assert.match(s.stdout(), /^schema: version \d+$/m, 'nothing left to migrate');
        assert.match(s.stdout(), /^tls: certificate .*cert\.pem$/m, 'the generated certificate is reused');
        s.child.kill('SIGINT');
        s.child.kill('SIGTERM');
        assert.equal(await exitWithin(s, 20_000), 1);
        // The forced exit left a stale lock; the next command takes it over.
        const users = json<{ address: string }[]>(await runTegu(['user', 'list', '--json', ...t.args]));
        assert.deepEqual(users.map((u) => u.address), ['first@example.test', 'second@example.test']);
      });
    }
  });
}
