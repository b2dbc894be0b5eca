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

const WORD = /[\p{L}\p{N}\p{M}]+/gu;
const MAX_POSITION = 16383;
const MAX_POSITIONS_PER_WORD = 256;
const MAX_WORD_OCTETS = 2046;

function fits(word: string): boolean {
  // Most words are short: count octets only when they could be too long.
  return word.length * 3 <= MAX_WORD_OCTETS || Buffer.byteLength(word, 'utf8') <= MAX_WORD_OCTETS;
}

/** The words of `text`, lower-cased, in order. */
export function searchWords(text: string): string[] {
  const out: string[] = [];
  for (const m of text.toLowerCase().matchAll(WORD)) if (fits(m[0])) out.push(m[0]);
  return out;
}

/** `text` as a tsvector literal: each word quoted, with its positions ('word':1,5 ...). */
export function searchVector(text: string): string {
  const positions = new Map<string, number[]>();
  let at = 0;
  for (const word of searchWords(text)) {
    at = Math.min(at + 1, MAX_POSITION);
    const list = positions.get(word);
    if (!list) positions.set(word, [at]);
    else if (list.length < MAX_POSITIONS_PER_WORD && list[list.length - 1] !== at) list.push(at);
  }
  const parts: string[] = [];
  // Words hold no quote or backslash (letters, digits, marks only): no escaping needed.
  for (const [word, list] of positions) parts.push(`'${word}':${list.join(',')}`);
  return parts.join(' ');
}

/**
 * A SEARCH string as a tsquery literal: its words as a phrase, each a prefix
 * ('hello':* <-> 'wor':*). Null when it has no word (or one too long to index).
 */
export function searchQuery(value: string): string | null {
  const words = value.toLowerCase().match(WORD) ?? [];
  if (words.length === 0 || !words.every(fits)) return null;
  return words.map((w) => `'${w}':*`).join(' <-> ');
}
