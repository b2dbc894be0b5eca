/** Command-line helpers shared by the benchmarks: a usage error exits 2 with the usage text. */

export interface ArgHelpers {
  fail(message: string): never;
  positiveInt(name: string, value: string | undefined, dflt: number): number;
  /** A comma list of names, each one of `allowed`; empty is an error. */
  nameList<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T[];
}

export function argHelpers(program: string, usage: string): ArgHelpers {
  const fail = (message: string): never => {
    console.error(`${program}: ${message}\n${usage}`);
    process.exit(2);
  };
  return {
    fail,
    positiveInt(name, value, dflt) {
      if (value === undefined) return dflt;
      const n = Number(value.replace(/[_,]/g, ''));
      if (!Number.isInteger(n) || n < 1) fail(`--${name} must be a positive integer, not ${JSON.stringify(value)}`);
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
