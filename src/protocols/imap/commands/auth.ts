/**
 * Logging in (RFC 9051 6.2): LOGIN (6.2.3) and AUTHENTICATE (6.2.2) with the
 * PLAIN mechanism (RFC 4616), its initial response on the command line
 * (SASL-IR, RFC 4959) or after an empty `+ ` challenge; `*` cancels (BAD).
 *
 * Passwords travel only over TLS unless auth.allowPlaintext is on: before
 * that both answer NO [PRIVACYREQUIRED] and CAPABILITY says LOGINDISABLED
 * (RFC 9051 6.2.3, 11.1). Credentials are checked by the directory and never
 * logged. A failure answers NO [AUTHENTICATIONFAILED] (RFC 5530) after a delay
 * that grows per attempt; the third on one connection also closes it; past
 * limits.authFailuresPerIpPerMinute failures from one IP (across
 * connections) logins are refused for the rest of the minute without
 * looking at the password: NO [UNAVAILABLE].
 */
import { parseSaslResponse, type AuthenticateCommand, type LoginCommand } from '../parser/index.ts';
import { CODE, capabilityCode } from '../responses.ts';
import type { SessionApi } from './api.ts';

/** After this many failed logins the connection is closed. */
export const MAX_LOGIN_FAILURES = 3;
/** The delay before a failure is answered grows by this much per failure on the connection. */
export const FAILURE_DELAY_MS = 250;

const PRIVACY_TEXT = 'Passwords are not accepted without TLS: use STARTTLS or the implicit-TLS port';

async function verify(s: SessionApi, tag: string, login: string, secret: string): Promise<void> {
  const ip = s.remoteAddress;
  if (s.authFailures.blocked(ip)) {
    s.log.warn({ login: login.slice(0, 256) }, 'login refused: too many failures from this address');
    return s.tagged(tag, 'NO', 'Too many failed logins from your address, try again later', CODE.UNAVAILABLE);
  }
  const account = login !== '' && secret !== '' ? await s.services.authenticate(login, secret) : undefined;
  if (account) {
    s.loggedIn(account);
    s.log.info({ user: account.address }, 'login');
    return s.tagged(tag, 'OK', 'Logged in', capabilityCode(s.capabilities()));
  }
  const failures = s.countLoginFailure();
  s.authFailures.add(ip);
  s.log.warn({ login: login.slice(0, 256), failures }, 'login failed');
  // A little delay makes guessing slower without holding anything.
  await new Promise((r) => setTimeout(r, FAILURE_DELAY_MS * failures));
  s.tagged(tag, 'NO', 'Authentication failed', CODE.AUTHENTICATIONFAILED);
  if (failures >= MAX_LOGIN_FAILURES) s.close('Too many failed logins');
}

/** RFC 9051 6.2.3. */
export async function login(s: SessionApi, cmd: LoginCommand): Promise<void> {
  if (!s.loginAllowed()) return s.tagged(cmd.tag, 'NO', PRIVACY_TEXT, CODE.PRIVACYREQUIRED);
  await verify(s, cmd.tag, cmd.userid, cmd.password);
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** RFC 4616 2: message = [authzid] NUL authcid NUL passwd, in UTF-8. */
async function plain(s: SessionApi, tag: string, message: Buffer): Promise<void> {
  let text: string;
  try {
    text = UTF8.decode(message);
  } catch {
    return s.tagged(tag, 'BAD', 'PLAIN response is not UTF-8');
  }
  const parts = text.split('\0');
  if (parts.length !== 3) return s.tagged(tag, 'BAD', 'Malformed PLAIN response');
  const [authz, authc, secret] = parts as [string, string, string];
  // Acting as someone else (RFC 4616 2: authzid) is not supported.
  if (authz !== '' && authz.toLowerCase() !== authc.toLowerCase()) {
    return s.tagged(tag, 'NO', 'Authorization identity must be the user', CODE.AUTHORIZATIONFAILED);
  }
  await verify(s, tag, authc, secret);
}

/** RFC 9051 6.2.2 with SASL-IR (RFC 4959 3). */
export async function authenticate(s: SessionApi, cmd: AuthenticateCommand): Promise<void> {
  if (cmd.mechanism !== 'PLAIN') return s.tagged(cmd.tag, 'NO', 'Unsupported authentication mechanism', CODE.CANNOT);
  if (!s.loginAllowed()) return s.tagged(cmd.tag, 'NO', PRIVACY_TEXT, CODE.PRIVACYREQUIRED);
  if (cmd.initialResponse !== null) return plain(s, cmd.tag, cmd.initialResponse);
  // PLAIN starts with the client's message: an empty challenge (RFC 4422 5, RFC 9051 7.5).
  s.continuation('');
  s.expectLine(cmd.tag, async (line) => {
    const r = parseSaslResponse(line);
    if (r.kind === 'cancel') return s.tagged(cmd.tag, 'BAD', 'AUTHENTICATE cancelled');
    if (r.kind === 'invalid') return s.tagged(cmd.tag, 'BAD', 'Invalid base64 in the AUTHENTICATE response');
    await plain(s, cmd.tag, r.data);
  });
}
