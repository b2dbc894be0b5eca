/**
 * The injected DNS resolver as mailauth gets it: bounded by the deadline,
 * failing only with DNS-coded Errors, and answering only in the shapes
 * mailauth can read (so that no resolver can make mailauth itself throw).
 */
import type { DNSResolver as MailauthResolver } from 'mailauth';
import { dnsError, type DnsAnswer, type DnsResolver } from '../dns.ts';
import type { Deadline } from './deadline.ts';

export type { MailauthResolver };

/**
 * The resolver as mailauth gets it: fails fast once time is up, turns
 * anything thrown into an Error with a DNS code (mailauth reads `err.code`
 * and would itself throw on a thrown non-object), and checks the shape of the
 * answer (mailauth would throw on `row.join` of a non-array).
 */
export function guardResolver(resolver: DnsResolver, deadline: Deadline): MailauthResolver {
  const guarded = async (name: string, rrtype: string): Promise<DnsAnswer> => {
    if (deadline.expired) throw dnsError('ETIMEOUT', name, rrtype);
    let answer: unknown;
    try {
      answer = await deadline.race<unknown>(
        Promise.resolve().then(() => resolver(name, rrtype)),
        () => {
          throw dnsError('ETIMEOUT', name, rrtype);
        },
        (err) => {
          throw err;
        },
      );
    } catch (err) {
      const code = (err as { code?: unknown } | null)?.code;
      if (err instanceof Error && typeof code === 'string') throw err;
      throw dnsError(typeof code === 'string' ? code : 'ESERVFAIL', name, rrtype);
    }
    if (!wellFormedAnswer(answer, rrtype)) throw dnsError('EBADRESP', name, rrtype);
    return answer;
  };
  // mailauth declares string[][] | string[] but reads MX answers as objects (see dns.ts).
  return guarded as MailauthResolver;
}

function wellFormedAnswer(answer: unknown, rrtype: string): answer is DnsAnswer {
  if (!Array.isArray(answer)) return false;
  switch (rrtype) {
    case 'TXT':
      return answer.every((r) => Array.isArray(r) && r.every((s) => typeof s === 'string'));
    case 'MX':
      return answer.every(
        (r) => typeof r === 'object' && r !== null && typeof r.exchange === 'string' && typeof r.priority === 'number',
      );
    default:
      return answer.every((r) => typeof r === 'string');
  }
}
