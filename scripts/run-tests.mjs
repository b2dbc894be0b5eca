#!/usr/bin/env node
// Runs every test/**/*.test.ts with Node's test runner under tsx. The files
// are listed explicitly: `tsx --test` with no file arguments runs nothing and
// exits 0, and Node 20 does not expand quoted globs.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'fixtures' || name === 'node_modules') return [];
    return statSync(path).isDirectory() ? walk(path) : name.endsWith('.test.ts') ? [path] : [];
  });
}
const only = process.argv.slice(2);
const files = (only.length ? only : walk(join(root, 'test')).map((f) => relative(root, f))).sort();
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const engines = process.env.TEGU_TEST_DATABASE_URL ? 'embedded + postgres' : 'embedded only (set TEGU_TEST_DATABASE_URL for PostgreSQL too)';
console.log(`# ${files.length} test files; engines: ${engines}`);
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
