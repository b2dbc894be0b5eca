/** EHLO / HELO (RFC 5321 4.1.1.1) and LHLO (RFC 2033 4.1): greeting and capabilities. */
import type { HelloCommand } from '../parser/index.ts';
import { BAD_SEQUENCE, HELLO, withText } from '../replies.ts';
import type { SessionApi } from './api.ts';

export function capabilities(s: SessionApi): string[] {
  const caps = [
    'PIPELINING', // RFC 2920
    `SIZE ${s.services.limits().maxMessageBytes}`, // RFC 1870
    '8BITMIME', // RFC 6152
    'SMTPUTF8', // RFC 6531
    'ENHANCEDSTATUSCODES', // RFC 2034
    'CHUNKING', // RFC 3030
    'BINARYMIME', // RFC 3030
    'DSN', // RFC 3461
  ];
  if (s.canStartTls()) caps.push('STARTTLS'); // RFC 3207
  if (s.authOffered()) caps.push('AUTH PLAIN LOGIN'); // RFC 4954
  return caps;
}

export async function hello(s: SessionApi, cmd: HelloCommand): Promise<void> {
  if (s.mode === 'lmtp' ? cmd.verb !== 'LHLO' : cmd.verb === 'LHLO') {
    s.reply(withText(BAD_SEQUENCE, s.mode === 'lmtp' ? 'This is LMTP: use LHLO' : 'LHLO is for LMTP'));
    return;
  }
  const h = cmd.host;
  s.state.helo = h.kind === 'domain' ? h.domain : h.kind === 'ipv4' ? `[${h.address}]` : `[IPv6:${h.address}]`;
  // RFC 5321 4.1.4: EHLO/HELO resets the transaction.
  s.endTransaction();
  s.state.esmtp = cmd.verb !== 'HELO';
  const greeting = `${s.hostname} Hello ${s.state.helo} [${s.state.remoteAddress}]`;
  s.reply(withText(HELLO, s.state.esmtp ? [greeting, ...capabilities(s)] : greeting));
}
