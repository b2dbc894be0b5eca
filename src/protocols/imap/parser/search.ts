/**
 * SEARCH and UID SEARCH (RFC 9051 6.4.4; ESEARCH RETURN options RFC 4731 3,
 * SAVE RFC 5182 2):
 *
 *   search             = "SEARCH" [search-return-opts] SP search-program
 *   search-return-opts = SP "RETURN" SP "(" [search-return-opt *(SP search-return-opt)] ")"
 *   search-return-opt  = "MIN" / "MAX" / "ALL" / "COUNT" / "SAVE"
 *   search-program     = ["CHARSET" SP charset SP] search-key *(SP search-key)
 *
 * Search strings are decoded in the CHARSET given: US-ASCII and UTF-8 always
 * (RFC 9051 6.4.4), others as far as the runtime's TextDecoder knows them.
 * An unknown charset is `NO [BADCHARSET]`, not BAD (RFC 9051 6.4.4).
 * Without CHARSET strings must be UTF-8 (US-ASCII is a subset).
 */
import { asciiUpper } from './chars.ts';
import { ParseError } from './errors.ts';
import { astring, parenList } from './primitives.ts';
import type { Scanner } from './scanner.ts';
import { allOf, searchKey, type SearchKey, type SearchTextDecoder } from './search-keys.ts';

export type * from './search-keys.ts';

export const SEARCH_RETURN_OPTIONS = ['MIN', 'MAX', 'ALL', 'COUNT', 'SAVE'] as const;
export type SearchReturnOption = (typeof SEARCH_RETURN_OPTIONS)[number];

export interface SearchCommand {
  readonly name: 'SEARCH';
  readonly tag: string;
  /** UID SEARCH: results are UIDs (the keys' sets are typed on their own). */
  readonly uid: boolean;
  /** The CHARSET named, upper case; null when none was. */
  readonly charset: string | null;
  /**
   * RETURN options in the order given without repeats; null without RETURN
   * (an untagged SEARCH reply); `[]` for `RETURN ()`, which means ALL (RFC 4731 3.1).
   */
  readonly returnOptions: readonly SearchReturnOption[] | null;
  /** All keys of the command (their AND when more than one). */
  readonly criteria: SearchKey;
}

const RETURN_SET: ReadonlySet<string> = new Set(SEARCH_RETURN_OPTIONS);
const UTF8_LABELS = new Set(['UTF-8', 'UTF8', 'US-ASCII', 'ASCII']);

function decoderFor(s: Scanner, charset: string | null): SearchTextDecoder {
  const decoder = (() => {
    try {
      return new TextDecoder(charset === null || UTF8_LABELS.has(charset) ? 'utf-8' : charset, { fatal: true, ignoreBOM: true });
    } catch {
      throw new ParseError(s.tag, `Charset ${charset ?? ''} is not supported`, 'NO', 'BADCHARSET');
    }
  })();
  return (sc, bytes, what) => {
    try {
      return decoder.decode(bytes);
    } catch {
      return sc.fail(`Invalid ${charset ?? 'UTF-8'} in ${what}`);
    }
  };
}

export function search(s: Scanner, tag: string, uid: boolean): SearchCommand {
  s.sp();
  let returnOptions: SearchReturnOption[] | null = null;
  if (s.eatKeyword('RETURN')) {
    s.sp();
    const opts = parenList(
      s,
      () => {
        const word = s.keyword();
        if (!RETURN_SET.has(word)) s.fail(word ? `Unknown SEARCH return option ${word}` : 'Expected a SEARCH return option');
        return word as SearchReturnOption;
      },
      true,
      'SEARCH return options',
    );
    returnOptions = [...new Set(opts)];
    s.sp();
  }
  let charset: string | null = null;
  if (s.eatKeyword('CHARSET')) {
    s.sp();
    charset = asciiUpper(astring(s, 'a charset name').toString('latin1'));
    s.sp();
  }
  const text = decoderFor(s, charset);
  const keys = [searchKey(s, text)];
  while (s.eat(0x20)) keys.push(searchKey(s, text));
  return { name: 'SEARCH', tag, uid, charset, returnOptions, criteria: allOf(keys) };
}
