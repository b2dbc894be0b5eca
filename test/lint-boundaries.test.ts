// The layer rules of eslint.config.js (docs/architecture.md): each case lints a
// snippet as if it were a file at the given path (the file need not exist) and
// asserts on the rule that must (or must not) fire.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint, type Linter } from 'eslint';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const eslint = new ESLint({ cwd: ROOT, overrideConfigFile: join(ROOT, 'eslint.config.js') });

async function lint(path: string, code: string): Promise<Linter.LintMessage[]> {
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, path) });
  assert.ok(result, `no result for ${path}`);
  const fatal = result.messages.filter((m) => m.fatal || m.ruleId === null);
  assert.deepEqual(fatal, [], `${path} did not lint cleanly (parse error or ignored file)`);
  return result.messages;
}

const ids = (messages: Linter.LintMessage[]) => messages.map((m) => m.ruleId);

async function assertReported(path: string, code: string, ruleId: string): Promise<Linter.LintMessage> {
  const messages = await lint(path, code);
  const hit = messages.find((m) => m.ruleId === ruleId);
  assert.ok(hit, `${path}: expected ${ruleId}, got ${JSON.stringify(ids(messages))}\n${code}`);
  return hit;
}

async function assertClean(path: string, code: string): Promise<void> {
  const messages = await lint(path, code);
  assert.deepEqual(
    messages.map((m) => `${m.ruleId}: ${m.message}`),
    [],
    `${path}: expected no problems\n${code}`,
  );
}

const importOf = (spec: string) => `import { x } from '${spec}';\nexport const y = x;\n`;

describe('layer boundaries (no-restricted-imports)', () => {
  test('core may not import a protocol', async () => {
    const m = await assertReported('src/core/x.ts', importOf('../protocols/imap/session.ts'), 'no-restricted-imports');
    assert.match(m.message, /src\/core must not import src\/protocols/);
  });

  test('core and directory may not import web, queue, cli', async () => {
    for (const target of ['web/api.ts', 'queue/worker.ts', 'cli/main.ts']) {
      await assertReported('src/core/x.ts', importOf(`../${target}`), 'no-restricted-imports');
      await assertReported('src/directory/ldap/x.ts', importOf(`../../${target}`), 'no-restricted-imports');
    }
  });

  test('core may import store and the pure libraries', async () => {
    await assertClean('src/core/x.ts', importOf('../store/db.ts'));
    await assertClean('src/core/deliver/x.ts', importOf('../../store/db.ts'));
    await assertClean('src/core/x.ts', importOf('../lib/ids.ts'));
    await assertClean('src/core/x.ts', importOf('../directory/index.ts'));
    await assertClean('src/core/x.ts', importOf('./mailboxes.ts'));
    await assertClean('src/core/x.ts', importOf('node:crypto'));
  });

  test('type-only imports, re-exports and dynamic imports are checked too', async () => {
    await assertReported(
      'src/core/x.ts',
      "import type { Session } from '../protocols/imap/session.ts';\nexport type S = Session;\n",
      'no-restricted-imports',
    );
    await assertReported('src/core/x.ts', "export { x } from '../protocols/imap/session.ts';\n", 'no-restricted-imports');
    await assertReported(
      'src/core/x.ts',
      "export const load = () => import('../protocols/imap/session.ts');\n",
      'no-restricted-syntax',
    );
  });

  test('store may not import anything above it', async () => {
    for (const target of ['core', 'directory', 'protocols/imap', 'web', 'queue', 'cli']) {
      await assertReported('src/store/x.ts', importOf(`../${target}/a.ts`), 'no-restricted-imports');
    }
    await assertClean('src/store/x.ts', importOf('../lib/errors.ts'));
    await assertClean('src/store/migrations/x.ts', importOf('../db.ts'));
  });

  test('a protocol may not import another protocol', async () => {
    const m = await assertReported('src/protocols/imap/a.ts', importOf('../smtp/b.ts'), 'no-restricted-imports');
    assert.match(m.message, /src\/protocols\/imap must not import src\/protocols\/smtp/);
    await assertReported('src/protocols/imap/commands/fetch.ts', importOf('../../smtp/b.ts'), 'no-restricted-imports');
    await assertReported(
      'src/protocols/imap/commands/fetch.ts',
      importOf('../../../protocols/pop3/b.ts'),
      'no-restricted-imports',
    );
    await assertReported('src/protocols/lmtp/a.ts', importOf('../smtp/session.ts'), 'no-restricted-imports');
    await assertReported('src/protocols/managesieve/a.ts', importOf('../imap/x.ts'), 'no-restricted-imports');
  });

  test('a protocol may import its own folders, core, directory, store and libraries', async () => {
    await assertClean('src/protocols/imap/commands/fetch.ts', importOf('../parser/fetch-att.ts'));
    await assertClean('src/protocols/imap/commands/fetch.ts', importOf('../session.ts'));
    await assertClean('src/protocols/imap/commands/fetch.ts', importOf('../../../core/fetch.ts'));
    await assertClean('src/protocols/smtp/a.ts', importOf('../../directory/index.ts'));
    await assertClean('src/protocols/smtp/a.ts', importOf('../../wire/lines.ts'));
    // A sub-folder of imap that happens to be called like another protocol.
    await assertClean('src/protocols/imap/a.ts', importOf('./smtp/b.ts'));
  });

  test('a protocol may not import web, queue or cli', async () => {
    for (const target of ['web', 'queue', 'cli']) {
      await assertReported('src/protocols/smtp/a.ts', importOf(`../../${target}/a.ts`), 'no-restricted-imports');
    }
  });

  test('web and queue may not import protocols or cli', async () => {
    await assertReported('src/web/x.ts', importOf('../protocols/imap/session.ts'), 'no-restricted-imports');
    await assertReported('src/web/dav/x.ts', importOf('../../cli/main.ts'), 'no-restricted-imports');
    await assertReported('src/queue/x.ts', importOf('../protocols/smtp/client.ts'), 'no-restricted-imports');
    await assertClean('src/queue/x.ts', importOf('../core/deliver.ts'));
    await assertClean('src/web/x.ts', importOf('../store/db.ts'));
  });

  test('pure libraries import nothing above them', async () => {
    await assertReported('src/lib/a.ts', importOf('../core/x.ts'), 'no-restricted-imports');
    for (const lib of ['lib', 'mail', 'config', 'wire', 'sieve']) {
      for (const target of ['store', 'core', 'directory', 'protocols/smtp', 'web', 'queue', 'cli']) {
        await assertReported(`src/${lib}/a.ts`, importOf(`../${target}/x.ts`), 'no-restricted-imports');
      }
      await assertClean(`src/${lib}/a.ts`, importOf('../lib/errors.ts'));
    }
    // Names are resolved by depth: these are src/lib/queue.ts and src/lib/queue/x.ts.
    await assertClean('src/lib/a.ts', importOf('./queue.ts'));
    await assertClean('src/lib/sub/a.ts', importOf('../queue/x.ts'));
    await assertReported('src/lib/sub/a.ts', importOf('../../queue/x.ts'), 'no-restricted-imports');
  });

  test('files deeper than the generated depths still get the (coarse) rule', async () => {
    const deep = 'src/core/a/b/c/d/e/f/g/h/i/j/x.ts';
    await assertReported(deep, importOf('../../../../../../../../../../../protocols/imap/x.ts'), 'no-restricted-imports');
    await assertClean(deep, importOf('../../../../../../../../../../../store/db.ts'));
  });

  test('cli may import every layer', async () => {
    await assertClean('src/cli/main.ts', importOf('../protocols/imap/server.ts'));
    await assertClean('src/cli/commands/serve.ts', importOf('../../web/server.ts'));
  });
});

describe('database drivers only in src/store', () => {
  test('store may import postgres and pglite', async () => {
    await assertClean('src/store/x.ts', "import postgres from 'postgres';\nexport const sql = postgres;\n");
    await assertClean('src/store/x.ts', "import { PGlite } from '@electric-sql/pglite';\nexport const P = PGlite;\n");
    await assertClean('src/store/x.ts', "export const load = () => import('@electric-sql/pglite/worker');\n");
  });

  test('drivers are forbidden outside src/store', async () => {
    const m = await assertReported('src/core/x.ts', "import postgres from 'postgres';\nexport const sql = postgres;\n", 'no-restricted-imports');
    assert.match(m.message, /SQL lives in src\/store/);
    for (const spec of ['pg', 'pg-protocol', '@electric-sql/pglite', '@electric-sql/pglite/worker', '@electric-sql/pglite-tools']) {
      await assertReported('src/core/x.ts', importOf(spec), 'no-restricted-imports');
    }
    await assertReported('src/cli/main.ts', importOf('postgres'), 'no-restricted-imports');
    await assertReported('src/lib/a.ts', importOf('@electric-sql/pglite'), 'no-restricted-imports');
    await assertReported('test/x.test.ts', importOf('postgres'), 'no-restricted-imports');
    await assertReported('bench/x.ts', importOf('@electric-sql/pglite'), 'no-restricted-imports');
    await assertReported('src/core/x.ts', "export const load = () => import('postgres');\n", 'no-restricted-syntax');
    // Not drivers.
    await assertClean('src/core/x.ts', importOf('postal-mime'));
    await assertClean('src/core/x.ts', importOf('pino'));
  });
});

describe('SQL text only in src/store', () => {
  const sqlSamples = [
    'SELECT id FROM accounts',
    'select id from accounts where name = $1',
    '\n    SELECT m.uid, m.flags\n      FROM messages m\n     WHERE m.mailbox_id = $1',
    '-- claim due rows\nSELECT * FROM queue_recipients FOR UPDATE SKIP LOCKED',
    'SELECT pg_notify($1, $2)',
    'SELECT 1',
    'INSERT INTO accounts (name) VALUES ($1)',
    'UPDATE mailboxes SET uid_next = uid_next + 1 RETURNING uid_next',
    'DELETE FROM sessions WHERE expires < now()',
    'CREATE TABLE nodes (id bigint)',
    'CREATE UNIQUE INDEX ON x (y)',
    'ALTER TABLE accounts ADD COLUMN quota bigint',
    'WITH due AS (SELECT 1) SELECT * FROM due',
    'TRUNCATE audit_events',
  ];

  test('SQL in a string literal outside src/store is reported', async () => {
    const m = await assertReported('src/core/x.ts', 'export const q = "SELECT id FROM accounts";\n', 'no-restricted-syntax');
    assert.match(m.message, /SQL lives in src\/store/);
    for (const sql of sqlSamples) {
      await assertReported('src/core/x.ts', `export const q = ${JSON.stringify(sql)};\n`, 'no-restricted-syntax');
    }
  });

  test('SQL in a template literal outside src/store is reported', async () => {
    for (const sql of sqlSamples) {
      await assertReported('src/protocols/imap/x.ts', `export const q = \`${sql}\`;\n`, 'no-restricted-syntax');
    }
    await assertReported(
      'src/web/x.ts',
      'declare const sql: (s: TemplateStringsArray, ...v: unknown[]) => string;\n' +
        'export const q = (id: number) => sql`\n  DELETE FROM sessions WHERE id = ${id}`;\n',
      'no-restricted-syntax',
    );
  });

  test('SQL text is fine in src/store, tests and benchmarks', async () => {
    for (const sql of sqlSamples) {
      const code = `export const q = ${JSON.stringify(sql)};\nexport const t = \`${sql}\`;\n`;
      await assertClean('src/store/x.ts', code);
      await assertClean('src/store/migrations/0002-x.ts', code);
      await assertClean('test/x.test.ts', code);
      await assertClean('bench/x.ts', code);
    }
  });

  test('protocol words and prose are not SQL', async () => {
    for (const text of [
      'SELECT completed',
      '[READ-WRITE] SELECT completed',
      'SELECT ',
      'SELECT',
      'Select a mailbox first',
      'Select a mailbox from the list',
      'DELETE',
      'CREATE completed',
      'Update the settings',
      'UPDATE',
      'insert a blank line',
      'With love',
      'FROM:<a@b> SIZE=100',
    ]) {
      await assertClean('src/protocols/imap/x.ts', `export const t = ${JSON.stringify(text)};\n`);
    }
  });
});

describe('general rules', () => {
  test('explicit any is an error in src', async () => {
    await assertReported('src/core/x.ts', 'export const f = (a: any) => a;\n', '@typescript-eslint/no-explicit-any');
  });

  test('unused variables are errors unless prefixed with _', async () => {
    await assertReported('src/core/x.ts', 'export function f(a: number) { const b = 1; return a; }\n', '@typescript-eslint/no-unused-vars');
    await assertClean(
      'src/core/x.ts',
      'export function f(b: number, _a: number) {\n' +
        '  const [_c] = [b];\n' +
        '  const { x: _x, ...rest } = { x: 1, y: b };\n' +
        '  try { return rest.y; } catch (_e) { return 0; }\n' +
        '}\n',
    );
  });

  test('every linted folder and area resolves to a configuration', async () => {
    for (const path of [
      'src/cli/main.ts',
      'src/store/db.ts',
      'src/protocols/imap/commands/fetch.ts',
      'src/protocols/index.ts',
      'src/sieve/parser.ts',
      'test/x.test.ts',
      'bench/store.ts',
      'scripts/run-tests.mjs',
    ]) {
      assert.equal(await eslint.isPathIgnored(join(ROOT, path)), false, path);
      const config = (await eslint.calculateConfigForFile(join(ROOT, path))) as { rules?: Record<string, unknown> };
      assert.ok(config.rules?.['no-restricted-imports'], `${path} has no import restrictions`);
    }
    assert.equal(await eslint.isPathIgnored(join(ROOT, 'test/fixtures/lint/x.ts')), true);
    assert.equal(await eslint.isPathIgnored(join(ROOT, 'dist/x.js')), true);
  });

  test('plain .mjs scripts know the Node globals', async () => {
    await assertClean('scripts/x.mjs', "import { join } from 'node:path';\nconsole.log(join(process.cwd(), 'x'));\n");
    await assertReported('scripts/x.mjs', 'console.log(notDefined);\n', 'no-undef');
  });
});
