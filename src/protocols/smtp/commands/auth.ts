/**
 * AUTH (RFC 4954) with PLAIN (RFC 4616) and LOGIN. Offered only over TLS
 * unless plaintext AUTH is allowed by setting; credentials are checked by the
 * directory and never logged.
 */
import type { AuthCommand } from '../parser/index.ts';
import {
  AUTH_CANCELLED, AUTH_CONTINUE, AUTH_FAILED, AUTH_MECHANISM_UNKNOWN, AUTH_OK, AUTH_TEMPORARY_FAILURE, BAD_BASE64, BAD_SEQUENCE,
  ENCRYPTION_REQUIRED, withText, type SmtpReply,
} from '../replies.ts';
import type { SessionApi } from './api.ts';

/** After this many failed attempts the connection is closed. */
export const MAX_AUTH_FAILURES = 3;

function decodeBase64(text: string): string | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  return Buffer.from(text, 'base64').toString('utf8');
}

async function verify(s: SessionApi, login: string, secret: string): Promise<void> {
  const ip = s.state.remoteAddress;
  if (s.authFailures.blocked(ip)) {
    // Past the per-IP limit the password is not even checked (RFC 4954 6: 454 is temporary).
    s.log.warn({ login: login.slice(0, 256) }, 'auth refused: too many failures from this address');
    return s.reply(withText(AUTH_TEMPORARY_FAILURE, 'Too many failed authentications from your address, try later'));
  }
  const account = login && secret ? await s.services.authenticate(login, secret) : undefined;
  if (account) {
    s.state.user = account;
    s.log.info({ user: account.address }, 'auth ok');
    s.reply(AUTH_OK);
    return;
  }
  s.state.authFailures++;
  s.authFailures.add(ip);
  s.log.warn({ login: login.slice(0, 256), failures: s.state.authFailures }, 'auth failed');
  // A little delay makes guessing slower without holding anything.
  await new Promise((r) => setTimeout(r, 250 * s.state.authFailures));
  if (s.state.authFailures >= MAX_AUTH_FAILURES) s.close(withText(AUTH_FAILED, 'Too many failed attempts'));
  else s.reply(AUTH_FAILED);
}

/** One SASL step: the client's line, '*' cancels (RFC 4954 4). */
function step(s: SessionApi, challenge: string, then: (decoded: string) => Promise<void>): void {
  s.reply({ ...AUTH_CONTINUE, text: Buffer.from(challenge).toString('base64') } satisfies SmtpReply);
  s.expectAuthLine(async (line) => {
    if (line === '*') return s.reply(AUTH_CANCELLED);
    const decoded = decodeBase64(line);
    if (decoded === undefined) return s.reply(BAD_BASE64);
    await then(decoded);
  });
}

/** RFC 4616: [authzid] NUL authcid NUL passwd; an authzid other than the user is refused. */
async function plain(s: SessionApi, decoded: string): Promise<void> {
  const parts = decoded.split('\0');
  if (parts.length !== 3) return s.reply(withText(BAD_BASE64, 'Malformed PLAIN response'));
  const [authz, login, secret] = parts as [string, string, string];
  if (authz !== '' && authz.toLowerCase() !== login.toLowerCase()) return s.reply(AUTH_FAILED);
  await verify(s, login, secret);
}

export async function auth(s: SessionApi, cmd: AuthCommand): Promise<void> {
  if (!s.state.esmtp || s.state.user || s.state.tx) return s.reply(BAD_SEQUENCE);
  if (!s.authOffered()) {
    // RFC 4954 4 / RFC 5248: refuse credentials in the clear.
    return s.reply(s.canStartTls() ? ENCRYPTION_REQUIRED : withText(AUTH_MECHANISM_UNKNOWN, 'AUTH not available'));
  }
  if (cmd.mechanism === 'PLAIN') {
    if (cmd.initialResponse === undefined) return step(s, '', (d) => plain(s, d));
    const decoded = decodeBase64(cmd.initialResponse);
    return decoded === undefined ? s.reply(BAD_BASE64) : plain(s, decoded);
  }
  if (cmd.mechanism === 'LOGIN') {
    const askPassword = (login: string): void => step(s, 'Password:', (secret) => verify(s, login, secret));
    if (cmd.initialResponse !== undefined) {
      const login = decodeBase64(cmd.initialResponse);
      return login === undefined ? s.reply(BAD_BASE64) : askPassword(login);
    }
    return step(s, 'Username:', async (login) => askPassword(login));
  }
  s.reply(AUTH_MECHANISM_UNKNOWN);
}
