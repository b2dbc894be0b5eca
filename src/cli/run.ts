/**
 * The dispatcher: finds the command, parses its options, loads the bootstrap
 * configuration, runs it, and maps every error to one line on stderr and an
 * exit code: 2 for bad usage and invalid input, 1 for everything else.
 */
import { loadBootstrapConfig } from '../config/bootstrap.ts';
import { InvalidInputError, TeguError } from '../lib/errors.ts';
import { bootstrapFlags, flag, GLOBAL_OPTIONS, parse, str, UsageError, type OptionSpecs } from './args.ts';
import { COMMANDS, DEFAULT_COMMAND } from './commands/index.ts';
import { argsUsage, commandHelp, groupHelp, mainHelp } from './help.ts';
import { writeLine } from './output.ts';
import { isGroup, type ArgSpec, type Command, type Io } from './types.ts';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Global options plus every command's: the first pass must know which options take a value. */
function allOptions(): OptionSpecs {
  const out: OptionSpecs = { ...GLOBAL_OPTIONS };
  for (const c of COMMANDS) for (const cmd of isGroup(c) ? c.commands : [c]) Object.assign(out, cmd.options);
  return out;
}

interface Resolved {
  command: Command;
  path: string;
  /** How many positionals name the command. */
  words: number;
}

/** Finds the command named by the positionals; undefined when only help was asked for and printed. */
function resolve(positionals: readonly string[], help: boolean, io: Io): Resolved | undefined {
  const [name, sub] = positionals;
  if (name === undefined) {
    if (help) return void writeLine(io.stdout, mainHelp(COMMANDS));
    return { command: DEFAULT_COMMAND, path: DEFAULT_COMMAND.name, words: 0 };
  }
  const entry = COMMANDS.find((c) => c.name === name);
  if (entry === undefined) throw new UsageError(`unknown command "${name}" (see tegu --help)`);
  if (!isGroup(entry)) return { command: entry, path: name, words: 1 };
  const names = entry.commands.map((c) => c.name).join(', ');
  if (sub === undefined) {
    if (help) return void writeLine(io.stdout, groupHelp(entry));
    throw new UsageError(`missing command after "${name}": one of ${names} (see tegu ${name} --help)`);
  }
  const command = entry.commands.find((c) => c.name === sub);
  if (command === undefined) throw new UsageError(`unknown command "${name} ${sub}": one of ${names} (see tegu ${name} --help)`);
  return { command, path: `${name} ${sub}`, words: 2 };
}

function checkArgs(path: string, specs: readonly ArgSpec[], args: readonly string[]): void {
  const usage = `usage: tegu ${path} ${argsUsage(specs)}`.trim();
  specs.forEach((spec, i) => {
    if (args[i] === undefined && !spec.optional) throw new UsageError(`missing ${spec.name} (${usage})`);
  });
  const max = specs.some((s) => s.variadic) ? Infinity : specs.length;
  if (args.length > max) throw new UsageError(`unexpected argument "${args[max]}" (${usage})`);
}

async function dispatch(argv: readonly string[], io: Io, setDebug: (on: boolean) => void): Promise<number> {
  const first = parse(argv, allOptions(), false);
  setDebug(['debug', 'trace'].includes(str(first.values, 'log-level') ?? io.env.TEGU_LOG_LEVEL ?? ''));
  const help = flag(first.values, 'help');
  const found = resolve(first.positionals, help, io);
  if (found === undefined) return EXIT_OK;
  const { command, path, words } = found;
  if (help) {
    writeLine(io.stdout, commandHelp(path, command));
    return EXIT_OK;
  }
  const parsed = parse(argv, { ...GLOBAL_OPTIONS, ...command.options }, true, `tegu ${path}`);
  const args = parsed.positionals.slice(words);
  checkArgs(path, command.args, args);
  const config = loadBootstrapConfig({ flags: bootstrapFlags(parsed.values), env: io.env, cwd: io.cwd });
  setDebug(config.logLevel === 'debug' || config.logLevel === 'trace');
  const code = await command.run({ io, path, args, opts: parsed.values, config, json: flag(parsed.values, 'json') });
  return code ?? EXIT_OK;
}

export function exitCodeFor(err: unknown): number {
  return err instanceof UsageError || err instanceof InvalidInputError ? EXIT_USAGE : EXIT_FAILURE;
}

/** Expected errors (ours) get their message only; others a stack too, with --log-level debug. */
function report(io: Io, err: unknown, debug: boolean): void {
  let message = err instanceof Error ? err.message || err.name : String(err);
  if (err instanceof AggregateError && !err.message) message = err.errors.map((e) => String((e as Error).message ?? e)).join('; ');
  writeLine(io.stderr, `tegu: ${message.replace(/\s*\n\s*/g, ' ')}`);
  const expected = err instanceof TeguError || err instanceof UsageError;
  if (debug && !expected && err instanceof Error && err.stack) writeLine(io.stderr, err.stack);
}

export async function runCli(argv: readonly string[], io: Io): Promise<number> {
  let debug = false;
  try {
    return await dispatch(argv, io, (on) => (debug = on));
  } catch (err) {
    report(io, err, debug);
    return exitCodeFor(err);
  }
}

