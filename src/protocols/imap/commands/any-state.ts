/** Commands valid in any state (RFC 9051 6.1): CAPABILITY, NOOP, LOGOUT; and ID (RFC 2971 3.1). */
import type { IdCommand, SimpleCommand } from '../parser/index.ts';
import type { SessionApi } from './api.ts';
import { imapString } from '../encode/imap-string.ts';
import { reportChanges } from './updates.ts';

/** RFC 9051 6.1.1: `* CAPABILITY ...`, then OK. */
export function capability(s: SessionApi, cmd: SimpleCommand): void {
  s.untagged(`CAPABILITY ${s.capabilities().join(' ')}`);
  s.tagged(cmd.tag, 'OK', 'CAPABILITY completed');
}

/**
 * RFC 9051 6.1.2. NOOP is also how a client polls for untagged updates of the
 * selected mailbox (EXPUNGE, EXISTS, FETCH flags: updates.ts).
 */
export async function noop(s: SessionApi, cmd: SimpleCommand): Promise<void> {
  await reportChanges(s);
  s.tagged(cmd.tag, 'OK', 'NOOP completed');
}

/** RFC 9051 6.1.3: `* BYE`, then the tagged OK, then the server closes. */
export function logout(s: SessionApi, cmd: SimpleCommand): void {
  s.logout(cmd.tag);
}

/** What of a client's ID we log (RFC 2971 3.3 bounds the client: 30 pairs, 30-octet names, 1024-octet values). */
const MAX_ID_FIELDS = 30;
const MAX_ID_NAME = 30;
const MAX_ID_VALUE = 256;

/**
 * RFC 2971 3.1: the client says who it is (logged, bounded), we answer with
 * our name and version only. Nothing the client sent is echoed.
 */
export function id(s: SessionApi, cmd: IdCommand): void {
  if (cmd.params) {
    // Pairs, not an object: a field named "__proto__" must stay a name.
    const client = cmd.params
      .slice(0, MAX_ID_FIELDS)
      .map(([name, value]) => [name.slice(0, MAX_ID_NAME), value === null ? null : value.slice(0, MAX_ID_VALUE)]);
    s.log.info({ client }, 'client ID');
  }
  const fields = ['name', s.serverInfo.name, 'version', s.serverInfo.version].map((v) => imapString(v)).join(' ');
  s.untagged(`ID (${fields})`);
  s.tagged(cmd.tag, 'OK', 'ID completed');
}
