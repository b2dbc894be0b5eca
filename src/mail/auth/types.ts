/**
 * The public result and option types of inbound message authentication
 * (authenticateMessage, src/mail/auth/authenticate.ts): per-method results
 * named as in RFC 8601 2.7, the DMARC verdict (RFC 7489) and the action the
 * SMTP session takes.
 */
import type { DnsResolver } from '../dns.ts';

export type SpfResult = 'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'temperror' | 'permerror';
/** RFC 8601 2.7.1 (`policy`: the signature was not accepted by local policy, e.g. a weak key). */
export type DkimResult = 'pass' | 'fail' | 'neutral' | 'policy' | 'none' | 'temperror' | 'permerror';
export type DmarcResult = 'pass' | 'fail' | 'none' | 'temperror' | 'permerror';
export type DmarcPolicy = 'none' | 'quarantine' | 'reject';
/** RFC 8617 4.4 chain validation status. */
export type ArcResult = 'pass' | 'fail' | 'none';
export type InboundAction = 'accept' | 'quarantine' | 'reject';

export interface DkimSignatureResult {
  /** d= (signing domain); '' when the signature has none. */
  domain: string;
  /** s= (selector); '' when the signature has none. */
  selector: string;
  result: DkimResult;
  /** Why, when not pass (e.g. "body hash did not verify"). */
  comment?: string;
}

export interface DmarcVerdict {
  result: DmarcResult;
  /**
   * The policy the domain owner asks for, for this From domain (p=, or sp=
   * when the record was found at the organizational domain; RFC 7489 6.3);
   * undefined when there is no DMARC record.
   */
  policy: DmarcPolicy | undefined;
  /** The RFC5322.From domain the verdict is about. */
  domain?: string;
  /** pct= (RFC 7489 6.3), 100 when absent. */
  pct?: number;
}

export interface InboundAuthResult {
  /**
   * `Authentication-Results: ...` then `Received-SPF: ...`, folded, every line
   * CRLF-terminated: prepend to the message as is.
   */
  header: string;
  /** The Authentication-Results field alone (CRLF-terminated). */
  authenticationResults: string;
  /** The Received-SPF field alone (CRLF-terminated). */
  receivedSpf: string;
  spf: SpfResult;
  dkim: DkimSignatureResult[];
  dmarc: DmarcVerdict;
  arc: ArcResult;
  action: InboundAction;
  /** For the SMTP reply text / log when action is not accept. */
  reason?: string;
}

export interface AuthenticateOptions {
  /** The SMTP client's IP address. */
  ip: string;
  /** EHLO/HELO argument. */
  helo: string;
  /** MAIL FROM address; null (or '') for the null reverse-path `<>`. */
  mailFrom: string | null;
  /** Our authserv-id (RFC 8601 2.5): the host name of this server. */
  hostname: string;
  resolver: DnsResolver;
  /** Bound for the whole evaluation (default 30 s). */
  timeoutMs?: number;
  /** Random source in [0, 1) for the pct= sample (RFC 7489 6.6.4); default Math.random. */
  random?: () => number;
}
