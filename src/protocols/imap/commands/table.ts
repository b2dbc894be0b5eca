/**
 * Every command the parser knows, with the states it is valid in (RFC 9051
 * 6.1-6.4; the grammar's command-any / command-nonauth / command-auth /
 * command-select) and its handler. The mapped type makes the table
 * exhaustive: a command added to the parser does not compile until it is
 * listed here.
 */
import type { ImapCommand, ImapCommandName } from '../parser/index.ts';
import type { StateKind } from '../state.ts';
import { capability, id, logout, noop } from './any-state.ts';
import type { SessionApi } from './api.ts';
import { append } from './append.ts';
import { authenticate, login } from './auth.ts';
import { copyMove } from './copy-move.ts';
import { enable } from './enable.ts';
import { fetch } from './fetch.ts';
import { idle } from './idle.ts';
import { list, lsub, namespace } from './list.ts';
import { create, deleteMailbox, rename, subscribe, unsubscribe } from './mailboxes.ts';
import { search } from './search.ts';
import { close, select, unselect } from './select.ts';
import { starttls } from './starttls.ts';
import { status } from './status.ts';
import { expunge, store } from './store.ts';
import { check } from './updates.ts';

export type CommandOf<N extends ImapCommandName> = Extract<ImapCommand, { name: N }>;

export interface CommandEntry<N extends ImapCommandName> {
  readonly states: readonly StateKind[];
  readonly run: (s: SessionApi, cmd: CommandOf<N>) => Promise<void> | void;
}

const ANY: readonly StateKind[] = ['notAuthenticated', 'authenticated', 'selected'];
const NOT_AUTHENTICATED: readonly StateKind[] = ['notAuthenticated'];
const AUTHENTICATED: readonly StateKind[] = ['authenticated', 'selected'];
const SELECTED: readonly StateKind[] = ['selected'];

export const COMMAND_TABLE: { readonly [N in ImapCommandName]: CommandEntry<N> } = {
  CAPABILITY: { states: ANY, run: capability },
  NOOP: { states: ANY, run: noop },
  LOGOUT: { states: ANY, run: logout },
  ID: { states: ANY, run: id },
  STARTTLS: { states: NOT_AUTHENTICATED, run: starttls },
  AUTHENTICATE: { states: NOT_AUTHENTICATED, run: authenticate },
  LOGIN: { states: NOT_AUTHENTICATED, run: login },
  // RFC 5161 3.1: ENABLE only before a mailbox is selected.
  ENABLE: { states: ['authenticated'], run: enable },
  SELECT: { states: AUTHENTICATED, run: select },
  EXAMINE: { states: AUTHENTICATED, run: select },
  CREATE: { states: AUTHENTICATED, run: create },
  DELETE: { states: AUTHENTICATED, run: deleteMailbox },
  RENAME: { states: AUTHENTICATED, run: rename },
  SUBSCRIBE: { states: AUTHENTICATED, run: subscribe },
  UNSUBSCRIBE: { states: AUTHENTICATED, run: unsubscribe },
  LIST: { states: AUTHENTICATED, run: list },
  LSUB: { states: AUTHENTICATED, run: lsub },
  NAMESPACE: { states: AUTHENTICATED, run: namespace },
  STATUS: { states: AUTHENTICATED, run: status },
  APPEND: { states: AUTHENTICATED, run: append },
  IDLE: { states: AUTHENTICATED, run: idle },
  CLOSE: { states: SELECTED, run: close },
  UNSELECT: { states: SELECTED, run: unselect },
  CHECK: { states: SELECTED, run: check },
  EXPUNGE: { states: SELECTED, run: expunge },
  SEARCH: { states: SELECTED, run: search },
  FETCH: { states: SELECTED, run: fetch },
  STORE: { states: SELECTED, run: store },
  COPY: { states: SELECTED, run: copyMove },
  MOVE: { states: SELECTED, run: copyMove },
};

/** Why `cmd` is not valid in `state` (RFC 9051 6: BAD), or null. */
export function stateRefusal(cmd: ImapCommandName, state: StateKind): string | null {
  const allowed = COMMAND_TABLE[cmd].states;
  if (allowed.includes(state)) return null;
  if (state === 'notAuthenticated') return `${cmd} needs a logged-in session: log in first`;
  if (allowed.length === 1 && allowed[0] === 'notAuthenticated') return `${cmd} is only valid before logging in; already logged in`;
  if (allowed.length === 1 && allowed[0] === 'selected') return `${cmd} needs a selected mailbox`;
  if (cmd === 'ENABLE') return 'ENABLE is only valid before a mailbox is selected (RFC 5161 3.1)';
  return `${cmd} is not valid now`;
}

/** Runs a command whose state was checked. */
export function runCommand(s: SessionApi, cmd: ImapCommand): Promise<void> | void {
  // The table is keyed by name and each entry takes exactly that command: the cast only widens the parameter.
  const entry = COMMAND_TABLE[cmd.name] as CommandEntry<ImapCommandName>;
  return entry.run(s, cmd);
}
