/**
 * The limits of the command reader (reader.ts), with their defaults. Every
 * one is checked before the bytes it bounds are read.
 */

/** RFC 7888 5: with LITERAL-, non-synchronizing literals are at most 4096 octets. */
export const LITERAL_MINUS_MAX = 4096;

export interface ReaderLimits {
  /** Longest line piece in octets, line ending included, literals excluded. */
  readonly maxLineBytes: number;
  /** One command's text plus its buffered (string) literals. */
  readonly maxCommandBytes: number;
  /** Largest string literal (held in memory). */
  readonly maxStringLiteral: number;
  /** Largest APPEND message literal (streamed): the advertised APPENDLIMIT (RFC 7889). */
  readonly maxMessageLiteral: number;
  /** Octets of refused non-synchronizing literals skipped per command before giving up on the connection. */
  readonly maxDiscardBytes: number;
  /** Literals per command (MULTIAPPEND messages included). */
  readonly maxLiterals: number;
  /** `LITERAL+` (any size, RFC 7888 3) or `LITERAL-` (at most 4096 octets, RFC 7888 5). */
  readonly nonSyncLiterals: 'LITERAL+' | 'LITERAL-';
}

export const DEFAULT_READER_LIMITS: ReaderLimits = {
  maxLineBytes: 64 * 1024,
  maxCommandBytes: 1024 * 1024,
  maxStringLiteral: 64 * 1024,
  maxMessageLiteral: 50 * 1024 * 1024,
  maxDiscardBytes: 64 * 1024 * 1024,
  maxLiterals: 1000,
  nonSyncLiterals: 'LITERAL-',
};

/** Fills in defaults and checks the values. */
export function checkLimits(given: Partial<ReaderLimits>, base: ReaderLimits = DEFAULT_READER_LIMITS): ReaderLimits {
  const l: ReaderLimits = { ...base, ...given };
  for (const key of ['maxLineBytes', 'maxCommandBytes', 'maxStringLiteral', 'maxMessageLiteral', 'maxDiscardBytes', 'maxLiterals'] as const) {
    const v = l[key];
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${key} must be a non-negative integer`);
  }
  if (l.maxLineBytes < 2) throw new RangeError('maxLineBytes must be at least 2');
  return l;
}
