/**
 * Mail addresses and domain names as TEGU stores them: lower case, domain in
 * A-label (punycode) form. Local parts follow RFC 5321 section 4.1.2 dot-atom
 * (plus UTF-8, RFC 6531); quoted local parts are not accepted for accounts.
 */
import { domainToASCII } from 'node:url';
import { InvalidInputError } from './errors.ts';

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
// atext of RFC 5322 3.2.3, plus any non-ASCII character (RFC 6532).
// Non-ASCII (RFC 6532 UTF8-non-ascii): anything but separators (U+00A0...), controls and lone surrogates.
const ATEXT = /^(?:[a-z0-9!#$%&'*+/=?^_`{|}~-]|[^\x00-\x7f\p{Z}\p{C}])+$/u;
// ASCII that can never be part of a domain name. domainToASCII() runs the WHATWG
// URL host parser, which would cut 'a/b.com' to 'a', percent-decode 'ex%41mple.com'
// and drop tabs and newlines, so such input has to be refused before it gets there.
const NON_DOMAIN_ASCII = /[\u0000-\u002c/\u003a-\u0040\u005b-\u0060\u007b-\u007f]/;

/** Lower-cases and converts an IDN to punycode; throws InvalidInputError when it is no valid domain. */
export function normalizeDomain(input: string): string {
  const raw = input.trim().replace(/\.$/, '');
  const ascii = NON_DOMAIN_ASCII.test(raw) ? '' : domainToASCII(raw.toLowerCase());
  if (!ascii || ascii.length > 253) throw new InvalidInputError(`invalid domain name: ${JSON.stringify(input)}`);
  const labels = ascii.split('.');
  if (!labels.every((l) => LABEL.test(l)) || /^\d+$/.test(labels[labels.length - 1] ?? '')) {
    throw new InvalidInputError(`invalid domain name: ${JSON.stringify(input)}`);
  }
  return ascii;
}

export function isValidLocalPart(local: string): boolean {
  // RFC 5321 4.5.3.1.1 counts octets: 64 bytes of UTF-8.
  if (local.length < 1 || Buffer.byteLength(local, 'utf8') > 64) return false;
  if (local.startsWith('.') || local.endsWith('.') || local.includes('..')) return false;
  return local.split('.').every((atom) => ATEXT.test(atom));
}

export interface Address {
  local: string;
  domain: string;
  /** local@domain, normalized. */
  address: string;
}

/** Parses and normalizes local@domain. */
export function parseAddress(input: string): Address {
  const trimmed = input.trim();
  const at = trimmed.lastIndexOf('@');
  if (at <= 0) throw new InvalidInputError(`invalid address (expected local-part@domain): ${JSON.stringify(input)}`);
  const local = trimmed.slice(0, at).toLowerCase();
  if (!isValidLocalPart(local)) throw new InvalidInputError(`invalid local part in address: ${JSON.stringify(input)}`);
  const domainPart = trimmed.slice(at + 1);
  // normalizeDomain trims; inside an address, 'user@ example.com' is no address.
  if (domainPart !== domainPart.trim()) throw new InvalidInputError(`invalid domain in address: ${JSON.stringify(input)}`);
  const domain = normalizeDomain(domainPart);
  return { local, domain, address: `${local}@${domain}` };
}

/** Parses "@domain" (a catch-all) or local@domain. */
export function parseAliasAddress(input: string): Address {
  const trimmed = input.trim();
  if (trimmed.startsWith('@')) {
    const domain = normalizeDomain(trimmed.slice(1));
    return { local: '', domain, address: `@${domain}` };
  }
  return parseAddress(trimmed);
}

/**
 * Subaddressing (RFC 5233): "user+tag@example.com" -> "user@example.com".
 * Returns undefined when the local part has no separator (or it is disabled).
 */
export function stripSubaddress(addr: Address, separator: string): Address | undefined {
  if (!separator) return undefined;
  const i = addr.local.indexOf(separator);
  if (i <= 0) return undefined;
  const local = addr.local.slice(0, i);
  // 'john.+tag' would leave 'john.', which is no valid local part.
  if (!isValidLocalPart(local)) return undefined;
  return { local, domain: addr.domain, address: `${local}@${addr.domain}` };
}
