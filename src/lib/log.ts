/**
 * Structured JSON logging (ARCHITECTURE.md section 7): one JSON object per
 * line, so a SIEM or `jq` can read it, and every line written for a protocol
 * session carries that session's id (`sid`), so one grep follows a
 * connection from accept to close.
 *
 * Secrets never reach the log: known secret-bearing keys are censored by
 * pino's redaction (done at serialization time, so even a careless
 * `log.info({ password })` is safe), and a database URL keeps everything but
 * its password.
 */
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';

export type Logger = pino.Logger;

/**
 * Keys whose values are secrets. pino's redaction paths are exact: `password`
 * covers a top-level key, `*.password` one level down (e.g. `{ user: {...} }`).
 * Deeper nesting is not covered: log flat objects.
 */
const SECRET_KEYS = ['password', 'secret', 'passphrase', 'token', 'authorization', 'apiKey'];
const REDACT_PATHS = [
  ...SECRET_KEYS.flatMap((k) => [k, `*.${k}`]),
  // Node's IncomingMessage headers are lower-case.
  'headers.authorization',
  'req.headers.authorization',
  'headers.cookie',
  'req.headers.cookie',
  'databaseUrl',
  '*.databaseUrl',
];

const CENSOR = '[REDACTED]';

/** A database URL is useful in a log (which server?), only its password is not. */
function censor(value: unknown, path: string[]): unknown {
  if (path[path.length - 1] === 'databaseUrl' && typeof value === 'string') return redactUrl(value);
  return CENSOR;
}

export interface LoggerOptions {
  /** fatal | error | warn | info | debug | trace (or 'silent'). */
  level: string;
  /** A stream (tests capture lines) or a file descriptor; default stdout (fd 1). */
  destination?: NodeJS.WritableStream | number;
}

export function createLogger(opts: LoggerOptions): Logger {
  const dest = opts.destination ?? 1;
  const stream: pino.DestinationStream =
    typeof dest === 'number' ? pino.destination({ dest, sync: true }) : (dest as pino.DestinationStream);
  return pino(
    {
      level: opts.level,
      redact: { paths: REDACT_PATHS, censor },
      // ISO time and level names rather than epoch ms and numbers: the log is
      // read by people and by SIEMs that do not know pino's numeric levels.
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    stream,
  );
}

// RFC 4648 section 6 alphabet, lower-case: no ambiguous 0/O, 1/l, easy to grep.
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/**
 * A short random session id: 12 base32 characters (60 bits), unique enough
 * for correlating log lines across a cluster, short enough to read aloud.
 */
export function newSessionId(): string {
  const bytes = randomBytes(12);
  let id = '';
  // 256 is a multiple of 32, so `byte & 31` is uniform.
  for (const b of bytes) id += BASE32[b & 31];
  return id;
}

export interface SessionFields {
  /** Protocol name: smtp, submission, imap, pop3, lmtp, managesieve, http. */
  proto: string;
  /** Remote address, `ip:port` or `[ip6]:port`. */
  remote?: string;
}

/** A child logger for one session: every line it writes carries `sid` and `proto`. */
export function sessionLogger(log: Logger, fields: SessionFields): Logger {
  const bindings: Record<string, string> = { sid: newSessionId(), proto: fields.proto };
  if (fields.remote !== undefined) bindings['remote'] = fields.remote;
  return log.child(bindings);
}

/**
 * Replaces the password in a URL with `***`: the userinfo password
 * (RFC 3986 section 3.2.1, `scheme://user:password@host`) and a `password`
 * query parameter (libpq accepts `?password=`). Works on strings that do not
 * parse as URLs too, and leaves everything else byte-for-byte as it was.
 */
export function redactUrl(url: string): string {
  let out = url;
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)/i.exec(url);
  if (m !== null) {
    const scheme = m[1] ?? '';
    const authority = m[2] ?? '';
    // The userinfo ends at the LAST '@' of the authority, as URL parsers do.
    const at = authority.lastIndexOf('@');
    if (at >= 0) {
      const userinfo = authority.slice(0, at);
      const colon = userinfo.indexOf(':');
      if (colon >= 0) {
        const redacted = `${userinfo.slice(0, colon)}:***${authority.slice(at)}`;
        out = scheme + redacted + url.slice(scheme.length + authority.length);
      }
    }
  }
  return out.replace(/([?&]password=)[^&#]*/gi, '$1***');
}
