/**
 * Where outbound mail for one recipient domain goes: the ordered list of
 * hosts (name, address, port) the queue connects to, one after the other,
 * until one answers; or why there is no such list (a permanent or temporary
 * failure with an enhanced status code, RFC 3463).
 *
 * Precedence: a static route for the domain, then the smarthost
 * (queue.smarthost), then the address literal or DNS (RFC 5321 section 5.1).
 *
 * Decisions where the RFCs leave room (each is also noted where it is made):
 * - Address families: 'both' (the default) interleaves IPv4 and IPv6 per host,
 *   IPv4 first (RFC 8305 section 4 interleaves; IPv4 first because many
 *   senders have IPv6 addresses without a working route or reverse DNS, and
 *   large receivers are stricter with IPv6 senders).
 * - A lone null MX ("." at any preference) means "no mail" (RFC 7505 section
 *   3); a null MX among other MX records is a misconfiguration (RFC 7505
 *   section 3: "MUST NOT"), and we ignore the null record and try the others.
 * - An MX exchange that is an IP address is not allowed (RFC 5321 section 5.1,
 *   RFC 2181 section 10.3: it must be a host name), but is common: we accept
 *   it and use the address directly (still subject to the private filter).
 * - maxHosts caps the MX names looked up (after sorting): names beyond it are
 *   never resolved, and a name without addresses among the first maxHosts
 *   still counts. maxAddressesPerHost caps the addresses taken from each,
 *   counted after private and duplicate addresses are dropped. DNS order of
 *   addresses within one family is kept (servers rotate them already).
 * - The private-address filter (allowPrivateAddresses false) applies to
 *   addresses found in DNS and to address literals, never to the configured
 *   static routes and smarthost (an administrator's smarthost on 127.0.0.1 or
 *   10.0.0.0/8 is normal). Documentation prefixes (192.0.2.0/24,
 *   198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) are not filtered: they
 *   are not routed on the Internet anyway, and tests use them as stand-ins
 *   for public addresses.
 * - Every MX host name failing with "no such name/no address" is a permanent
 *   failure (5.4.4); a temporary DNS error on any of them makes it temporary
 *   (4.4.3). A static route or smarthost that cannot be resolved is always
 *   temporary: it is our own configuration, mail must wait until it is fixed.
 * - Loop detection compares MX names with config.localHostnames only (not the
 *   addresses the names resolve to).
 */
import { BlockList, isIP } from 'node:net';
import { InvalidInputError } from '../lib/errors.ts';
import { isNoRecordError, isQueryableName, normalizeDnsName, type DnsAnswer, type DnsResolver, type MxRecord } from '../mail/dns.ts';

export interface RouteHost {
  /** The name as found (MX exchange, the domain for an implicit MX, the configured host) or the IP address itself (no brackets). */
  host: string;
  /** The IP address to connect to. */
  address: string;
  port: number;
  /** MX preference; 0 for implicit MX, literals, static routes and the smarthost. */
  preference: number;
  /** Set for smarthost routes (config.smarthostAuth). */
  auth?: { user: string; pass: string };
}

export type RouteSource = 'mx' | 'implicit-mx' | 'static' | 'smarthost' | 'literal';

export type RouteResult =
  | { kind: 'hosts'; hosts: RouteHost[]; source: RouteSource }
  | { kind: 'fail'; permanent: boolean; /** Enhanced status code (RFC 3463), e.g. '5.1.10'. */ status: string; text: string };

export type RouteFailure = Extract<RouteResult, { kind: 'fail' }>;

export interface RouteConfig {
  /** Per-domain static routes: domain (lower case) -> 'host', 'host:port', 'ip:port' or '[ip]:port' (port default 25). Exact match, no wildcards. */
  staticRoutes?: ReadonlyMap<string, string>;
  /** All mail through this 'host:port' instead of MX (queue.smarthost); empty or undefined: direct delivery. */
  smarthost?: string;
  /** Credentials to log in to the smarthost with (put on its RouteHosts). */
  smarthostAuth?: { user: string; pass: string };
  /** Port for MX, implicit-MX and literal hosts (default 25; tests pass another). */
  port?: number;
  /** Max MX host names looked up, by preference (default 10; at least 1). */
  maxHosts?: number;
  /** Max addresses taken from one host name (default 4; at least 1). */
  maxAddressesPerHost?: number;
  /**
   * Allow loopback, private, link-local and other non-global addresses found
   * in DNS or given as address literals. Default false: such addresses are
   * skipped as if absent (an MX pointing at 127.0.0.1 or an internal network
   * is a known abuse). Tests set true.
   */
  allowPrivateAddresses?: boolean;
  /** Address families to use (default 'both': IPv4 and IPv6 interleaved per host, IPv4 first). */
  ipFamilies?: 'ipv4' | 'ipv6' | 'both';
  /** Random numbers in [0, 1) to order MX hosts of equal preference (default Math.random). */
  random?: () => number;
  /** Names of this server: MX records naming one of them, and all with a higher preference value, are dropped (RFC 5321 section 5.1). */
  localHostnames?: readonly string[];
}

const DEFAULT_PORT = 25;
const DEFAULT_MAX_HOSTS = 10;
const DEFAULT_MAX_ADDRESSES = 4;

/** A cap from the config: at least 1 (0 or junk would make every domain undeliverable). */
const cap = (value: number | undefined, fallback: number): number => Math.max(1, Math.floor(value ?? fallback) || fallback);

const fail = (permanent: boolean, status: string, text: string): RouteFailure => ({ kind: 'fail', permanent, status, text });

export async function resolveRoute(domain: string, resolver: DnsResolver, config: RouteConfig = {}): Promise<RouteResult> {
  const name = normalizeDnsName(domain);
  const staticRoute = config.staticRoutes?.get(name);
  if (staticRoute !== undefined) return configuredRoute('static', staticRoute, resolver, config, undefined);
  const smarthost = config.smarthost?.trim();
  if (smarthost) return configuredRoute('smarthost', smarthost, resolver, config, config.smarthostAuth);
  if (name.startsWith('[')) return literalRoute(name, config);
  if (!isQueryableName(name)) return fail(true, '5.1.2', `"${domain}" is not a valid domain name`);
  return mxRoute(name, resolver, config);
}

// ---------------------------------------------------------------------------
// host:port

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** A host name per RFC 1123 section 2.1, whose last label is not all digits (RFC 3696 section 2), so '999.1.1.1' is not a name. */
function isHostName(s: string): boolean {
  const labels = s.split('.');
  return s.length <= 253 && labels.every((l) => LABEL.test(l)) && !/^\d+$/.test(labels[labels.length - 1] ?? '');
}

/**
 * Parses 'host', 'host:port', 'ip', 'ip:port', '[ip]', '[ip]:port' and a bare
 * IPv6 address (no port then: use brackets for one). Host names come back in
 * lower case without a trailing dot, addresses without brackets. Throws
 * InvalidInputError on anything else, and on ports outside 1-65535.
 */
export function parseHostPort(value: string, defaultPort: number): { host: string; port: number } {
  const s = value.trim();
  if (isIP(s) === 6) return { host: s.toLowerCase(), port: defaultPort };
  const m = /^(?:\[([^[\]]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(s);
  if (m === null) throw new InvalidInputError(`"${value}" is not host, host:port or [address]:port`);
  const [, bracketed, plain, portText] = m;
  let host: string;
  if (bracketed !== undefined) {
    if (isIP(bracketed) === 0) throw new InvalidInputError(`"${bracketed}" in "${value}" is not an IP address`);
    host = bracketed.toLowerCase();
  } else {
    host = normalizeDnsName(plain ?? '');
    if (isIP(host) === 0 && !isHostName(host)) throw new InvalidInputError(`"${plain ?? ''}" in "${value}" is not a host name or IP address`);
  }
  const port = portText === undefined ? defaultPort : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InvalidInputError(`port in "${value}" is not between 1 and 65535`);
  return { host, port };
}

// ---------------------------------------------------------------------------
// Addresses

/**
 * Addresses that are not globally reachable (the IANA special-purpose
 * registries, RFC 6890), minus the documentation prefixes (see the header).
 * IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are checked against the IPv4
 * rules by BlockList itself.
 */
const NON_GLOBAL = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this network" (RFC 791)
  ['10.0.0.0', 8], // private (RFC 1918)
  ['100.64.0.0', 10], // shared address space (RFC 6598)
  ['127.0.0.0', 8], // loopback (RFC 1122)
  ['169.254.0.0', 16], // link local (RFC 3927)
  ['172.16.0.0', 12], // private (RFC 1918)
  ['192.0.0.0', 24], // IETF protocol assignments (RFC 6890)
  ['192.168.0.0', 16], // private (RFC 1918)
  ['198.18.0.0', 15], // benchmarking (RFC 2544)
  ['224.0.0.0', 4], // multicast (RFC 5771)
  ['240.0.0.0', 4], // reserved, and the limited broadcast address (RFC 1112, RFC 919)
] as const) {
  NON_GLOBAL.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128], // unspecified (RFC 4291)
  ['::1', 128], // loopback (RFC 4291)
  ['100::', 64], // discard only (RFC 6666)
  ['fc00::', 7], // unique local (RFC 4193)
  ['fe80::', 10], // link local (RFC 4291)
  ['fec0::', 10], // site local, deprecated (RFC 3879)
  ['ff00::', 8], // multicast (RFC 4291)
] as const) {
  NON_GLOBAL.addSubnet(net, prefix, 'ipv6');
}

/** Whether `address` is loopback, private, link local or otherwise not globally reachable (anything that is not an IP address counts as private). */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  try {
    return NON_GLOBAL.check(address, family === 4 ? 'ipv4' : 'ipv6');
  } catch {
    return true;
  }
}

interface AddressLookup {
  /** Addresses in the order to try (families interleaved, IPv4 first). */
  addresses: string[];
  /** A temporary DNS error code (ETIMEOUT, ESERVFAIL, ...) from one of the lookups. */
  temporary?: string;
  /** Every lookup said NXDOMAIN (ENOTFOUND): the name does not exist. */
  nxdomain: boolean;
}

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'error';
}

/** Only well-formed addresses of the asked family: a resolver's answer is outside input. */
function addressesOf(answer: DnsAnswer, family: 4 | 6): string[] {
  if (!Array.isArray(answer)) return [];
  return (answer as unknown[]).filter((a): a is string => typeof a === 'string' && isIP(a) === family);
}

/** A and/or AAAA of `name` per ipFamilies (the queries run in parallel). */
async function lookupAddresses(name: string, resolver: DnsResolver, config: RouteConfig): Promise<AddressLookup> {
  const families = config.ipFamilies ?? 'both';
  const types: Array<{ rrtype: 'A' | 'AAAA'; family: 4 | 6 }> = [];
  if (families !== 'ipv6') types.push({ rrtype: 'A', family: 4 });
  if (families !== 'ipv4') types.push({ rrtype: 'AAAA', family: 6 });
  const results = await Promise.allSettled(types.map(({ rrtype, family }) => resolver(name, rrtype).then((answer) => addressesOf(answer, family))));
  const lists: string[][] = [];
  let temporary: string | undefined;
  let nxdomain = true;
  for (const r of results) {
    if (r.status === 'fulfilled') {
      lists.push(r.value);
      nxdomain = false;
    } else if (isNoRecordError(r.reason)) {
      if (errorCode(r.reason) !== 'ENOTFOUND') nxdomain = false;
    } else {
      temporary ??= errorCode(r.reason);
      nxdomain = false;
    }
  }
  return { addresses: interleave(lists), ...(temporary !== undefined && { temporary }), nxdomain };
}

/** [[a1, a2], [b1]] -> [a1, b1, a2] (RFC 8305 section 4). */
function interleave(lists: string[][]): string[] {
  const out: string[] = [];
  for (let i = 0; lists.some((l) => i < l.length); i++) {
    for (const l of lists) {
      const a = l[i];
      if (a !== undefined) out.push(a);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Static routes and the smarthost

async function configuredRoute(
  source: 'static' | 'smarthost',
  value: string,
  resolver: DnsResolver,
  config: RouteConfig,
  auth: { user: string; pass: string } | undefined,
): Promise<RouteResult> {
  const what = source === 'static' ? 'static route' : 'smarthost';
  let target: { host: string; port: number };
  try {
    target = parseHostPort(value, DEFAULT_PORT);
  } catch (err) {
    // RFC 3463 X.3.5: system incorrectly configured. Temporary: the mail waits for the fix.
    return fail(false, '4.3.5', `${what} "${value}" is invalid: ${(err as Error).message}`);
  }
  const host = (address: string): RouteHost => ({ host: target.host, address, port: target.port, preference: 0, ...(auth && { auth }) });
  if (isIP(target.host) !== 0) return { kind: 'hosts', hosts: [host(target.host)], source };
  const found = await lookupAddresses(target.host, resolver, config);
  const addresses = found.addresses.slice(0, cap(config.maxAddressesPerHost, DEFAULT_MAX_ADDRESSES));
  if (addresses.length > 0) return { kind: 'hosts', hosts: addresses.map(host), source };
  if (found.temporary !== undefined) return fail(false, '4.4.3', `DNS lookup of ${what} ${target.host} failed (${found.temporary})`);
  return fail(false, '4.4.4', `${what} ${target.host} has no address`);
}

// ---------------------------------------------------------------------------
// Address literals

/** `[192.0.2.1]` or `[IPv6:2001:db8::1]` (RFC 5321 section 4.1.3): that address, nothing looked up. */
function literalRoute(literal: string, config: RouteConfig): RouteResult {
  const inner = literal.endsWith(']') ? literal.slice(1, -1) : '';
  const v6 = /^ipv6:(.*)$/i.exec(inner);
  const address = v6 ? (v6[1] ?? '') : inner;
  // RFC 5321 4.1.3: IPv4 bare, IPv6 only with the "IPv6:" tag; a General-address-literal (other tags) is not supported.
  if (isIP(address) !== (v6 ? 6 : 4)) return fail(true, '5.1.3', `"${literal}" is not a valid address literal`);
  // Permanent: the address in the recipient will not change; a retry would meet the same filter.
  if (!config.allowPrivateAddresses && isPrivateAddress(address)) {
    return fail(true, '5.4.4', `address literal ${literal} is a private or loopback address; not delivering there`);
  }
  return { kind: 'hosts', hosts: [{ host: address, address, port: config.port ?? DEFAULT_PORT, preference: 0 }], source: 'literal' };
}

// ---------------------------------------------------------------------------
// MX (RFC 5321 section 5.1, RFC 7505)

/** The MX records of an answer that have the right shape (outside input). */
function mxRecordsOf(answer: DnsAnswer): MxRecord[] {
  if (!Array.isArray(answer)) return [];
  return (answer as unknown[]).filter(
    (r): r is MxRecord =>
      typeof r === 'object' && r !== null && typeof (r as MxRecord).exchange === 'string' && Number.isInteger((r as MxRecord).priority) && (r as MxRecord).priority >= 0,
  );
}

/** RFC 5321 5.1: sort by preference, and randomize among equal preferences "to spread the load" (Fisher-Yates per group). */
function orderMx(records: MxRecord[], random: () => number): MxRecord[] {
  const byPreference = new Map<number, MxRecord[]>();
  for (const r of records) {
    const group = byPreference.get(r.priority);
    if (group) group.push(r);
    else byPreference.set(r.priority, [r]);
  }
  const out: MxRecord[] = [];
  for (const preference of [...byPreference.keys()].sort((a, b) => a - b)) {
    const group = byPreference.get(preference) ?? [];
    for (let i = group.length - 1; i > 0; i--) {
      const j = Math.min(i, Math.floor(random() * (i + 1)));
      [group[i], group[j]] = [group[j] as MxRecord, group[i] as MxRecord];
    }
    out.push(...group);
  }
  return out;
}

async function mxRoute(domain: string, resolver: DnsResolver, config: RouteConfig): Promise<RouteResult> {
  let records: MxRecord[];
  try {
    records = mxRecordsOf(await resolver(domain, 'MX'));
  } catch (err) {
    if (!isNoRecordError(err)) return fail(false, '4.4.3', `DNS lookup of MX for ${domain} failed (${errorCode(err)})`);
    records = [];
  }
  // RFC 5321 5.1: no MX records -> the domain itself is the implicit MX.
  if (records.length === 0) return implicitMxRoute(domain, resolver, config);

  // RFC 7505 3: "." (node answers '') is the null MX. Alone: the domain takes no mail.
  // Among other records (a misconfiguration): ignored, the others are tried.
  records = records.filter((r) => normalizeDnsName(r.exchange) !== '');
  if (records.length === 0) return fail(true, '5.1.10', `${domain} does not accept mail (null MX, RFC 7505)`);

  // RFC 5321 5.1: if we are one of the MX hosts, only hosts more preferred than us may be tried.
  const local = new Set((config.localHostnames ?? []).map(normalizeDnsName));
  const ours = records.filter((r) => local.has(normalizeDnsName(r.exchange)));
  if (ours.length > 0) {
    const lowest = Math.min(...ours.map((r) => r.priority));
    records = records.filter((r) => r.priority < lowest);
    if (records.length === 0) {
      return fail(true, '5.4.6', `mail for ${domain} loops back to this server (MX ${ours[0]?.exchange ?? ''} is ours) but the domain is not local`);
    }
  }

  const chosen = orderMx(records, config.random ?? Math.random).slice(0, cap(config.maxHosts, DEFAULT_MAX_HOSTS));
  const lookups = await Promise.all(
    chosen.map(async (r): Promise<AddressLookup> => {
      const name = normalizeDnsName(r.exchange);
      // An IP address as exchange (not allowed, RFC 2181 10.3, but common): used as is.
      if (isIP(name) !== 0) return { addresses: [name], nxdomain: false };
      return lookupAddresses(name, resolver, config);
    }),
  );
  const hosts: RouteHost[] = [];
  const seen = new Set<string>();
  let filtered = 0;
  let temporary: string | undefined;
  const port = config.port ?? DEFAULT_PORT;
  const maxAddresses = cap(config.maxAddressesPerHost, DEFAULT_MAX_ADDRESSES);
  chosen.forEach((r, i) => {
    const found = lookups[i] ?? { addresses: [], nxdomain: true };
    temporary ??= found.temporary;
    // An MX host without addresses is skipped (RFC 5321 5.1: the next one is tried).
    // Private addresses count as absent, and an address already listed under a
    // more preferred host is not repeated; the per-host cap counts what remains.
    let taken = 0;
    for (const address of found.addresses) {
      if (taken >= maxAddresses) break;
      if (!config.allowPrivateAddresses && isPrivateAddress(address)) {
        filtered++;
        continue;
      }
      if (seen.has(address)) continue;
      seen.add(address);
      taken++;
      hosts.push({ host: normalizeDnsName(r.exchange), address, port, preference: r.priority });
    }
  });
  if (hosts.length > 0) return { kind: 'hosts', hosts, source: 'mx' };
  if (temporary !== undefined) return fail(false, '4.4.3', `DNS lookup of the MX hosts of ${domain} failed (${temporary})`);
  if (filtered > 0) return privateOnly(domain, filtered);
  // RFC 5321 5.1: MX records present but none usable "MUST be reported as an error".
  return fail(true, '5.4.4', `no MX host of ${domain} has an address (${chosen.map((r) => r.exchange).join(', ')})`);
}

function privateOnly(domain: string, filtered: number): RouteFailure {
  return fail(false, '4.4.4', `no reachable address for ${domain}: ${filtered} private or loopback address(es) skipped (allowPrivateAddresses is off)`);
}

/** RFC 5321 5.1: the domain as its own MX with preference 0, if it has an address. */
async function implicitMxRoute(domain: string, resolver: DnsResolver, config: RouteConfig): Promise<RouteResult> {
  if ((config.localHostnames ?? []).some((h) => normalizeDnsName(h) === domain)) {
    return fail(true, '5.4.6', `mail for ${domain} loops back to this server (implicit MX) but the domain is not local`);
  }
  const found = await lookupAddresses(domain, resolver, config);
  // Skipped private addresses count as absent (filtered before the per-host cap).
  const usable = found.addresses
    .filter((a) => config.allowPrivateAddresses || !isPrivateAddress(a))
    .slice(0, cap(config.maxAddressesPerHost, DEFAULT_MAX_ADDRESSES));
  if (usable.length > 0) {
    const port = config.port ?? DEFAULT_PORT;
    return { kind: 'hosts', hosts: usable.map((address) => ({ host: domain, address, port, preference: 0 })), source: 'implicit-mx' };
  }
  if (found.temporary !== undefined) return fail(false, '4.4.3', `DNS lookup of ${domain} failed (${found.temporary})`);
  if (found.addresses.length > 0) return privateOnly(domain, found.addresses.length);
  // RFC 3463 X.1.2: the destination system does not exist or cannot take mail.
  if (found.nxdomain) return fail(true, '5.1.2', `domain ${domain} does not exist`);
  return fail(true, '5.1.2', `domain ${domain} has no MX and no address records`);
}
