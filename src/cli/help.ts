/** `--help` texts, generated from the command and option tables. */
import { GLOBAL_OPTIONS, type OptionSpecs } from './args.ts';
import { isGroup, type ArgSpec, type Command, type CommandGroup } from './types.ts';

function optionLines(specs: OptionSpecs): string[] {
  const rows = Object.entries(specs).map(([name, s]) => {
    const left = `${s.short ? `-${s.short}, ` : ''}--${name}${s.type === 'string' ? ` ${s.value ?? 'VALUE'}` : ''}`;
    const right = s.description + (s.env ? ` [env ${s.env}]` : '');
    return [left, right] as const;
  });
  const width = Math.max(...rows.map(([l]) => l.length));
  return rows.map(([l, r]) => `  ${l.padEnd(width)}  ${r}`);
}

export function argsUsage(args: readonly ArgSpec[]): string {
  return args
    .map((a) => {
      const s = a.variadic ? `${a.name}...` : a.name;
      return a.optional ? `[${s}]` : s;
    })
    .join(' ');
}

function optionsUsage(specs: OptionSpecs | undefined): string {
  return Object.entries(specs ?? {})
    .map(([name, s]) => `[--${name}${s.type === 'string' ? ` ${s.value ?? 'VALUE'}` : ''}]${s.multiple ? '...' : ''}`)
    .join(' ');
}

function columns(rows: readonly (readonly [string, string])[]): string[] {
  const width = Math.max(...rows.map(([l]) => l.length));
  return rows.map(([l, r]) => `  ${l.padEnd(width)}  ${r}`);
}

export function mainHelp(commands: readonly (Command | CommandGroup)[]): string {
  const rows = commands.map((c): [string, string] =>
    isGroup(c) ? [`${c.name} ${c.commands.map((s) => s.name).join('|')}`, c.summary] : [c.name, c.summary],
  );
  return [
    'Usage: tegu [COMMAND] [OPTIONS]',
    '',
    'TEGU mail server. Without a command, tegu runs `tegu serve`.',
    '',
    'Commands:',
    ...columns(rows),
    '',
    'Global options (before or after the command):',
    ...optionLines(GLOBAL_OPTIONS),
    '',
    'Without --database the data lives in an embedded database in the data directory.',
    'Run `tegu COMMAND --help` for the options of a command.',
    'Exit codes: 0 ok, 1 failure, 2 bad usage.',
  ].join('\n');
}

export function groupHelp(g: CommandGroup): string {
  const rows = g.commands.map((c): [string, string] => [`${c.name} ${argsUsage(c.args)}`.trim(), c.summary]);
  return [
    `Usage: tegu ${g.name} COMMAND [OPTIONS]`,
    '',
    `${g.summary[0]?.toUpperCase()}${g.summary.slice(1)}.`,
    '',
    'Commands:',
    ...columns(rows),
    '',
    `Run \`tegu ${g.name} COMMAND --help\` for details; global options: see \`tegu --help\`.`,
  ].join('\n');
}

export function commandHelp(path: string, c: Command): string {
  const usage = ['Usage: tegu', path, argsUsage(c.args), optionsUsage(c.options)].filter((s) => s !== '').join(' ');
  const lines = [usage, '', `${c.summary[0]?.toUpperCase()}${c.summary.slice(1)}.`];
  if (c.details) lines.push('', ...c.details.split('\n'));
  if (c.options && Object.keys(c.options).length > 0) lines.push('', 'Options:', ...optionLines(c.options));
  lines.push('', 'Global options (--database, --data, --json, ...): see `tegu --help`.');
  return lines.join('\n');
}
