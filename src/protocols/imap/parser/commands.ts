/**
 * The table of commands: name -> grammar (RFC 9051 6, 9 command-any,
 * command-auth, command-nonauth, command-select; "UID" SP ... 6.4.9). The
 * scanner given to each parser stands right after the command name. Which
 * commands a session state allows is the session's table, not this one.
 */
import { append } from './append.ts';
import { authenticate, enable, login } from './auth.ts';
import type { ImapCommand } from './command.ts';
import { copyOrMove } from './copy-move.ts';
import { expunge } from './expunge.ts';
import { fetch } from './fetch.ts';
import { id } from './id.ts';
import { list, lsub } from './list.ts';
import { create, oneMailbox, rename } from './mailboxes.ts';
import type { Scanner } from './scanner.ts';
import { search } from './search.ts';
import { select } from './select.ts';
import { SIMPLE_COMMANDS, simpleCommand } from './simple.ts';
import { status } from './status.ts';
import { store } from './store.ts';

export type CommandParser = (s: Scanner, tag: string) => ImapCommand;
/** Commands that also exist with the UID prefix; `uid` says which form. */
export type NumberedParser = (s: Scanner, tag: string, uid: boolean) => ImapCommand;

const numbered: ReadonlyMap<string, NumberedParser> = new Map<string, NumberedParser>([
  ['FETCH', fetch],
  ['STORE', store],
  ['SEARCH', search],
  ['COPY', copyOrMove('COPY')],
  ['MOVE', copyOrMove('MOVE')],
  ['EXPUNGE', expunge],
]);

export const COMMANDS: ReadonlyMap<string, CommandParser> = new Map<string, CommandParser>([
  ...SIMPLE_COMMANDS.map((name) => [name, simpleCommand(name)] as const),
  ['LOGIN', login],
  ['AUTHENTICATE', authenticate],
  ['ENABLE', enable],
  ['ID', id],
  ['SELECT', select('SELECT')],
  ['EXAMINE', select('EXAMINE')],
  ['CREATE', create],
  ['DELETE', oneMailbox('DELETE')],
  ['SUBSCRIBE', oneMailbox('SUBSCRIBE')],
  ['UNSUBSCRIBE', oneMailbox('UNSUBSCRIBE')],
  ['RENAME', rename],
  ['LIST', list],
  ['LSUB', lsub],
  ['STATUS', status],
  ['APPEND', append],
  ...[...numbered].map(([name, parse]) => [name, (s: Scanner, tag: string) => parse(s, tag, false)] as const),
]);

/** Commands after "UID SP" (RFC 9051 6.4.9; EXPUNGE: UIDPLUS RFC 4315). */
export const UID_COMMANDS: ReadonlyMap<string, CommandParser> = new Map(
  [...numbered].map(([name, parse]) => [name, (s: Scanner, tag: string) => parse(s, tag, true)] as const),
);
