/**
 * The words of a message's search text and of a SEARCH BODY / TEXT string,
 * split the same way here in the node, as PostgreSQL tsvector and tsquery
 * literals (migration 0007): the store then only parses a literal instead
 * of running to_tsvector, which cost about 0.75 ms of database CPU per 4 KB
 * of text, the largest part of storing a message.
 *
 * A word is a run of letters, digits and combining marks (Unicode L, N, M),
 * lower-cased: "Alice.Martin@partner.example" is the words alice, martin,
 * partner, example at consecutive positions, so a search for the address is
 * the phrase of those words. A search word matches as a prefix (IMAP SEARCH
 * matches substrings; a word index can offer prefixes).
 *
 * Limits as PostgreSQL applies them: positions from 1 up to 16383 (later
 * words all get 16383), at most 256 positions per word, words of 2047 octets
 * or more are left out.
 */

/** One character (a code point, so a surrogate pair too) that belongs to a word. */
const WORD_CHAR = /^[\p{L}\p{N}\p{M}]$/u;
const MAX_POSITION = 16383;
const MAX_POSITIONS_PER_WORD = 256;
const MAX_WORD_OCTETS = 2046;

/**
 * Whether each UTF-16 code unit outside the surrogates is a word character:
 * 0 not decided yet, 1 yes, 2 no. ASCII is filled here; the rest on first
 * sight (WORD_CHAR), so the scan below runs a regular expression once per
 * distinct character rather than per match (a 4 KB message is split at
 * every append: the regular expression and its match objects were most of
 * that cost).
 */
const UNIT_CLASS = new Uint8Array(0x10000);
for (let c = 0; c < 0x80; c++) UNIT_CLASS[c] = (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) ? 1 : 2;

/** Code units taken by the word character at `i` of `s` (1, or 2 for a surrogate pair), 0 when it is not one. */
function wordCharAt(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdfff) {
    const cp = s.codePointAt(i)!;
    const width = cp > 0xffff ? 2 : 1;
    return WORD_CHAR.test(String.fromCodePoint(cp)) ? width : 0;
  }
  let k = UNIT_CLASS[c]!;
  if (k === 0) UNIT_CLASS[c] = k = WORD_CHAR.test(s[i]!) ? 1 : 2;
  return k === 1 ? 1 : 0;
}

/** Calls `each` with the runs of word characters of `s` in order (the matches of /[\p{L}\p{N}\p{M}]+/gu, without a regular expression per run). */
function eachWord(s: string, each: (word: string) => void): void {
  const n = s.length;
  let i = 0;
  while (i < n) {
    let w = wordCharAt(s, i);
    if (w === 0) {
      i++;
      continue;
    }
    const start = i;
    do i += w;
    while (i < n && (w = wordCharAt(s, i)) !== 0);
    each(s.slice(start, i));
  }
}

function fits(word: string): boolean {
  // Most words are short: count octets only when they could be too long.
  return word.length * 3 <= MAX_WORD_OCTETS || Buffer.byteLength(word, 'utf8') <= MAX_WORD_OCTETS;
}

/** The words of `text`, lower-cased, in order. */
export function searchWords(text: string): string[] {
  const out: string[] = [];
  eachWord(text.toLowerCase(), (w) => {
    if (fits(w)) out.push(w);
  });
  return out;
}

/** `text` as a tsvector literal: each word quoted, with its positions ('word':1,5 ...). */
export function searchVector(text: string): string {
  const positions = new Map<string, number[]>();
  let at = 0;
  eachWord(text.toLowerCase(), (word) => {
    if (!fits(word)) return;
    at = Math.min(at + 1, MAX_POSITION);
    const list = positions.get(word);
    if (!list) positions.set(word, [at]);
    else if (list.length < MAX_POSITIONS_PER_WORD && list[list.length - 1] !== at) list.push(at);
  });
  let out = '';
  // Words hold no quote or backslash (letters, digits, marks only): no escaping needed.
  for (const [word, list] of positions) out += `${out === '' ? '' : ' '}'${word}':${list.join(',')}`;
  return out;
}

/**
 * A SEARCH string as a tsquery literal: its words as a phrase, each a prefix
 * ('hello':* <-> 'wor':*). Null when it has no word (or one too long to index).
 */
export function searchQuery(value: string): string | null {
  const words: string[] = [];
  eachWord(value.toLowerCase(), (w) => words.push(w));
  if (words.length === 0 || !words.every(fits)) return null;
  return words.map((w) => `'${w}':*`).join(' <-> ');
}
