/**
 * STATUS (RFC 9051 6.3.11):
 *
 *   status     = "STATUS" SP mailbox SP "(" status-att *(SP status-att) ")"
 *   status-att = "MESSAGES" / "UIDNEXT" / "UIDVALIDITY" / "UNSEEN" / "DELETED" / "SIZE"
 *              / "RECENT"                         IMAP4rev1 (RFC 3501 6.3.10)
 *              / "HIGHESTMODSEQ"                  RFC 7162 3.1.2
 *              / "APPENDLIMIT"                    RFC 7889 3
 *              / "MAILBOXID"                      RFC 8474 4.1
 *              / "DELETED-STORAGE"                RFC 9208 4.2.2
 *
 * SIZE is RFC 8438 (STATUS=SIZE), part of IMAP4rev2.
 */
import { mailbox, parenList } from './primitives.ts';
import type { Scanner } from './scanner.ts';

export const STATUS_ITEMS = [
  'MESSAGES',
  'UIDNEXT',
  'UIDVALIDITY',
  'UNSEEN',
  'DELETED',
  'SIZE',
  'RECENT',
  'HIGHESTMODSEQ',
  'APPENDLIMIT',
  'MAILBOXID',
  'DELETED-STORAGE',
] as const;

export type StatusItem = (typeof STATUS_ITEMS)[number];

export interface StatusCommand {
  readonly name: 'STATUS';
  readonly tag: string;
  readonly mailbox: string;
  /** In the order given, without repeats. */
  readonly items: readonly StatusItem[];
}

const KNOWN: ReadonlySet<string> = new Set(STATUS_ITEMS);

/** "(" status-att *(SP status-att) ")", also used by LIST RETURN (STATUS ...) (RFC 5819 2). */
export function statusItems(s: Scanner): StatusItem[] {
  const items = parenList(
    s,
    () => {
      const word = s.keyword();
      if (!KNOWN.has(word)) s.fail(word ? `Unknown STATUS item ${word}` : 'Expected a STATUS item');
      return word as StatusItem;
    },
    false,
    'STATUS items',
  );
  return [...new Set(items)];
}

export function status(s: Scanner, tag: string): StatusCommand {
  s.sp();
  const name = mailbox(s);
  s.sp();
  return { name: 'STATUS', tag, mailbox: name, items: statusItems(s) };
}
