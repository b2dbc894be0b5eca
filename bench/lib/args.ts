/**
 * Command-line helpers shared by the benchmarks: a usage error exits 2 with
 * the usage text, --help prints it and exits 0. Declare the helpers with
 * their type (`const args: ArgHelpers = argHelpers(...)`) so that TypeScript
 * narrows after `args.fail(...)`.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** parseArgs options every benchmark has (parse() adds them). */
export const COMMON_OPTIONS = {
  database: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** parseArgs options of the benchmarks that also measure the reference stack. */
export const REFERENCE_OPTIONS = {
  'reference-port': { type: 'string' },
  'reference-dir': { type: 'string' },
} as const;

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

/** What parseArgs makes of `options` and COMMON_OPTIONS (strict: unknown options are errors). */
export type ParsedValues<O extends OptionsConfig> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O & typeof COMMON_OPTIONS; strict: true }>
>['values'];

export interface ArgHelpers {
  fail(message: string): never;
  /** parseArgs over `options` and COMMON_OPTIONS; with --help prints the usage and exits 0. */
  parse<const O extends OptionsConfig>(argv: string[], options: O): ParsedValues<O>;
  positiveInt(name: string, value: string | undefined, dflt: number): number;
  /** A TCP port number, 1..65535. */
  port(name: string, value: string | undefined, dflt: number): number;
  /** A comma list of names, each one of `allowed`; empty is an error. */
  nameList<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T[];
}

export function argHelpers(program: string, usage: string): ArgHelpers {
  const fail = (message: string): never => {
    console.error(`${program}: ${message}\n${usage}`);
    process.exit(2);
  };
  const positiveInt = (name: string, value: string | undefined, dflt: number): number => {
    if (value === undefined) return dflt;
    const n = Number(value.replace(/[_,]/g, ''));
    if (!Number.isInteger(n) || n < 1) fail(`--${name} must be a positive integer, not ${JSON.stringify(value)}`);
    return n;
  };
  return {
    fail,
    parse<const O extends OptionsConfig>(argv: string[], options: O): ParsedValues<O> {
      const { values } = parseArgs({ args: argv, options: { ...options, ...COMMON_OPTIONS }, strict: true });
      if ((values as { help?: boolean }).help) {
        console.log(usage);
        process.exit(0);
      }
      // The same call as in ParsedValues; TypeScript does not follow the spread of a generic object.
      return values as unknown as ParsedValues<O>;
    },
    positiveInt,
    port(name, value, dflt) {
      const n = positiveInt(name, value, dflt);
      if (n > 65535) fail(`--${name} must be 1..65535`);
      return n;
    },
    nameList(flag, value, allowed) {
      const names = (value ?? allowed.join(',')).split(',').map((x) => x.trim()).filter(Boolean);
      for (const x of names) if (!allowed.includes(x as never)) fail(`unknown ${flag} value ${JSON.stringify(x)} (${allowed.join(', ')})`);
      if (names.length === 0) fail(`--${flag} is empty`);
      return names as typeof allowed[number][];
    },
  };
}
