/**
 * Domain errors (src/lib/errors.ts: they carry no protocol codes) to IMAP
 * responses, in one table. A handler that throws one of these gets the
 * tagged NO below; anything else is a server error: logged with its stack,
 * answered `NO [SERVERBUG]` (mox's "one recovery point per command").
 */
import {
  AlreadyExistsError, InUseError, InvalidInputError, NotFoundError, QuotaExceededError, SpecialUseError, type TeguError,
} from '../../lib/errors.ts';
import { CODE } from './responses.ts';

export interface ErrorResponse {
  readonly status: 'NO';
  readonly code: string;
  readonly text: string;
}

const TABLE: readonly [new (...args: never[]) => TeguError, string, string][] = [
  [NotFoundError, CODE.NONEXISTENT, 'No such mailbox'],
  [AlreadyExistsError, CODE.ALREADYEXISTS, 'Mailbox already exists'],
  [QuotaExceededError, CODE.OVERQUOTA, 'Over quota'],
  [SpecialUseError, CODE.USEATTR, 'Special-use attribute not supported'],
  [InUseError, CODE.INUSE, 'In use, try again later'],
  // The message of an InvalidInputError says what was wrong; it may quote the client's input (safeText keeps it one line).
  [InvalidInputError, CODE.CANNOT, ''],
];

/** The response for a domain error, or undefined for anything else (a bug or an outage). */
export function domainErrorResponse(err: unknown): ErrorResponse | undefined {
  for (const [type, code, text] of TABLE) {
    if (err instanceof type) return { status: 'NO', code, text: text || (err as Error).message };
  }
  return undefined;
}
