/**
 * Body sections and partial ranges of FETCH (RFC 9051 6.4.5, 9; BINARY: RFC 3516 4.1):
 *
 *   section         = "[" [section-spec] "]"
 *   section-spec    = section-msgtext / (section-part ["." section-text])
 *   section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list / "TEXT"
 *   section-part    = nz-number *("." nz-number)
 *   section-text    = section-msgtext / "MIME"
 *   header-list     = "(" header-fld-name *(SP header-fld-name) ")"
 *   section-binary  = "[" [section-part] "]"
 *   partial         = "<" number64 "." nz-number64 ">"
 */
import { astring, nzNumber, number64Clamped } from './primitives.ts';
import type { Scanner } from './scanner.ts';

export type SectionText =
  | { readonly kind: 'HEADER' | 'TEXT' | 'MIME' }
  | { readonly kind: 'HEADER.FIELDS' | 'HEADER.FIELDS.NOT'; readonly fields: readonly string[] };

export interface BodySection {
  /** Part numbers, [] for the whole message (RFC 9051 6.4.5). */
  readonly part: readonly number[];
  /** What of the part: null for all of it. MIME only with a part number. */
  readonly text: SectionText | null;
}

/** `<offset.length>`; values beyond 2^53-1 are clamped (nothing is that large). */
export interface Partial {
  readonly offset: number;
  readonly length: number;
}

const DOT = 0x2e;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
/** RFC 5322 3.6.8 field name. */
const FIELD_NAME = /^[\x21-\x39\x3b-\x7e]+$/;

/** section-part: nz-number *("." nz-number), stopping before "." + a letter. */
function sectionPart(s: Scanner): number[] {
  const part = [nzNumber(s, 'part number')];
  while (s.peek() === DOT && s.peekAt(1) >= 0x30 && s.peekAt(1) <= 0x39) {
    s.skip();
    part.push(nzNumber(s, 'part number'));
  }
  return part;
}

function headerList(s: Scanner): string[] {
  s.expect(0x28, '"(" to open the header field list');
  const fields: string[] = [];
  for (;;) {
    const name = astring(s, 'a header field name').toString('latin1');
    if (!FIELD_NAME.test(name)) s.fail('Invalid header field name');
    fields.push(name);
    if (s.eat(0x29)) return fields;
    s.sp('SP or ")" in the header field list');
  }
}

function sectionText(s: Scanner, afterPart: boolean): SectionText {
  const word = s.keyword();
  switch (word) {
    case 'HEADER':
    case 'TEXT':
      return { kind: word };
    case 'MIME':
      if (!afterPart) s.fail('MIME needs a part number (RFC 9051 6.4.5)');
      return { kind: word };
    case 'HEADER.FIELDS':
    case 'HEADER.FIELDS.NOT':
      s.sp();
      return { kind: word, fields: headerList(s) };
    default:
      return s.fail('Invalid section: expected HEADER, HEADER.FIELDS, TEXT or MIME');
  }
}

/** section = "[" [section-spec] "]" */
export function section(s: Scanner): BodySection {
  s.expect(LBRACKET, '"["');
  if (s.eat(RBRACKET)) return { part: [], text: null };
  let part: number[] = [];
  let text: SectionText | null = null;
  const b = s.peek();
  if (b >= 0x30 && b <= 0x39) {
    part = sectionPart(s);
    if (s.eat(DOT)) text = sectionText(s, true);
  } else {
    text = sectionText(s, false);
  }
  s.expect(RBRACKET, '"]" to close the section');
  return { part, text };
}

/** section-binary = "[" [section-part] "]" */
export function sectionBinary(s: Scanner): number[] {
  s.expect(LBRACKET, '"["');
  if (s.eat(RBRACKET)) return [];
  const part = sectionPart(s);
  s.expect(RBRACKET, '"]" to close the section (BINARY takes part numbers only)');
  return part;
}

/** [partial]: "<" number64 "." nz-number64 ">" when "<" follows. */
export function partial(s: Scanner): Partial | null {
  if (!s.eat(0x3c)) return null;
  const offset = number64Clamped(s, 'partial offset');
  s.expect(DOT, '"." in partial range');
  const length = number64Clamped(s, 'partial length');
  if (length === 0) s.fail('Partial length must not be zero');
  s.expect(0x3e, '">" to close the partial range');
  return { offset, length };
}
