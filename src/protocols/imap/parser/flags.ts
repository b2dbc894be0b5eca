/**
 * Flags (RFC 9051 2.3.2, 9):
 *
 *   flag           = "\Answered" / "\Flagged" / "\Deleted" / "\Seen" / "\Draft" /
 *                    flag-keyword / flag-extension
 *   flag-extension = "\" atom
 *   flag-keyword   = "$MDNSent" / "$Forwarded" / ... / atom
 *   flag-list      = "(" [flag *(SP flag)] ")"
 *
 * System flags come back in their canonical case (`\seen` is `\Seen`, flags
 * are case-insensitive); keywords keep the client's spelling.
 */
import { ATOM_CHAR } from './chars.ts';
import { parenList } from './primitives.ts';
import type { Scanner } from './scanner.ts';

const BACKSLASH = 0x5c;

const SYSTEM_FLAGS = new Map(
  ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft', '\\Recent'].map((f) => [f.toUpperCase(), f]),
);

/** One flag: a keyword, a system flag or a flag-extension. */
export function flag(s: Scanner): string {
  const system = s.eat(BACKSLASH);
  const name = s.take(ATOM_CHAR).toString('latin1');
  if (name === '') s.fail(system ? 'Expected a flag name after "\\"' : 'Expected a flag');
  if (!system) return name;
  const full = `\\${name}`;
  return SYSTEM_FLAGS.get(full.toUpperCase()) ?? full;
}

/** flag-list = "(" [flag *(SP flag)] ")", duplicates removed. */
export function flagList(s: Scanner): string[] {
  return dedupe(parenList(s, () => flag(s), true, 'flag list'));
}

/** Removes repeated flags (ASCII case-insensitively), keeping the first spelling. */
export function dedupe(flags: string[]): string[] {
  const seen = new Set<string>();
  return flags.filter((f) => {
    const key = f.toUpperCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
