/**
 * Commands that name mailboxes (RFC 9051 6.3.4-6.3.8):
 *
 *   create      = "CREATE" SP mailbox [create-params]          RFC 4466 2.2
 *   create-params = SP "(" create-param *(SP create-param) ")"
 *   create-param =/ "USE" SP "(" [use-attr *(SP use-attr)] ")"  RFC 6154 6 (CREATE-SPECIAL-USE)
 *   delete      = "DELETE" SP mailbox
 *   rename      = "RENAME" SP mailbox SP mailbox
 *   subscribe   = "SUBSCRIBE" SP mailbox
 *   unsubscribe = "UNSUBSCRIBE" SP mailbox
 *
 * Unknown CREATE parameters are a syntax error (RFC 4466 2.2).
 */
import { ATOM_CHAR } from './chars.ts';
import { mailbox, parenList } from './primitives.ts';
import type { Scanner } from './scanner.ts';

export interface CreateCommand {
  readonly name: 'CREATE';
  readonly tag: string;
  readonly mailbox: string;
  /** RFC 6154 3: special-use attributes (`\Drafts`...), canonical case for the known ones; null without USE. */
  readonly specialUse: readonly string[] | null;
}

export interface DeleteCommand {
  readonly name: 'DELETE' | 'SUBSCRIBE' | 'UNSUBSCRIBE';
  readonly tag: string;
  readonly mailbox: string;
}

export interface RenameCommand {
  readonly name: 'RENAME';
  readonly tag: string;
  readonly from: string;
  readonly to: string;
}

/** RFC 6154 2 special-use attributes. */
const SPECIAL_USE = new Map(
  ['\\All', '\\Archive', '\\Drafts', '\\Flagged', '\\Junk', '\\Sent', '\\Trash'].map((a) => [a.toUpperCase(), a]),
);

/** use-attr = "\All" / ... / use-attr-ext (use-attr-ext = "\" atom). */
export function useAttr(s: Scanner): string {
  s.expect(0x5c, 'a special-use attribute ("\\Sent", ...)');
  const name = s.take(ATOM_CHAR).toString('latin1');
  if (name === '') s.fail('Expected a special-use attribute name');
  const full = `\\${name}`;
  return SPECIAL_USE.get(full.toUpperCase()) ?? full;
}

export function create(s: Scanner, tag: string): CreateCommand {
  s.sp();
  const name = mailbox(s);
  const params: { specialUse: string[] | null } = { specialUse: null };
  if (s.eat(0x20)) {
    parenList(
      s,
      () => {
        if (s.keyword() !== 'USE') s.fail('Unknown CREATE parameter');
        if (params.specialUse) s.fail('USE given twice');
        s.sp();
        params.specialUse = parenList(s, () => useAttr(s), true, 'special-use list');
      },
      false,
      'CREATE parameters',
    );
  }
  return { name: 'CREATE', tag, mailbox: name, specialUse: params.specialUse };
}

export function oneMailbox(name: DeleteCommand['name']) {
  return (s: Scanner, tag: string): DeleteCommand => {
    s.sp();
    return { name, tag, mailbox: mailbox(s) };
  };
}

export function rename(s: Scanner, tag: string): RenameCommand {
  s.sp();
  const from = mailbox(s);
  s.sp();
  const to = mailbox(s);
  return { name: 'RENAME', tag, from, to };
}
