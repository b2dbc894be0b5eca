/**
 * Which names LIST and LSUB return, with which attributes: a pure function
 * of the account's mailbox tree (core/mailbox-tree.ts TreeEntry) and the
 * command. RFC 9051 6.3.9 and 7.3.1; LIST-EXTENDED RFC 5258 3-4; CHILDREN
 * RFC 3348; SPECIAL-USE RFC 6154 2-3; LSUB RFC 3501 6.3.9.
 *
 * A name is returned when it matches a pattern (reference and pattern joined,
 * "*" and "%" wildcards: core/mailbox-names.ts matchMailboxPattern) and
 *  - without selection options: a mailbox exists under it, or one exists
 *    below it (then it is listed \NonExistent, RFC 9051 7.3.1: the client
 *    sees the tree; IMAP4rev1 clients without the extended form see
 *    \Noselect, which \NonExistent implies);
 *  - (SUBSCRIBED): it is subscribed, existing or not (RFC 5258 3.1);
 *  - (SPECIAL-USE): its mailbox has a special use (RFC 6154 3);
 *  - with RECURSIVEMATCH also when a name below it satisfies the selection
 *    but does not match the pattern: then with CHILDINFO (RFC 5258 3.5).
 *
 * Attributes: \NonExistent / \Noselect, \HasChildren / \HasNoChildren
 * (always: cheap, and RFC 3348 allows it), the special use (always, RFC 6154
 * 2 allows it), \Subscribed when asked for (RETURN (SUBSCRIBED) or the
 * SUBSCRIBED selection, RFC 5258 3.2).
 */
import { matchMailboxPattern } from '../../../core/mailbox-names.ts';
import type { ListCommand } from '../parser/index.ts';
import type { TreeEntry } from '../services.ts';

export interface ListedName {
  name: string;
  attributes: string[];
  /** CHILDINFO extended data (RFC 5258 3.5): the selection options some child satisfies. */
  childInfo: string[];
  /** The mailbox under the name, when one exists (LIST-STATUS returns its STATUS). */
  entry: TreeEntry;
}

/** The canonical pattern: the reference prepended to the mailbox argument (RFC 9051 6.3.9). */
export function canonicalPattern(reference: string, pattern: string): string {
  return reference + pattern;
}

/** The names below `name` (a scan: only RECURSIVEMATCH needs it, and trees are small). */
function descendants(tree: readonly TreeEntry[], name: string): TreeEntry[] {
  const prefix = `${name}/`;
  return tree.filter((e) => e.name.startsWith(prefix));
}

export function selectList(tree: readonly TreeEntry[], cmd: ListCommand, rev2: boolean): ListedName[] {
  const sel = cmd.selection;
  const patterns = cmd.patterns.map((p) => canonicalPattern(cmd.reference, p)).filter((p) => p !== '');
  const matches = (name: string): boolean => patterns.some((p) => matchMailboxPattern(name, p));
  const filtered = sel.subscribed || sel.specialUse;
  const satisfies = (e: TreeEntry): boolean => {
    if (!filtered) return e.mailbox !== null || e.hasChildren;
    return (!sel.subscribed || e.subscribed) && (!sel.specialUse || (e.mailbox?.specialUse ?? null) !== null);
  };
  const childInfoOptions = [...(sel.subscribed ? ['SUBSCRIBED'] : []), ...(sel.specialUse ? ['SPECIAL-USE'] : [])];
  const showSubscribed = cmd.returns.subscribed || sel.subscribed;
  const nonExistent = cmd.extended || rev2 ? '\\NonExistent' : '\\Noselect';
  const out: ListedName[] = [];
  for (const e of tree) {
    if (!matches(e.name)) continue;
    const selected = satisfies(e);
    const childMatch = sel.recursiveMatch && descendants(tree, e.name).some((d) => satisfies(d) && !matches(d.name));
    if (!selected && !childMatch) continue;
    const attributes: string[] = [];
    if (e.mailbox === null) attributes.push(nonExistent);
    attributes.push(e.hasChildren ? '\\HasChildren' : '\\HasNoChildren');
    if (e.mailbox?.specialUse) attributes.push(e.mailbox.specialUse);
    if (showSubscribed && e.subscribed) attributes.push('\\Subscribed');
    out.push({ name: e.name, attributes, childInfo: childMatch ? childInfoOptions : [], entry: e });
  }
  return out;
}

/**
 * LSUB (RFC 3501 6.3.9): subscribed names that match, existing or not (a
 * subscription outlives its mailbox: \Noselect then); with "%" at the end of
 * the pattern also the unsubscribed levels above subscribed names, \Noselect.
 */
export function selectLsub(tree: readonly TreeEntry[], reference: string, pattern: string): ListedName[] {
  const p = canonicalPattern(reference, pattern);
  const out: ListedName[] = [];
  for (const e of tree) {
    if (!matchMailboxPattern(e.name, p)) continue;
    const placeholder = !e.subscribed && e.childSubscribed && p.endsWith('%');
    if (!e.subscribed && !placeholder) continue;
    out.push({ name: e.name, attributes: e.mailbox === null || placeholder ? ['\\Noselect'] : [], childInfo: [], entry: e });
  }
  return out;
}
