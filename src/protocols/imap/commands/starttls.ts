/**
 * STARTTLS (RFC 9051 6.2.1). After the tagged OK the TLS handshake starts at
 * once; whatever the client sent after the command line was sent in the
 * clear and is discarded, never acted upon (the classic STARTTLS command
 * injection, RFC 9051 6.2.1 and 11.1). The session stays not authenticated,
 * and the client must ask for CAPABILITY again.
 */
import type { SimpleCommand } from '../parser/index.ts';
import type { SessionApi } from './api.ts';

export function starttls(s: SessionApi, cmd: SimpleCommand): void {
  if (!s.canStartTls()) return s.tagged(cmd.tag, 'BAD', s.tls ? 'TLS is active already' : 'STARTTLS is not available here');
  s.startTls(cmd.tag);
}
