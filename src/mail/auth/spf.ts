/**
 * SPF (RFC 7208) of the MAIL FROM identity, or postmaster@HELO for the null
 * reverse-path (RFC 7208 2.4), evaluated with mailauth.
 */
import { isIP } from 'node:net';
import { spf as mailauthSpf, type SPFResult } from 'mailauth';
import type { MailauthResolver } from './guarded-resolver.ts';
import type { AuthenticateOptions, SpfResult } from './types.ts';

export interface SpfOutcome {
  result: SpfResult;
  comment?: string;
  /** The domain checked (MAIL FROM domain, or the HELO name for `<>`). */
  domain?: string;
  sender?: string;
  helo: string;
}

/** SPF not evaluated to the end (time limit, internal error): RFC 8601 2.7.2 temperror. */
export function spfTemperror(comment: string, helo: string): SpfOutcome {
  return { result: 'temperror', comment, helo };
}

/**
 * SPF out of time: temperror (RFC 7208 2.6.6), about the domain that was
 * being checked (as mailauth names it: the MAIL FROM domain, or the HELO
 * name for `<>`), so that DMARC can tell whether it would have aligned.
 */
export function spfTimedOut(opts: AuthenticateOptions): SpfOutcome {
  const { helo, sender } = identity(opts);
  const domain = (sender ?? `postmaster@${helo}`).split('@').pop()?.toLowerCase().trim() || '-';
  return { ...spfTemperror('SPF evaluation timed out', opts.helo), domain };
}

/** As mailauth's authenticate(): no HELO -> the IP; an IP -> address literal. */
function identity(opts: AuthenticateOptions): { helo: string; sender: string | undefined } {
  let helo = opts.helo.trim() || opts.ip;
  if (isIP(helo)) helo = `[${helo}]`;
  return { helo, sender: opts.mailFrom?.trim() || undefined };
}

function mapSpf(result: string | undefined): SpfResult {
  switch (result) {
    case 'pass':
    case 'fail':
    case 'softfail':
    case 'neutral':
    case 'none':
    case 'permerror':
      return result;
    default:
      return 'temperror';
  }
}

export async function evaluateSpf(opts: AuthenticateOptions, resolver: MailauthResolver): Promise<SpfOutcome> {
  const { helo, sender } = identity(opts);
  if (!isIP(opts.ip)) return { result: 'none', comment: 'no valid client IP address', helo, sender };
  const res: SPFResult = await mailauthSpf({ sender, ip: opts.ip, helo, mta: opts.hostname, resolver });
  return {
    result: mapSpf(res.status?.result),
    comment: res.status?.comment,
    domain: res.domain,
    sender: sender ?? `postmaster@${helo}`,
    helo,
  };
}
