// ESLint flat config for TEGU.
//
// Besides typescript-eslint's recommended rules, this file enforces the layer
// architecture of docs/architecture.md (ARCHITECTURE.md section 1) with
// built-in rules only:
//
//   cli (composition root)
//     -> protocols/<name>, web, queue
//       -> core, directory
//         -> store          (the ONLY place with SQL and database drivers)
//           -> lib, mail, config, wire, sieve   (pure libraries)
//
// A layer may import the layers below it, never the ones above; a protocol may
// not import another protocol (shared wire code belongs in src/wire, shared
// mail logic in src/core). Imports of the database drivers and SQL text are
// allowed in src/store only.
//
// How it works: `no-restricted-imports` sees the import specifier as written
// (`../protocols/imap/session.ts`), not the resolved file. So for every area
// and every directory depth inside it we generate one config object whose
// regexes match exactly the relative paths that lead from that depth to a
// forbidden area (`src/core/x.ts` -> `^../protocols/`,
// `src/core/a/b/x.ts` -> `^../../../protocols/`). A folder named like a layer
// inside an area (`src/lib/queue.ts`, `src/core/store/`) is therefore not a
// false positive. Rule options of later config objects replace earlier ones,
// so each generated object carries the complete option list for its files
// (layer patterns + driver ban + SQL ban).
//
// To add a layer/area: add it to LAYERS below (and to PURE_LIBS if it is a pure
// library). To add a protocol: nothing to do if its folder exists in
// src/protocols when ESLint starts (folders are discovered), but please also
// add its name to KNOWN_PROTOCOLS so the rule holds before the folder exists.

import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

const ROOT = dirname(fileURLToPath(import.meta.url));

/** File extensions we lint as TypeScript. */
const TS = '{ts,mts,cts}';
/** Folders we lint. */
const LINTED = ['src', 'test', 'bench', 'scripts'];

// ---------------------------------------------------------------------------
// Layers

/** Protocol folders under src/protocols. Add new protocols here. */
const KNOWN_PROTOCOLS = ['smtp', 'lmtp', 'imap', 'pop3', 'managesieve'];

function discoverProtocols() {
  try {
    return readdirSync(join(ROOT, 'src/protocols'), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
  } catch {
    return [];
  }
}

const PROTOCOLS = [...new Set([...KNOWN_PROTOCOLS, ...discoverProtocols()])].sort();

const PURE_LIBS = ['lib', 'mail', 'config', 'wire', 'sieve'];
const ABOVE_STORE = ['core', 'directory', 'protocols', 'web', 'queue', 'cli'];

/**
 * area (path below src/) -> areas it must not import, each with the reason.
 * Areas not listed here (src/cli, files directly in src/) have no layer
 * restriction, only the driver and SQL bans.
 */
const LAYERS = [
  { area: 'store', forbidden: ABOVE_STORE, why: 'the store is below every service layer' },
  ...['core', 'directory'].map((area) => ({
    area,
    forbidden: ['protocols', 'web', 'queue', 'cli'],
    why: 'domain services know nothing of protocols, web, queue or the entry points',
  })),
  ...PROTOCOLS.map((name) => ({
    area: `protocols/${name}`,
    forbidden: [...PROTOCOLS.filter((p) => p !== name).map((p) => `protocols/${p}`), 'web', 'queue', 'cli'],
    why: 'protocols are independent of each other (shared code goes to src/wire or src/core)',
  })),
  // Files directly in src/protocols (if any): no web, queue, cli.
  { area: 'protocols', forbidden: ['web', 'queue', 'cli'], why: 'protocols sit below the entry points', filesOnly: true },
  ...['web', 'queue'].map((area) => ({
    area,
    forbidden: ['protocols', 'cli'],
    why: 'web and queue are peers of the protocols and call core, not them',
  })),
  ...PURE_LIBS.map((area) => ({
    area,
    forbidden: ['store', ...ABOVE_STORE],
    why: 'pure libraries import nothing above them',
  })),
];

// ---------------------------------------------------------------------------
// Import-path regexes

const reEscape = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/**
 * Regex source matching the relative specifiers that lead from a file in
 * `src/<dir>/` to `src/<target>` (or below it). `dir` may end in `depth`
 * further unnamed folders; `depth === null` means "any depth".
 *
 * From src/protocols/imap/commands to protocols/smtp both `../../smtp` and
 * `../../../protocols/smtp` are valid, so every common prefix is offered.
 */
function relativeTargetRegex(dir, target, depth) {
  const d = dir.split('/');
  const t = target.split('/');
  let common = 0;
  while (common < d.length && common < t.length && d[common] === t[common]) common++;
  const forms = [];
  for (let j = 0; j <= common; j++) {
    const up = depth === null ? '(?:\\.\\.\\/)+' : `(?:\\.\\.\\/){${d.length - j + depth}}`;
    forms.push(up + t.slice(j).map(reEscape).join('\\/'));
  }
  return `^(?:\\.\\/)?(?:${forms.join('|')})(?:\\/|$)`;
}

const SQL_HOME = 'SQL lives in src/store';

/** Database drivers: allowed in src/store only. */
const DRIVER_REGEX = '^(?:postgres|pg(?:-[\\w-]+)?|@electric-sql\\/pglite[\\w-]*)(?:\\/|$)';

const driverPattern = {
  regex: DRIVER_REGEX,
  caseSensitive: true,
  message: `${SQL_HOME}: database drivers (postgres, pg, @electric-sql/pglite) may be imported there only.`,
};

// ---------------------------------------------------------------------------
// SQL text outside src/store

/**
 * Beginnings of SQL statements. Keywords are written in upper case and match
 * upper or lower case (not Title Case, so prose such as "Select a mailbox
 * first" is fine). Bare keywords are not enough: IMAP has SELECT, CREATE and
 * DELETE commands, so "SELECT completed" must not count as SQL.
 */
const SQL_STATEMENTS = [
  String.raw`SELECT\s[^]*?\bFROM\s+[\w."]`, // SELECT ... FROM t
  String.raw`SELECT\s+(?:DISTINCT\s+)?(?:\*|\d+\s*(?:;|$)|\$\d|[\w.]+\s*\()`, // SELECT *, SELECT 1, SELECT $1, SELECT f(...)
  String.raw`INSERT\s+INTO\s`,
  String.raw`UPDATE\s+[\w."]+\s+SET\s`,
  String.raw`DELETE\s+FROM\s`,
  String.raw`(?:CREATE|ALTER|DROP)\s+(?:OR\s+REPLACE\s+|UNIQUE\s+|TEMP\s+|TEMPORARY\s+|UNLOGGED\s+|MATERIALIZED\s+)*(?:TABLE|INDEX|VIEW|FUNCTION|PROCEDURE|EXTENSION|TYPE|TRIGGER|SCHEMA|SEQUENCE|DOMAIN|DATABASE|ROLE)\b`,
  String.raw`WITH\s+(?:RECURSIVE\s+)?\w+(?:\s*\([^)]*\))?\s+AS\s+(?:NOT\s+)?(?:MATERIALIZED\s+)?\(`,
  String.raw`TRUNCATE\s+(?:TABLE\s+)?[\w."]+\s*(?:,|;|$|CASCADE|RESTART)`,
  String.raw`COMMENT\s+ON\s+(?:TABLE|COLUMN|INDEX|FUNCTION)\b`,
];

const bothCases = (src) => src.replace(/[A-Z]{2,}/g, (w) => `(?:${w}|${w.toLowerCase()})`);

/** The regex used by the SQL-text selectors (tested in test/lint-boundaries.test.ts). */
const SQL_TEXT_REGEX = new RegExp(
  // Leading blanks and `--` comment lines are allowed before the statement.
  String.raw`^\s*(?:--.*\n\s*)*(?:` + SQL_STATEMENTS.map(bothCases).join('|') + ')',
);

const sqlSelectors = [
  {
    selector: `Literal[value=/${SQL_TEXT_REGEX.source}/]`,
    message: `${SQL_HOME}: add a typed function there instead of writing SQL here.`,
  },
  {
    selector: `TemplateElement[value.raw=/${SQL_TEXT_REGEX.source}/]`,
    message: `${SQL_HOME}: add a typed function there instead of writing SQL here.`,
  },
];

/** `import('postgres')` etc. are not seen by no-restricted-imports. */
function dynamicImportSelector(regex, message) {
  // esquery's regex literal ends at the first unescaped `/`; the sources built
  // here escape every `/`.
  return { selector: `ImportExpression[source.value=/${regex}/]`, message };
}

/**
 * The complete `no-restricted-imports` and `no-restricted-syntax` options for
 * one group of files.
 */
function restrictionRules({ layerPatterns = [], allowDrivers = false, banSql = false }) {
  const patterns = [...(allowDrivers ? [] : [driverPattern]), ...layerPatterns];
  const syntax = [
    ...(banSql ? sqlSelectors : []),
    ...patterns.map((p) => dynamicImportSelector(p.regex, p.message)),
  ];
  return {
    'no-restricted-imports': patterns.length ? ['error', { patterns }] : 'off',
    'no-restricted-syntax': syntax.length ? ['error', ...syntax] : 'off',
  };
}

/** Deepest folder level inside an area that gets an exact-depth rule. */
const MAX_DEPTH = 8;

function layerConfigs() {
  const configs = [];
  for (const { area, forbidden, why, filesOnly } of LAYERS) {
    const inStore = area === 'store';
    const patternsAt = (depth) =>
      forbidden.map((target) => ({
        regex: relativeTargetRegex(area, target, depth),
        caseSensitive: true,
        message: `src/${area} must not import src/${target}: ${why}.`,
      }));
    const rulesAt = (depth) =>
      restrictionRules({ layerPatterns: patternsAt(depth), allowDrivers: inStore, banSql: !inStore });

    if (filesOnly) {
      configs.push({ name: `tegu/layers/${area}`, files: [`src/${area}/*.${TS}`], rules: rulesAt(0) });
      continue;
    }
    // Any depth, coarse (any number of ../): only for files deeper than MAX_DEPTH,
    // the exact-depth objects below override it.
    configs.push({ name: `tegu/layers/${area}/deep`, files: [`src/${area}/**/*.${TS}`], rules: rulesAt(null) });
    for (let depth = 0; depth <= MAX_DEPTH; depth++) {
      configs.push({
        name: `tegu/layers/${area}/depth-${depth}`,
        files: [`src/${area}/${'*/'.repeat(depth)}*.${TS}`],
        rules: rulesAt(depth),
      });
    }
  }
  return configs;
}

// ---------------------------------------------------------------------------
// ESLint's own recommended rules (what @eslint/js's `recommended` enables in
// ESLint 10; that package is not a dependency). typescript-eslint's
// eslint-recommended config below switches off the ones TypeScript checks.
const CORE_RECOMMENDED = Object.fromEntries(
  `constructor-super for-direction getter-return no-async-promise-executor no-case-declarations
  no-class-assign no-compare-neg-zero no-cond-assign no-const-assign no-constant-binary-expression
  no-constant-condition no-control-regex no-debugger no-delete-var no-dupe-args no-dupe-class-members
  no-dupe-else-if no-dupe-keys no-duplicate-case no-empty no-empty-character-class no-empty-pattern
  no-empty-static-block no-ex-assign no-extra-boolean-cast no-fallthrough no-func-assign
  no-global-assign no-import-assign no-invalid-regexp no-irregular-whitespace no-loss-of-precision
  no-misleading-character-class no-new-native-nonconstructor no-nonoctal-decimal-escape no-obj-calls
  no-octal no-prototype-builtins no-redeclare no-regex-spaces no-self-assign no-setter-return
  no-shadow-restricted-names no-sparse-arrays no-this-before-super no-unassigned-vars no-undef
  no-unexpected-multiline no-unreachable no-unsafe-finally no-unsafe-negation
  no-unsafe-optional-chaining no-unused-labels no-unused-private-class-members no-unused-vars
  no-useless-assignment no-useless-backreference no-useless-catch no-useless-escape no-with
  preserve-caught-error require-yield use-isnan valid-typeof`
    .split(/\s+/)
    .map((rule) => [rule, 'error']),
);

/** Node globals for plain .js/.mjs scripts (TypeScript files get them from @types/node). */
const NODE_GLOBALS = Object.fromEntries(
  `process console Buffer URL URLSearchParams setTimeout clearTimeout setInterval clearInterval
  setImmediate clearImmediate queueMicrotask structuredClone AbortController AbortSignal
  TextEncoder TextDecoder fetch performance globalThis`
    .split(/\s+/)
    .map((g) => [g, 'readonly']),
);

const ALL_FILES = LINTED.map((dir) => `${dir}/**/*.{ts,mts,cts,js,mjs,cjs}`);

export default defineConfig([
  globalIgnores(['**/node_modules/', 'dist/', 'tegu-data/', '.tmp/', 'test/fixtures/'], 'tegu/ignores'),

  {
    name: 'tegu/base',
    files: ALL_FILES,
    extends: [{ name: 'tegu/core-recommended', rules: CORE_RECOMMENDED }, tseslint.configs.recommended],
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: NODE_GLOBALS },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Mail and wire code validates control characters on purpose (NUL in
      // headers, CTLs in IMAP atoms): /[\x00-\x1f]/ is correct there.
      'no-control-regex': 'off',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
    },
  },

  {
    // Tests, benchmarks and scripts: no layer rule and SQL text is fine (fixtures,
    // assertions on the schema), but the drivers are reached through src/store.
    name: 'tegu/outside-src',
    files: ['test', 'bench', 'scripts'].map((dir) => `${dir}/**/*.{ts,mts,cts,js,mjs,cjs}`),
    rules: restrictionRules({}),
  },

  {
    // Everything in src that is in no layer below (src/cli, src/*.ts, new areas).
    name: 'tegu/src',
    files: [`src/**/*.${TS}`],
    rules: restrictionRules({ banSql: true }),
  },

  ...layerConfigs(),
]);
