/**
 * LIST and LSUB (RFC 9051 6.3.9; LIST-EXTENDED RFC 5258; LIST-STATUS RFC
 * 5819; SPECIAL-USE RFC 6154; LSUB: RFC 3501 6.3.9):
 *
 *   list             = "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat [SP list-return-opts]
 *   mbox-or-pat      = list-mailbox / patterns
 *   patterns         = "(" list-mailbox *(SP list-mailbox) ")"
 *   list-mailbox     = 1*list-char / string
 *   list-select-opts = "(" [ (*(list-select-mod-opt SP) list-select-base-opt *(SP list-select-opt))
 *                          / (list-select-independent-opt *(SP list-select-independent-opt)) ] ")"
 *     base: SUBSCRIBED, SPECIAL-USE (RFC 6154 3); modifier: RECURSIVEMATCH; independent: REMOTE
 *   list-return-opts = "RETURN" SP "(" [return-option *(SP return-option)] ")"
 *   return-option    = "SUBSCRIBED" / "CHILDREN" / "SPECIAL-USE" / "STATUS" SP "(" status-att ... ")"
 *   lsub             = "LSUB" SP mailbox SP list-mailbox
 *
 * Unknown selection or return options are a syntax error, as is
 * RECURSIVEMATCH without a base option (RFC 5258 3.1, 3.2).
 */
import { LIST_CHAR } from './chars.ts';
import { decodeMailboxName } from './mailbox-name.ts';
import { mailbox, parenList, string } from './primitives.ts';
import { LITERAL, type Scanner } from './scanner.ts';
import { statusItems, type StatusItem } from './status.ts';

export interface ListSelection {
  readonly subscribed: boolean;
  readonly remote: boolean;
  readonly recursiveMatch: boolean;
  readonly specialUse: boolean;
}

export interface ListReturn {
  readonly subscribed: boolean;
  readonly children: boolean;
  readonly specialUse: boolean;
  /** RFC 5819: STATUS items to return with each listed mailbox; null when not asked. */
  readonly status: readonly StatusItem[] | null;
}

export interface ListCommand {
  readonly name: 'LIST';
  readonly tag: string;
  /** Reference name (RFC 9051 6.3.9), decoded; may be empty. */
  readonly reference: string;
  /** Mailbox patterns with "%" and "*" wildcards, decoded; "" asks for the hierarchy delimiter. */
  readonly patterns: readonly string[];
  /** The extended form was used (selection options, several patterns or RETURN): answer per RFC 5258. */
  readonly extended: boolean;
  readonly selection: ListSelection;
  readonly returns: ListReturn;
}

export interface LsubCommand {
  readonly name: 'LSUB';
  readonly tag: string;
  readonly reference: string;
  readonly pattern: string;
}

/** list-mailbox = 1*list-char / string, decoded like a mailbox name. */
function listMailbox(s: Scanner): string {
  const b = s.peek();
  const raw = b === 0x22 || b === LITERAL ? string(s, 'a mailbox pattern') : s.take(LIST_CHAR);
  if (raw.length === 0 && b !== 0x22 && b !== LITERAL) s.fail('Expected a mailbox pattern');
  const decoded = decodeMailboxName(raw, s.opts.utf8);
  if ('error' in decoded) return s.fail(decoded.error);
  return decoded.name;
}

function selectionOptions(s: Scanner): ListSelection {
  const sel = { subscribed: false, remote: false, recursiveMatch: false, specialUse: false };
  parenList(
    s,
    () => {
      const word = s.keyword();
      if (word === 'SUBSCRIBED') sel.subscribed = true;
      else if (word === 'REMOTE') sel.remote = true;
      else if (word === 'RECURSIVEMATCH') sel.recursiveMatch = true;
      else if (word === 'SPECIAL-USE') sel.specialUse = true;
      else s.fail(word ? `Unknown LIST selection option ${word}` : 'Expected a LIST selection option');
    },
    true,
    'LIST selection options',
  );
  if (sel.recursiveMatch && !sel.subscribed && !sel.specialUse) {
    s.fail('RECURSIVEMATCH needs another selection option (RFC 5258 3.1)');
  }
  return sel;
}

function returnOptions(s: Scanner): ListReturn {
  const ret: { subscribed: boolean; children: boolean; specialUse: boolean; status: StatusItem[] | null } = {
    subscribed: false,
    children: false,
    specialUse: false,
    status: null,
  };
  parenList(
    s,
    () => {
      const word = s.keyword();
      if (word === 'SUBSCRIBED') ret.subscribed = true;
      else if (word === 'CHILDREN') ret.children = true;
      else if (word === 'SPECIAL-USE') ret.specialUse = true;
      else if (word === 'STATUS') {
        s.sp();
        ret.status = [...new Set([...(ret.status ?? []), ...statusItems(s)])];
      } else s.fail(word ? `Unknown LIST return option ${word}` : 'Expected a LIST return option');
    },
    true,
    'LIST return options',
  );
  return ret;
}

const NO_SELECTION: ListSelection = { subscribed: false, remote: false, recursiveMatch: false, specialUse: false };
const NO_RETURN: ListReturn = { subscribed: false, children: false, specialUse: false, status: null };

export function list(s: Scanner, tag: string): ListCommand {
  s.sp();
  let extended = false;
  let selection = NO_SELECTION;
  if (s.peek() === 0x28) {
    selection = selectionOptions(s);
    extended = true;
    s.sp();
  }
  const reference = mailbox(s, 'a reference name');
  s.sp();
  let patterns: string[];
  if (s.peek() === 0x28) {
    patterns = parenList(s, () => listMailbox(s), false, 'mailbox patterns');
    extended = true;
  } else {
    patterns = [listMailbox(s)];
  }
  let returns = NO_RETURN;
  if (s.eat(0x20)) {
    if (!s.eatKeyword('RETURN')) s.fail('Expected RETURN');
    s.sp();
    returns = returnOptions(s);
    extended = true;
  }
  return { name: 'LIST', tag, reference, patterns, extended, selection, returns };
}

export function lsub(s: Scanner, tag: string): LsubCommand {
  s.sp();
  const reference = mailbox(s, 'a reference name');
  s.sp();
  return { name: 'LSUB', tag, reference, pattern: listMailbox(s) };
}
