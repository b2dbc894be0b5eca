#!/usr/bin/env node
// Builds tegu into one executable file, dist/tegu (a Node.js single executable
// application): esbuild bundles the CLI and the embedded-database worker into
// CommonJS, and PGlite's WebAssembly and data files travel inside the
// executable as SEA assets. Also left in dist/: tegu.cjs + embedded-worker.cjs +
// PGlite's files, which run with `node dist/tegu.cjs` where a SEA is not wanted.
//
//   npm run build                 bundle + single executable in dist/
//   npm run build -- --no-sea     bundle only
//   npm run build -- --out DIR    somewhere else than dist/
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url).pathname;
const outAt = process.argv.indexOf('--out');
const dist = outAt > 0 && process.argv[outAt + 1] ? process.argv[outAt + 1] : join(root, 'dist');
const require = createRequire(import.meta.url);
const pgliteDir = dirname(require.resolve('@electric-sql/pglite'));
const PGLITE_FILES = ['pglite.wasm', 'initdb.wasm', 'pglite.data'];

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });

const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  logLevel: 'warning',
  // import.meta.resolve is only used on the from-source path (store/embedded-runtime.ts).
  logOverride: { 'empty-import-meta': 'silent' },
  legalComments: 'none',
  // ESM sources use import.meta.url; in the CommonJS bundle it is the bundle file's URL.
  define: {
    __TEGU_BUNDLE__: 'true',
    TEGU_BUILD_VERSION: JSON.stringify(require(join(root, 'package.json')).version),
    'import.meta.url': '__tegu_import_meta_url',
  },
  banner: { js: 'var __tegu_import_meta_url = require("node:url").pathToFileURL(__filename).href;' },
};

await build({ ...common, entryPoints: [join(root, 'src/store/embedded-worker.ts')], outfile: join(dist, 'embedded-worker.cjs') });
await build({ ...common, entryPoints: [join(root, 'src/cli/main.ts')], outfile: join(dist, 'tegu.cjs') });
for (const f of PGLITE_FILES) copyFileSync(join(pgliteDir, f), join(dist, f));
console.log('bundle: dist/tegu.cjs, dist/embedded-worker.cjs, PGlite files');

if (process.argv.includes('--no-sea')) process.exit(0);

// Single executable application (https://nodejs.org/api/single-executable-applications.html).
const assets = Object.fromEntries(['embedded-worker.cjs', ...PGLITE_FILES].map((f) => [f, join(dist, f)]));
const seaConfig = join(dist, 'sea-config.json');
writeFileSync(
  seaConfig,
  JSON.stringify({ main: join(dist, 'tegu.cjs'), output: join(dist, 'sea-prep.blob'), disableExperimentalSEAWarning: true, assets }),
);
execFileSync(process.execPath, ['--experimental-sea-config', seaConfig], { stdio: 'inherit' });
const exe = join(dist, 'tegu');
copyFileSync(process.execPath, exe);
chmodSync(exe, 0o755);
execFileSync(
  process.execPath,
  [require.resolve('postject/dist/cli.js'), exe, 'NODE_SEA_BLOB', join(dist, 'sea-prep.blob'), '--sentinel-fuse', 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'],
  { stdio: 'inherit' },
);
rmSync(join(dist, 'sea-prep.blob'));
rmSync(seaConfig);
console.log('single executable: dist/tegu');
