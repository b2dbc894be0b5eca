/**
 * ENABLE (RFC 5161; RFC 9051 6.3.1), valid in the authenticated state only.
 * Names the server does not know or cannot enable are ignored (RFC 5161 3.1);
 * `* ENABLED` lists those this command newly enabled.
 *
 *  - IMAP4rev2 (RFC 9051 Appendix A): the session answers in IMAP4rev2 form
 *    from now on (UTF-8 mailbox names; LSUB, CHECK and RECENT are gone);
 *  - UTF8=ACCEPT (RFC 6855 3): UTF-8 in mailbox names, quoted strings and
 *    APPEND's UTF8 (...) data;
 *  - CONDSTORE (RFC 7162 3.1): HIGHESTMODSEQ at SELECT, MODSEQ in FETCH
 *    responses of flag changes. Also turned on by any CONDSTORE enabling
 *    action (SessionApi.enableCondstore); ENABLE lists it only when this
 *    command turned it on;
 *  - QRESYNC (RFC 7162 3.2.3): implies CONDSTORE (listed only when asked
 *    for, as RFC 7162's examples show `* ENABLED QRESYNC`); then SELECT
 *    (QRESYNC ...), UID FETCH (VANISHED), and VANISHED instead of EXPUNGE.
 */
import type { EnableCommand } from '../parser/index.ts';
import type { Enableable, SessionApi } from './api.ts';

const ENABLEABLE: ReadonlyMap<string, Enableable> = new Map([
  ['IMAP4REV2', 'IMAP4rev2'],
  ['UTF8=ACCEPT', 'UTF8=ACCEPT'],
  ['CONDSTORE', 'CONDSTORE'],
  ['QRESYNC', 'QRESYNC'],
]);

export function enable(s: SessionApi, cmd: EnableCommand): void {
  const enabled: Enableable[] = [];
  const condstoreBefore = s.condstore; // on already: ENABLE QRESYNC or an enabling action
  for (const name of cmd.capabilities) {
    const cap = ENABLEABLE.get(name);
    if (cap === 'CONDSTORE' && condstoreBefore) continue;
    if (cap && s.enable(cap)) enabled.push(cap);
  }
  s.untagged(['ENABLED', ...enabled].join(' '));
  s.tagged(cmd.tag, 'OK', 'ENABLE completed');
}
