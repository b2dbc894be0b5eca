/**
 * The typed commands parseCommand produces: a union discriminated by `name`.
 * Handlers switch on it and never look at the wire text. Commands on
 * messages carry `uid` and a set typed by it (numbered.ts).
 */
import type { AppendCommand } from './append.ts';
import type { AuthenticateCommand, EnableCommand, LoginCommand } from './auth.ts';
import type { CopyCommand } from './copy-move.ts';
import type { ExpungeCommand } from './expunge.ts';
import type { FetchCommand } from './fetch.ts';
import type { IdCommand } from './id.ts';
import type { ListCommand, LsubCommand } from './list.ts';
import type { CreateCommand, DeleteCommand, RenameCommand } from './mailboxes.ts';
import type { SearchCommand } from './search.ts';
import type { SelectCommand } from './select.ts';
import type { SimpleCommand } from './simple.ts';
import type { StatusCommand } from './status.ts';
import type { StoreCommand } from './store.ts';

export type { AppendCommand, AppendData, AppendMessage } from './append.ts';
export type { AuthenticateCommand, EnableCommand, LoginCommand } from './auth.ts';
export type { CopyCommand } from './copy-move.ts';
export type { ImapDate, ImapDateTime } from './date.ts';
export type { ExpungeCommand } from './expunge.ts';
export type { BodySection, FetchAttribute, FetchCommand, Partial, SectionText, SimpleFetchItem } from './fetch.ts';
export type { IdCommand } from './id.ts';
export type { ListCommand, ListReturn, ListSelection, LsubCommand } from './list.ts';
export type { CreateCommand, DeleteCommand, RenameCommand } from './mailboxes.ts';
export type { Numbered } from './numbered.ts';
export type { ModSeqEntry, SearchCommand, SearchKey, SearchReturnOption } from './search.ts';
export type { QresyncParams, SelectCommand } from './select.ts';
export type { SeqBound, SeqRange, SequenceSet } from './sequence-set.ts';
export type { SimpleCommand, SimpleCommandName } from './simple.ts';
export type { StatusCommand, StatusItem } from './status.ts';
export type { StoreCommand } from './store.ts';

export type ImapCommand =
  | SimpleCommand
  | LoginCommand
  | AuthenticateCommand
  | EnableCommand
  | IdCommand
  | SelectCommand
  | CreateCommand
  | DeleteCommand
  | RenameCommand
  | ListCommand
  | LsubCommand
  | StatusCommand
  | AppendCommand
  | ExpungeCommand
  | SearchCommand
  | FetchCommand
  | StoreCommand
  | CopyCommand;

export type ImapCommandName = ImapCommand['name'];
