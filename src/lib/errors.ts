/**
 * Domain errors. They carry no protocol codes: each protocol (and the CLI)
 * maps them to its own replies in one table.
 */
export class TeguError extends Error {
  override readonly name: string = 'TeguError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Something the caller asked for does not exist. */
export class NotFoundError extends TeguError {
  override readonly name = 'NotFoundError';
}

/** The thing to create already exists (or its address is taken by something else). */
export class AlreadyExistsError extends TeguError {
  override readonly name = 'AlreadyExistsError';
}

/** Input that breaks a rule (bad address, bad domain name, bad setting value). */
export class InvalidInputError extends TeguError {
  override readonly name = 'InvalidInputError';
}

/** The object is still in use (for example a domain that still has accounts). */
export class InUseError extends TeguError {
  override readonly name = 'InUseError';
}

/** A special-use attribute (RFC 6154) this server cannot give a mailbox (IMAP: NO [USEATTR], RFC 6154 5.3). */
export class SpecialUseError extends TeguError {
  override readonly name = 'SpecialUseError';
}

/** The operation would take the account over its storage quota (IMAP: NO [OVERQUOTA], RFC 9208 4.3). */
export class QuotaExceededError extends TeguError {
  override readonly name = 'QuotaExceededError';
}

/** The database schema is newer than this binary knows: refuse to run. */
export class SchemaTooNewError extends TeguError {
  override readonly name = 'SchemaTooNewError';
}

/** Another process holds the embedded data directory. */
export class DataDirLockedError extends TeguError {
  override readonly name = 'DataDirLockedError';
}
