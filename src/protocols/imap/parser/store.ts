/**
 * STORE (RFC 9051 6.4.6; UNCHANGEDSINCE: RFC 7162 3.1.3), and UID STORE:
 *
 *   store           = "STORE" SP sequence-set [store-modifiers] SP store-att-flags
 *   store-modifiers = SP "(" store-modifier *(SP store-modifier) ")"     RFC 4466 2.5
 *   store-modifier  = "UNCHANGEDSINCE" SP mod-sequence-valzer
 *   store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP (flag-list / (flag *(SP flag)))
 *
 * Unknown modifiers are a syntax error (RFC 4466 2.5).
 */
import { dedupe, flag, flagList } from './flags.ts';
import { numberedSet, type Numbered } from './numbered.ts';
import { modSequence, parenList } from './primitives.ts';
import type { Scanner } from './scanner.ts';

export type StoreCommand = {
  readonly name: 'STORE';
  readonly tag: string;
  /** FLAGS replaces, +FLAGS adds, -FLAGS removes. */
  readonly operation: 'replace' | 'add' | 'remove';
  /** .SILENT: no untagged FETCH for the change (RFC 9051 6.4.6). */
  readonly silent: boolean;
  readonly flags: readonly string[];
  /** RFC 7162 3.1.3 UNCHANGEDSINCE; 0 is allowed (mod-sequence-valzer). */
  readonly unchangedSince: bigint | null;
} & Numbered;

export function store(s: Scanner, tag: string, uid: boolean): StoreCommand {
  const numbered = numberedSet(s, uid);
  s.sp();
  const mods: { unchangedSince: bigint | null } = { unchangedSince: null };
  if (s.peek() === 0x28) {
    parenList(
      s,
      () => {
        if (s.keyword() !== 'UNCHANGEDSINCE' || mods.unchangedSince !== null) s.fail('Unknown or repeated STORE modifier');
        s.sp();
        mods.unchangedSince = modSequence(s, 'UNCHANGEDSINCE', true);
      },
      false,
      'STORE modifiers',
    );
    s.sp();
  }
  const operation = s.eat(0x2b) ? 'add' : s.eat(0x2d) ? 'remove' : 'replace';
  const item = s.keyword();
  if (item !== 'FLAGS' && item !== 'FLAGS.SILENT') s.fail('Expected FLAGS, +FLAGS or -FLAGS');
  s.sp();
  let flags: string[];
  if (s.peek() === 0x28) {
    flags = flagList(s);
  } else {
    flags = [flag(s)];
    while (s.eat(0x20)) flags.push(flag(s));
    flags = dedupe(flags);
  }
  return { name: 'STORE', tag, operation, silent: item === 'FLAGS.SILENT', flags, unchangedSince: mods.unchangedSince, ...numbered };
}
