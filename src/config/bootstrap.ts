/**
 * Bootstrap configuration: the only settings that do not live in the
 * database (ARCHITECTURE.md section 3), because they are needed before the
 * database is open or differ per node: database URL, data directory, node
 * name, log level, listen addresses and TLS files.
 *
 * Sources, highest precedence first:
 *   1. command-line flags (`--database`, `--listen-imap`, ...)
 *   2. environment (`TEGU_DATABASE_URL`, `TEGU_LISTEN_IMAP`, ...)
 *   3. an optional JSON file (`--config` / `TEGU_CONFIG`)
 *   4. defaults
 * Each field is resolved independently. Every value is validated, and an
 * error names the field and where the bad value came from, so an operator
 * knows which of the four places to fix.
 */
import { readFileSync } from 'node:fs';
import { isIP, isIPv6 } from 'node:net';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { InvalidInputError } from '../lib/errors.ts';
import { redactUrl } from '../lib/log.ts';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const LISTENER_KINDS = ['http', 'smtp', 'submission', 'submissions', 'imap', 'imaps', 'pop3', 'lmtp', 'managesieve'] as const;
export type ListenerKind = (typeof LISTENER_KINDS)[number];

export interface BootstrapConfig {
  /** undefined: embedded mode (PGlite in dataDir). */
  databaseUrl: string | undefined;
  /** Absolute. */
  dataDir: string;
  nodeName: string;
  logLevel: LogLevel;
  /** `host:port` strings, already validated with parseListenAddress. */
  listen: Record<ListenerKind, string[]>;
  /** Absolute paths when set. */
  tls: { certFile?: string; keyFile?: string };
  /** This node's cache of immutable message data (core/message-cache.ts), in MiB; 0 turns it off. */
  messageCacheMb: number;
}

/** The default of messageCacheMb: enough for the headers and small bodies of tens of thousands of messages. */
export const DEFAULT_MESSAGE_CACHE_MB = 64;

type FieldKind = 'url' | 'path' | 'name' | 'logLevel' | 'listen' | 'configPath' | 'megabytes';

export interface BootstrapField {
  /** Key path in the JSON file (`listen.imap`); `config` is not a file key. */
  name: string;
  /** Command-line flag without the leading `--`. */
  flag: string;
  env: string;
  description: string;
  kind: FieldKind;
}

const LISTEN_HELP: Record<ListenerKind, string> = {
  http: 'health/readiness HTTP (default 127.0.0.1:8025)',
  smtp: 'SMTP for incoming mail, RFC 5321 (usually :25)',
  submission: 'message submission with STARTTLS, RFC 6409 (usually :587)',
  submissions: 'message submission over implicit TLS, RFC 8314 (usually :465)',
  imap: 'IMAP, RFC 9051 (usually :143)',
  imaps: 'IMAP over implicit TLS, RFC 8314 (usually :993)',
  pop3: 'POP3, RFC 1939 (usually :110)',
  lmtp: 'LMTP, RFC 2033',
  managesieve: 'ManageSieve, RFC 5804 (usually :4190)',
};

/** The bootstrap fields, in `--help` order. The loader is driven by this table. */
export const BOOTSTRAP_FIELDS: readonly BootstrapField[] = [
  { name: 'databaseUrl', flag: 'database', env: 'TEGU_DATABASE_URL', kind: 'url',
    description: 'PostgreSQL URL (postgres://user:pass@host:5432/db); unset: embedded database in the data directory' },
  { name: 'dataDir', flag: 'data', env: 'TEGU_DATA_DIR', kind: 'path',
    description: 'data directory (embedded database, generated TLS files); default ./tegu-data' },
  { name: 'nodeName', flag: 'node-name', env: 'TEGU_NODE_NAME', kind: 'name',
    description: 'name of this node in the cluster; default the host name' },
  { name: 'logLevel', flag: 'log-level', env: 'TEGU_LOG_LEVEL', kind: 'logLevel',
    description: `log level: ${LOG_LEVELS.join(', ')}; default info` },
  { name: 'messageCacheMb', flag: 'message-cache-mb', env: 'TEGU_MESSAGE_CACHE_MB', kind: 'megabytes',
    description: `MiB of memory for this node's cache of message headers and small bodies (0 turns it off); default ${DEFAULT_MESSAGE_CACHE_MB}` },
  { name: 'config', flag: 'config', env: 'TEGU_CONFIG', kind: 'configPath',
    description: 'JSON file with any of these settings (flags and environment override it)' },
  ...LISTENER_KINDS.map((k): BootstrapField => ({
    name: `listen.${k}`, flag: `listen-${k}`, env: `TEGU_LISTEN_${k.toUpperCase()}`, kind: 'listen',
    description: `comma-separated host:port list for ${LISTEN_HELP[k]}; empty disables`,
  })),
  { name: 'tls.certFile', flag: 'tls-cert', env: 'TEGU_TLS_CERT', kind: 'path',
    description: 'PEM certificate chain; unset: a self-signed one is generated in the data directory' },
  { name: 'tls.keyFile', flag: 'tls-key', env: 'TEGU_TLS_KEY', kind: 'path',
    description: 'PEM private key for --tls-cert' },
];

/** Where a value came from, for error messages. */
interface Sourced {
  value: unknown;
  source: string;
  /** Directory that relative paths are resolved against. */
  baseDir: string;
  /** From the JSON file: values must have their JSON type (lists are arrays). */
  inFile: boolean;
}

/** Parses `host:port` or `[ipv6]:port`; port 1..65535. */
export function parseListenAddress(s: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(s.trim());
  if (m === null) throw new InvalidInputError(`listen address "${s}" is not host:port (IPv6 as [::1]:25)`);
  const v6 = m[1];
  const host = v6 ?? m[2] ?? '';
  if (v6 !== undefined && !isIPv6(v6)) throw new InvalidInputError(`listen address "${s}": "${v6}" is not an IPv6 address`);
  // RFC 1123 section 2.1 host names, or an IPv4 literal.
  if (v6 === undefined && isIP(host) === 0 && !/^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(host)) {
    throw new InvalidInputError(`listen address "${s}": "${host}" is not a host name or IP address`);
  }
  const port = Number(m[3]);
  if (port < 1 || port > 65535) throw new InvalidInputError(`listen address "${s}": port must be 1..65535`);
  return { host, port };
}

function fail(field: BootstrapField, from: Sourced, why: string): never {
  throw new InvalidInputError(`bootstrap setting ${field.name} from ${from.source}: ${why}`);
}

function asString(field: BootstrapField, from: Sourced): string {
  if (typeof from.value !== 'string') fail(field, from, 'must be a string');
  return from.value;
}

function validateDatabaseUrl(field: BootstrapField, from: Sourced): string {
  const s = asString(field, from).trim();
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    fail(field, from, `"${redactUrl(s)}" is not a URL`);
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    fail(field, from, `"${redactUrl(s)}" must start with postgres:// or postgresql://`);
  }
  return s;
}

function validateListen(field: BootstrapField, from: Sourced): string[] {
  let list: string[];
  if (typeof from.value === 'string' && !from.inFile) {
    // Flags and env: comma list; an empty string is an explicit "none".
    list = from.value.split(',').map((x) => x.trim()).filter((x) => x !== '');
  } else if (Array.isArray(from.value) && from.value.every((x) => typeof x === 'string')) {
    list = from.value.map((x: string) => x.trim());
  } else {
    fail(field, from, 'must be an array of "host:port" strings');
  }
  for (const a of list) {
    try {
      parseListenAddress(a);
    } catch (e) {
      fail(field, from, (e as Error).message);
    }
  }
  return list;
}

/** Reads a nested file key such as `listen.imap`. */
function fileValue(file: Record<string, unknown>, name: string): unknown {
  let cur: unknown = file;
  for (const part of name.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

const FILE_KEYS: Record<string, readonly string[] | null> = {
  databaseUrl: null, dataDir: null, nodeName: null, logLevel: null, messageCacheMb: null,
  listen: LISTENER_KINDS,
  tls: ['certFile', 'keyFile'],
};

function readConfigFile(path: string, source: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new InvalidInputError(`cannot read config file ${path} (from ${source}): ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new InvalidInputError(`config file ${path}: invalid JSON: ${(e as Error).message}`);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new InvalidInputError(`config file ${path}: must contain a JSON object`);
  }
  // Unknown keys are errors, not warnings: a typo ("listen.imsp") would
  // otherwise silently leave a listener off.
  for (const [key, val] of Object.entries(data)) {
    if (!(key in FILE_KEYS)) throw new InvalidInputError(`config file ${path}: unknown key "${key}" (known: ${Object.keys(FILE_KEYS).join(', ')})`);
    const sub = FILE_KEYS[key];
    if (sub === null || sub === undefined) continue;
    if (val === null || typeof val !== 'object' || Array.isArray(val)) throw new InvalidInputError(`config file ${path}: "${key}" must be an object`);
    for (const k of Object.keys(val)) {
      if (!sub.includes(k)) throw new InvalidInputError(`config file ${path}: unknown key "${key}.${k}" (known: ${sub.join(', ')})`);
    }
  }
  return data as Record<string, unknown>;
}

export interface BootstrapInput {
  flags: Record<string, string | undefined>;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export function loadBootstrapConfig(input: BootstrapInput): BootstrapConfig {
  const { flags, env, cwd } = input;

  // Flag or env value for a field. For scalars an empty string counts as
  // unset (a blank `TEGU_NODE_NAME=` in a unit file should not break start);
  // for listen lists it means "no listeners", so `--listen-http=` disables HTTP.
  const fromCli = (f: BootstrapField): Sourced | undefined => {
    const keep = (v: string | undefined): v is string => v !== undefined && (v !== '' || f.kind === 'listen');
    const flag = flags[f.flag];
    if (keep(flag)) return { value: flag, source: `flag --${f.flag}`, baseDir: cwd, inFile: false };
    const e = env[f.env];
    if (keep(e)) return { value: e, source: `environment ${f.env}`, baseDir: cwd, inFile: false };
    return undefined;
  };

  const fieldByName = (name: string): BootstrapField => {
    const f = BOOTSTRAP_FIELDS.find((x) => x.name === name);
    if (f === undefined) throw new Error(`no bootstrap field ${name}`);
    return f;
  };

  const configFrom = fromCli(fieldByName('config'));
  let file: Record<string, unknown> = {};
  let fileSource = '';
  let fileDir = cwd;
  if (configFrom !== undefined) {
    const path = resolve(cwd, String(configFrom.value));
    file = readConfigFile(path, configFrom.source);
    fileSource = `config file ${path}`;
    fileDir = dirname(path);
  }

  const lookup = (f: BootstrapField): Sourced | undefined => {
    const cli = fromCli(f);
    if (cli !== undefined) return cli;
    const v = fileValue(file, f.name);
    if (v === undefined) return undefined;
    return { value: v, source: `${fileSource} (${f.name})`, baseDir: fileDir, inFile: true };
  };

  const path = (name: string): string | undefined => {
    const f = fieldByName(name);
    const from = lookup(f);
    if (from === undefined) return undefined;
    const s = asString(f, from);
    if (s === '' || s.includes('\0')) fail(f, from, 'must be a non-empty path');
    return resolve(from.baseDir, s);
  };

  const dbField = fieldByName('databaseUrl');
  const dbFrom = lookup(dbField);
  const databaseUrl = dbFrom === undefined ? undefined : validateDatabaseUrl(dbField, dbFrom);

  const dataDir = path('dataDir') ?? resolve(cwd, 'tegu-data');

  const nameField = fieldByName('nodeName');
  const nameFrom = lookup(nameField);
  let nodeName = hostname();
  if (nameFrom !== undefined) {
    nodeName = asString(nameField, nameFrom).trim();
    // Shown in the nodes table and in logs: printable ASCII, no spaces.
    if (!/^[\x21-\x7e]{1,253}$/.test(nodeName)) fail(nameField, nameFrom, `"${nodeName}" must be 1..253 printable characters without spaces`);
  }

  const levelField = fieldByName('logLevel');
  const levelFrom = lookup(levelField);
  let logLevel: LogLevel = 'info';
  if (levelFrom !== undefined) {
    const s = asString(levelField, levelFrom).trim().toLowerCase();
    if (!(LOG_LEVELS as readonly string[]).includes(s)) fail(levelField, levelFrom, `"${s}" is not one of ${LOG_LEVELS.join(', ')}`);
    logLevel = s as LogLevel;
  }

  const cacheField = fieldByName('messageCacheMb');
  const cacheFrom = lookup(cacheField);
  let messageCacheMb = DEFAULT_MESSAGE_CACHE_MB;
  if (cacheFrom !== undefined) {
    const v = typeof cacheFrom.value === 'number' && cacheFrom.inFile ? String(cacheFrom.value) : asString(cacheField, cacheFrom).trim();
    if (!/^\d{1,6}$/.test(v) || Number(v) > 65536) fail(cacheField, cacheFrom, `"${v}" must be a whole number of MiB from 0 to 65536`);
    messageCacheMb = Number(v);
  }

  const listen = {} as Record<ListenerKind, string[]>;
  for (const k of LISTENER_KINDS) {
    const f = fieldByName(`listen.${k}`);
    const from = lookup(f);
    listen[k] = from === undefined ? (k === 'http' ? ['127.0.0.1:8025'] : []) : validateListen(f, from);
  }

  const tls: BootstrapConfig['tls'] = {};
  const certFile = path('tls.certFile');
  const keyFile = path('tls.keyFile');
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new InvalidInputError('bootstrap settings tls.certFile (--tls-cert) and tls.keyFile (--tls-key) must be given together');
  }
  if (certFile !== undefined) tls.certFile = certFile;
  if (keyFile !== undefined) tls.keyFile = keyFile;

  return { databaseUrl, dataDir, nodeName, logLevel, listen, tls, messageCacheMb };
}
