/**
 * ID (RFC 2971 3.1, 4):
 *
 *   id             = "ID" SP id-params-list
 *   id-params-list = "(" *(string SP nstring) ")" / nil
 *
 * Field names and values are informational: decoded as UTF-8 with
 * replacement characters rather than refused. RFC 2971 3.3's limits (30
 * pairs, 30-octet names, 1024-octet values) bind the client; the command
 * size limit bounds what we keep.
 */
import { nstring, string } from './primitives.ts';
import type { Scanner } from './scanner.ts';

export interface IdCommand {
  readonly name: 'ID';
  readonly tag: string;
  /** Field/value pairs in order; null for `ID NIL`. */
  readonly params: ReadonlyArray<readonly [string, string | null]> | null;
}

const LOSSY = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

export function id(s: Scanner, tag: string): IdCommand {
  s.sp();
  if (s.eatKeyword('NIL')) return { name: 'ID', tag, params: null };
  s.expect(0x28, '"(" or NIL');
  const params: (readonly [string, string | null])[] = [];
  if (!s.eat(0x29)) {
    for (;;) {
      const field = LOSSY.decode(string(s, 'an ID field name'));
      s.sp();
      const value = nstring(s, 'an ID value or NIL');
      params.push([field, value === null ? null : LOSSY.decode(value)]);
      if (s.eat(0x29)) break;
      s.sp('SP or ")" in ID parameters');
    }
  }
  return { name: 'ID', tag, params };
}
