/**
 * Trace fields added on receipt (RFC 5321 4.4): Return-Path (at final
 * delivery) and Received, prepended to the message as received.
 */

export interface TraceInfo {
  /** Reverse-path of the transaction; null for the null path <>. */
  mailFrom: string | null;
  /** EHLO/HELO/LHLO argument as the client sent it. */
  helo: string;
  remoteAddress: string;
  /** Our host name. */
  hostname: string;
  /** with-protocol (RFC 3848): ESMTP, ESMTPS, ESMTPA, ESMTPSA, LMTP, LMTPS, LMTPA, LMTPSA, SMTP. */
  protocol: string;
  /** Session id for the "id" clause, so a message can be followed in the logs. */
  id: string;
  /** One recipient is named in "for" only when there is exactly one (privacy, RFC 5321 7.6). */
  singleRecipient?: string;
  tls?: { version: string; cipher: string } | undefined;
  date?: Date;
  /** Add Return-Path: only at final delivery (RFC 5321 4.4), not on mail that is relayed on. Default true. */
  returnPath?: boolean;
}

/** RFC 5322 3.3 date-time, e.g. "Sat, 28 Nov 2026 23:36:20 +0000". */
export function rfc5322Date(d: Date): string {
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d.getUTCDay()];
  const mon = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()];
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${day}, ${d.getUTCDate()} ${mon} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** HELO names are client-supplied: keep them to printable ASCII without parentheses or brackets. */
function clean(s: string): string {
  return s.replace(/[^\x21-\x7e]|[()[\]\\]/g, '?').slice(0, 255);
}

export function traceHeaders(t: TraceInfo): Buffer {
  const ip = t.remoteAddress.replace(/^::ffff:/, '');
  const literal = ip.includes(':') ? `IPv6:${ip}` : ip;
  const tls = t.tls ? `\r\n\t(using ${clean(t.tls.version)} with cipher ${clean(t.tls.cipher)})` : '';
  const forClause = t.singleRecipient ? `\r\n\tfor <${t.singleRecipient}>` : '';
  const received =
    `Received: from ${clean(t.helo) || 'unknown'} ([${literal}])\r\n` +
    `\tby ${clean(t.hostname)} (TEGU) with ${t.protocol} id ${clean(t.id)}${tls}${forClause};\r\n` +
    `\t${rfc5322Date(t.date ?? new Date())}\r\n`;
  const returnPath = t.returnPath === false ? '' : `Return-Path: <${t.mailFrom ?? ''}>\r\n`;
  return Buffer.from(returnPath + received, 'utf8');
}
