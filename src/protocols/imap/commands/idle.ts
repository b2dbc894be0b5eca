/**
 * IDLE (RFC 2177; RFC 9051 6.3.13): `+ idling`, then the server may send
 * untagged updates until the client's `DONE` line, answered with the tagged
 * OK. Anything else than DONE ends IDLE with BAD.
 *
 * In the authenticated state there is nothing to report: the session just
 * waits for DONE. In the selected state (next increment) the session watches
 * the mailbox's change hints (core/mailbox-change-feed.ts: one LISTEN per
 * node) and pushes EXISTS / EXPUNGE / FETCH as they come; the plumbing is
 * SessionApi.watchSelected. The autologout timer keeps running (RFC 2177 3:
 * clients re-issue IDLE at least every 29 minutes).
 */
import { isIdleDone, type SimpleCommand } from '../parser/index.ts';
import type { SessionApi } from './api.ts';

export function idle(s: SessionApi, cmd: SimpleCommand): void {
  const stop = s.watchSelected(() => s.log.debug('selected mailbox changed while idle'));
  s.continuation('idling');
  s.expectLine(cmd.tag, async (line) => {
    stop();
    if (isIdleDone(line)) s.tagged(cmd.tag, 'OK', 'IDLE terminated');
    else s.tagged(cmd.tag, 'BAD', 'Expected DONE to end IDLE');
  });
}
