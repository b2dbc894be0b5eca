/**
 * RFC 5321 4.1.2 Domain and 4.1.3 address-literal, with the U-labels of
 * RFC 6531 3.3. Validation and A-label conversion are those of src/lib
 * (normalizeDomain), so SMTP and the directory agree on what a domain is.
 */
import { normalizeDomain } from '../../../lib/address.ts';
import { InvalidInputError } from '../../../lib/errors.ts';
import type { Host } from './command.ts';
import { isNonAscii, type Fail, type Scanner } from './scanner.ts';

export interface DomainOptions {
  /** U-labels allowed (SMTPUTF8, RFC 6531 3.3). */
  utf8: boolean;
  /**
   * Also accept '_' in labels. Only for the EHLO/HELO/LHLO argument: hosts
   * named like `DESKTOP_1` are common and refusing their greeting helps nobody.
   */
  underscore?: boolean;
  fail: Fail;
}

/** RFC 5321 4.5.3.1.2: "The maximum total length of a domain name or number is 255 octets." */
const MAX_DOMAIN_OCTETS = 255;

const isLdhOrDot = (ch: string): boolean => /^[A-Za-z0-9.-]$/.test(ch);

/**
 * Domain = sub-domain *("." sub-domain); sub-domain = Let-dig [Ldh-str] /
 * U-label. Returns the domain in lower case with A-labels.
 */
export function domain(sc: Scanner, opts: DomainOptions): string {
  const token = sc.takeWhile(
    (ch) => isLdhOrDot(ch) || (opts.underscore === true && ch === '_') || (opts.utf8 && isNonAscii(ch)),
  );
  if (!token) opts.fail('Expected a domain name');
  if (Buffer.byteLength(token, 'utf8') > MAX_DOMAIN_OCTETS) {
    opts.fail('Domain name longer than 255 octets (RFC 5321 4.5.3.1.2)');
  }
  // normalizeDomain forgives a trailing dot; the ABNF does not.
  if (token.startsWith('.') || token.endsWith('.')) opts.fail('Invalid domain name');
  if (token.includes('_')) return hostnameWithUnderscore(token, opts.fail);
  try {
    return normalizeDomain(token);
  } catch (err) {
    if (err instanceof InvalidInputError) opts.fail('Invalid domain name');
    throw err;
  }
}

/** Letters, digits, '-' and '_', no '-' at either end of a label. */
function hostnameWithUnderscore(token: string, fail: Fail): string {
  const labels = token.split('.');
  const label = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;
  if (token.length > 253 || !labels.every((l) => label.test(l))) fail('Invalid domain name');
  return token.toLowerCase();
}

/** dcontent = %d33-90 / %d94-126 (RFC 5321 4.1.3): printable ASCII but "[", "\", "]". */
const isDcontent = (ch: string): boolean => /^[\x21-\x5a\x5e-\x7e]$/.test(ch);

/**
 * address-literal = "[" ( IPv4-address-literal / IPv6-address-literal /
 * General-address-literal ) "]". No Standardized-tag other than IPv6 is
 * registered, so a General-address-literal is refused.
 */
export function addressLiteral(sc: Scanner, fail: Fail): Host {
  if (!sc.literal('[')) fail('Expected "["');
  const content = sc.takeWhile(isDcontent);
  if (!sc.literal(']')) fail('Invalid address literal');
  if (/^IPv6:/i.test(content)) {
    const address = ipv6Addr(content.slice(5));
    if (address === undefined) fail('Invalid IPv6 address literal');
    return { kind: 'ipv6', address };
  }
  const v4 = ipv4AddressLiteral(content);
  if (v4 === undefined) fail('Invalid address literal');
  return { kind: 'ipv4', address: v4 };
}

/** The text form of a Host: domain, `[192.0.2.1]` or `[IPv6:...]`. */
export function hostText(host: Host): string {
  if (host.kind === 'domain') return host.domain;
  return host.kind === 'ipv4' ? `[${host.address}]` : `[IPv6:${host.address}]`;
}

/** IPv4-address-literal = Snum 3("." Snum); Snum = 1*3DIGIT representing 0-255. */
function ipv4AddressLiteral(s: string): string | undefined {
  const parts = s.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.map(Number).join('.');
}

/** IPv6-hex = 1*4HEXDIG */
const IPV6_HEX = /^[0-9A-Fa-f]{1,4}$/;

/**
 * `full` groups of IPv6-hex, or the compressed form with "::" and at most
 * `comp` groups besides it (RFC 5321 4.1.3: "No more than 6 groups in addition
 * to the '::'", 4 before an IPv4 part).
 */
function hexGroups(s: string, full: number, comp: number): boolean {
  const halves = s.split('::');
  if (halves.length === 1) {
    const groups = s.split(':');
    return groups.length === full && groups.every((g) => IPV6_HEX.test(g));
  }
  if (halves.length !== 2) return false;
  const groups = halves.flatMap((h) => (h === '' ? [] : h.split(':')));
  return groups.length <= comp && groups.every((g) => IPV6_HEX.test(g));
}

/** IPv6-addr = IPv6-full / IPv6-comp / IPv6v4-full / IPv6v4-comp; returns it in lower case. */
function ipv6Addr(s: string): string | undefined {
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  let ok: boolean;
  if (tail.includes('.')) {
    // IPv6v4-full / IPv6v4-comp: the IPv4 part counts as two groups.
    let head = s.slice(0, lastColon + 1);
    if (!head.endsWith('::')) head = head.slice(0, -1);
    ok = lastColon > 0 && ipv4AddressLiteral(tail) !== undefined && hexGroups(head, 6, 4);
  } else {
    ok = hexGroups(s, 8, 6);
  }
  return ok ? s.toLowerCase() : undefined;
}
