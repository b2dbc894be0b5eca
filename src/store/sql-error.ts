/**
 * Database errors, the same on both engines: PostgreSQL's SQLSTATE in `code`
 * (https://www.postgresql.org/docs/current/errcodes-appendix.html).
 */
export interface SqlErrorLike {
  code?: string;
  constraint?: string;
  constraint_name?: string;
}

export const UNIQUE_VIOLATION = '23505';
export const FOREIGN_KEY_VIOLATION = '23503';

export function sqlState(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as SqlErrorLike).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

export function isUniqueViolation(err: unknown): boolean {
  return sqlState(err) === UNIQUE_VIOLATION;
}

export function isForeignKeyViolation(err: unknown): boolean {
  return sqlState(err) === FOREIGN_KEY_VIOLATION;
}

/** An error raised by the database, carried across the worker boundary. */
export class SqlError extends Error {
  override readonly name = 'SqlError';
  readonly code: string | undefined;
  readonly detail: string | undefined;
  readonly constraint: string | undefined;
  constructor(message: string, fields: { code?: string; detail?: string; constraint?: string }) {
    super(message);
    this.code = fields.code;
    this.detail = fields.detail;
    this.constraint = fields.constraint;
  }
}
