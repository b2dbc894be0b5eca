/**
 * Command-line parsing on node:util parseArgs. Global options (every
 * bootstrap field, --json, --help) are accepted before or after the command.
 */
import { parseArgs } from 'node:util';
import { BOOTSTRAP_FIELDS, type BootstrapField } from '../config/bootstrap.ts';

/** Bad usage: unknown command or option, missing or extra argument. Exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  short?: string;
  /** Placeholder in help: `--name NAME`. */
  value?: string;
  description: string;
  env?: string;
}

export type OptionSpecs = Record<string, OptionSpec>;
export type Values = Record<string, string | boolean | string[] | undefined>;

const PLACEHOLDER: Record<BootstrapField['kind'], string> = {
  url: 'URL',
  path: 'PATH',
  name: 'NAME',
  logLevel: 'LEVEL',
  listen: 'ADDRS',
  configPath: 'FILE',
  megabytes: 'MIB',
};

function bootstrapOption(f: BootstrapField): OptionSpec {
  const value = f.flag === 'data' ? 'DIR' : PLACEHOLDER[f.kind];
  return { type: 'string', value, description: f.description, env: f.env };
}

export const GLOBAL_OPTIONS: OptionSpecs = {
  ...Object.fromEntries(BOOTSTRAP_FIELDS.map((f) => [f.flag, bootstrapOption(f)])),
  json: { type: 'boolean', description: 'machine-readable output: one JSON document on stdout' },
  help: { type: 'boolean', short: 'h', description: 'show help (also after a command: tegu user add --help)' },
};

export interface Parsed {
  positionals: string[];
  values: Values;
}

type ParseArgsOptions = NonNullable<Parameters<typeof parseArgs>[0]>['options'];

function toParseArgs(specs: OptionSpecs): ParseArgsOptions {
  const out: NonNullable<ParseArgsOptions> = {};
  for (const [name, s] of Object.entries(specs)) {
    out[name] = { type: s.type, ...(s.multiple ? { multiple: true } : {}), ...(s.short ? { short: s.short } : {}) };
  }
  return out;
}

/** parseArgs' messages are long and mention internals; say what is wrong in one line. */
function usageMessage(err: Error & { code?: string }, where: string): string {
  const name = /'([^']+)'/.exec(err.message)?.[1]?.split(' ')[0];
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${name ?? err.message} for "${where}"`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return name && /argument missing/.test(err.message) ? `option ${name} needs a value` : err.message;
    default:
      return err.message;
  }
}

/**
 * `strict: false` only for finding the command: unknown options become
 * booleans and nothing throws; the strict second pass reports them.
 */
export function parse(argv: readonly string[], specs: OptionSpecs, strict: boolean, where = 'tegu'): Parsed {
  try {
    const r = parseArgs({ args: [...argv], options: toParseArgs(specs), strict, allowPositionals: true });
    return { positionals: r.positionals, values: r.values as Values };
  } catch (err) {
    throw new UsageError(usageMessage(err as Error & { code?: string }, where));
  }
}

export function str(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

export function list(values: Values, name: string): string[] {
  const v = values[name];
  if (Array.isArray(v)) return v;
  return typeof v === 'string' ? [v] : [];
}

export function flag(values: Values, name: string): boolean {
  return values[name] === true;
}

/** The bootstrap flags as loadBootstrapConfig wants them (flag name -> value). */
export function bootstrapFlags(values: Values): Record<string, string | undefined> {
  return Object.fromEntries(BOOTSTRAP_FIELDS.map((f) => [f.flag, str(values, f.flag)]));
}
