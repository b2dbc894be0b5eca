/** Every command, in `tegu --help` order. */
import type { Command, CommandGroup } from '../types.ts';
import { aliasCommands } from './alias.ts';
import { domainCommands } from './domain.ts';
import { groupCommands } from './group.ts';
import { migrateCommand } from './migrate.ts';
import { queueCommands } from './queue.ts';
import { serveCommand } from './serve.ts';
import { settingsCommands } from './settings.ts';
import { statusCommand } from './status.ts';
import { userCommands } from './user.ts';

export const COMMANDS: readonly (Command | CommandGroup)[] = [
  serveCommand,
  domainCommands,
  userCommands,
  aliasCommands,
  groupCommands,
  queueCommands,
  settingsCommands,
  migrateCommand,
  statusCommand,
];

/** The command run when none is given. */
export const DEFAULT_COMMAND = serveCommand;
