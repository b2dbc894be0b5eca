// The product ships as one executable file (Node single executable application).
// This builds it and runs it in an empty directory with no node_modules: the
// embedded database, its worker and PGlite's files must all come from inside it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

const root = new URL('..', import.meta.url).pathname;
const T = { timeout: 180_000 };

describe('single-file build', () => {
  let out: string;
  let bare: string;
  before(async () => {
    out = await mkdtemp(join(tmpdir(), 'tegu-build-'));
    bare = await mkdtemp(join(tmpdir(), 'tegu-bare-'));
  });
  after(async () => {
    await rm(out, { recursive: true, force: true });
    await rm(bare, { recursive: true, force: true });
  });

  test('npm run build produces dist/tegu, which runs alone in an empty directory', T, async () => {
    const build = spawnSync(process.execPath, ['scripts/build.mjs', '--out', out], { cwd: root, encoding: 'utf8' });
    assert.equal(build.status, 0, build.stderr);
    await copyFile(join(out, 'tegu'), join(bare, 'tegu'));
    const run = (args: string[], input?: string): { status: number | null; stdout: string; stderr: string } =>
      spawnSync(join(bare, 'tegu'), args, { cwd: bare, encoding: 'utf8', input, env: { PATH: '/usr/bin:/bin' }, timeout: 60_000 });

    const help = run(['--help']);
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /Usage: tegu/);

    const add = run(['user', 'add', 'one@example.test'], 'a fine password\n');
    assert.equal(add.status, 0, add.stderr);
    const list = run(['user', 'list', '--json']);
    assert.equal(list.status, 0, list.stderr);
    assert.deepEqual((JSON.parse(list.stdout) as { address: string }[]).map((u) => u.address), ['one@example.test']);
    assert.deepEqual((await readdir(bare)).sort(), ['tegu', 'tegu-data'], 'nothing but the data directory appears');
  });
});
