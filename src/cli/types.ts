/** The shapes shared by the command modules: a command, a group of commands, one invocation. */
import type { BootstrapConfig } from '../config/bootstrap.ts';
import type { OptionSpecs, Values } from './args.ts';

export interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** One positional argument in a command's usage line. */
export interface ArgSpec {
  name: string;
  /** Takes all remaining arguments. */
  variadic?: boolean;
  optional?: boolean;
}

/** Everything a command's run() gets: parsed arguments, bootstrap config, output. */
export interface Invocation {
  io: Io;
  /** "user add": for messages. */
  path: string;
  /** Positional arguments after the command path, count already checked against `args`. */
  args: string[];
  /** Option values (global and the command's own). */
  opts: Values;
  config: BootstrapConfig;
  /** --json: one JSON document on stdout instead of human text. */
  json: boolean;
}

export interface Command {
  name: string;
  summary: string;
  /** Extra help paragraphs. */
  details?: string;
  args: ArgSpec[];
  options?: OptionSpecs;
  /** Resolves to the exit code (default 0). Throws for failures (mapped in run.ts). */
  run(inv: Invocation): Promise<number | void>;
}

export interface CommandGroup {
  name: string;
  summary: string;
  commands: Command[];
}

export function isGroup(c: Command | CommandGroup): c is CommandGroup {
  return 'commands' in c;
}
