/**
 * IDLE (RFC 2177; RFC 9051 6.3.13): `+ idling`, then the server may send
 * untagged updates until the client's `DONE` line, answered with the tagged
 * OK. Anything else than DONE ends IDLE with BAD.
 *
 * In the authenticated state there is nothing to report: the session just
 * waits for DONE. In the selected state the session watches the mailbox's
 * change hints (core/mailbox-change-feed.ts: one LISTEN per node) and pushes
 * EXPUNGE / EXISTS / FETCH as they come (updates.ts), one report at a time:
 * hints arriving during a report run one more report after it, and DONE
 * waits for the running report, so the tagged OK comes last. When the
 * mailbox was deleted by another session, the report ends the connection
 * with `* BYE` (RFC 2180 3.3; updates.ts): IDLE never waits on a mailbox
 * that is gone. The autologout
 * timer keeps running (RFC 2177 3: clients re-issue IDLE at least every 29
 * minutes).
 */
import { isIdleDone, type SimpleCommand } from '../parser/index.ts';
import type { SessionApi } from './api.ts';
import { reportChanges } from './updates.ts';

export function idle(s: SessionApi, cmd: SimpleCommand): void {
  let running: Promise<void> = Promise.resolve();
  let queued = false;
  const report = (): void => {
    if (queued) return;
    queued = true;
    running = running.then(async () => {
      queued = false;
      await reportChanges(s);
    }).catch((err: unknown) => s.log.warn({ err }, 'IDLE update failed'));
  };
  const stop = s.watchSelected(report);
  s.continuation('idling');
  report(); // what changed before IDLE began
  s.expectLine(cmd.tag, async (line) => {
    stop();
    await running;
    if (isIdleDone(line)) s.tagged(cmd.tag, 'OK', 'IDLE terminated');
    else s.tagged(cmd.tag, 'BAD', 'Expected DONE to end IDLE');
  });
}
