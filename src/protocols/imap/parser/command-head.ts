/**
 * What the reader needs to know about a command before its grammar runs: the
 * tag (for error replies) and the command name (to tell APPEND message data,
 * which is streamed, from string literals, which are buffered).
 */
import { asciiUpper, tagOf } from './chars.ts';

export interface CommandHead {
  readonly tag: string | null;
  /** Upper-case command name, `UID FETCH` for UID commands; null when unreadable. */
  readonly name: string | null;
  /** Offset just past `name SP` in the first line (where the arguments start). */
  readonly argsAt: number;
}

const NAME = /^([A-Za-z]{1,32})(?: ([A-Za-z]{1,32}))?/;

export function commandHeadOf(firstLine: Buffer): CommandHead {
  const tag = tagOf(firstLine);
  if (tag === null || firstLine[tag.length] !== 0x20) return { tag, name: null, argsAt: 0 };
  const rest = firstLine.toString('latin1', tag.length + 1, Math.min(firstLine.length, tag.length + 1 + 70));
  const m = NAME.exec(rest);
  if (!m) return { tag, name: null, argsAt: 0 };
  const first = asciiUpper(m[1]!);
  const uid = first === 'UID' && m[2] !== undefined;
  const name = uid ? `UID ${asciiUpper(m[2]!)}` : first;
  const nameLength = uid ? m[0].length : m[1]!.length;
  return { tag, name, argsAt: tag.length + 1 + nameLength + 1 };
}

/**
 * `message`: APPEND message data (RFC 9051 6.3.12; MULTIAPPEND RFC 3502;
 * UTF8 (~{n}) RFC 6855 4), bounded by APPENDLIMIT and streamed. `string`:
 * any other literal, a string argument bounded by a small limit and buffered.
 * In APPEND only the first argument, the mailbox name, is a string: a literal
 * is the mailbox when it comes right after `APPEND SP`.
 */
export type LiteralRole = 'message' | 'string';

export function literalRole(head: CommandHead, literalIndex: number, firstPieceLength: number): LiteralRole {
  if (head.name !== 'APPEND') return 'string';
  return literalIndex === 0 && firstPieceLength === head.argsAt ? 'string' : 'message';
}
