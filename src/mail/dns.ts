/**
 * DNS lookups for message authentication (SPF, DKIM, DMARC, ARC).
 *
 * A `DnsResolver` has the calling convention of node's `dns.promises.resolve`
 * (and of mailauth's `resolver` option): `resolver(name, rrtype)` answers
 *
 *   TXT        string[][]  (one array of character-strings per record)
 *   MX         { exchange, priority }[]
 *   A, AAAA    string[]    (addresses)
 *   PTR        string[]    (host names)
 *
 * and fails with an Error whose `code` is one of node's DNS codes. mailauth
 * looks at the code: ENOTFOUND (NXDOMAIN) and ENODATA (the name exists, no
 * record of that type) mean "no record", anything else (ETIMEOUT, ESERVFAIL,
 * EREFUSED, ...) is a temporary failure.
 *
 * The code in src/mail never reaches the network by itself: it gets a resolver
 * injected. `systemResolver()` is the production one (node's resolver with a
 * time limit; `tegu serve` puts dns-cache.ts's cachingResolver in front of
 * it), `fakeResolver()` answers from a table for tests.
 */
import { Resolver } from 'node:dns/promises';

export interface MxRecord {
  exchange: string;
  priority: number;
}

/** What each record type answers, in node's shapes. */
export interface DnsAnswers {
  TXT: string[][];
  MX: MxRecord[];
  A: string[];
  AAAA: string[];
  PTR: string[];
}

export type DnsRecordType = keyof DnsAnswers;

export const DNS_RECORD_TYPES: readonly DnsRecordType[] = ['TXT', 'MX', 'A', 'AAAA', 'PTR'];

export type DnsAnswer = DnsAnswers[DnsRecordType];

/**
 * `(name, rrtype) => Promise<answer>` like `dns.promises.resolve`. The rrtype
 * is a plain string because that is how mailauth calls it; a resolver rejects
 * types it does not know with ENOTIMP.
 *
 * mailauth's own declaration (`DNSResolver` in its index.d.ts) says
 * `Promise<string[][] | string[]>`, which forgets that MX answers are
 * objects (its SPF code reads `mx.exchange` and `mx.priority`).
 */
export type DnsResolver = (name: string, rrtype: string) => Promise<DnsAnswer>;

/** DNS error codes as node reports them (node:dns constants). */
export type DnsErrorCode =
  | 'ENOTFOUND'
  | 'ENODATA'
  | 'ESERVFAIL'
  | 'ETIMEOUT'
  | 'EREFUSED'
  | 'ECONNREFUSED'
  | 'EBADRESP'
  | 'ENOTIMP'
  | 'EFORMERR'
  | 'ECANCELLED';

export interface DnsError extends Error {
  code: string;
  hostname: string;
  syscall: string;
}

const SYSCALL: Record<string, string> = { TXT: 'queryTxt', MX: 'queryMx', A: 'queryA', AAAA: 'queryAaaa', PTR: 'queryPtr' };

/** An Error shaped like the ones node's resolver rejects with (`queryTxt ENOTFOUND example.test`). */
export function dnsError(code: DnsErrorCode | string, name: string, rrtype: string): DnsError {
  const syscall = SYSCALL[rrtype] ?? 'query';
  const err = new Error(`${syscall} ${code} ${name}`) as DnsError;
  err.code = code;
  err.hostname = name;
  err.syscall = syscall;
  return err;
}

/**
 * The time to live of an answer in seconds, where the resolver knows it
 * (systemResolver: A and AAAA, the smallest of the records' TTLs), attached
 * to the answer array under this symbol (not an element: mailauth and copies
 * never see it). Read it with answerTtl(). See dns-cache.ts.
 */
export const DNS_TTL: unique symbol = Symbol('tegu.dns.ttl');

/** The TTL attached to an answer (seconds), if any. */
export function answerTtl(answer: unknown): number | undefined {
  const ttl = Array.isArray(answer) ? (answer as { [DNS_TTL]?: unknown })[DNS_TTL] : undefined;
  return typeof ttl === 'number' && Number.isFinite(ttl) && ttl >= 0 ? ttl : undefined;
}

function withTtl(records: ReadonlyArray<{ address: string; ttl: number }>): string[] {
  const answer = records.map((r) => r.address);
  if (records.length > 0) Object.defineProperty(answer, DNS_TTL, { value: Math.min(...records.map((r) => r.ttl)) });
  return answer;
}

/** "No record": the name does not exist, or has no record of the asked type. */
export function isNoRecordError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ENOTFOUND' || code === 'ENODATA';
}

export function isDnsRecordType(rrtype: string): rrtype is DnsRecordType {
  return (DNS_RECORD_TYPES as readonly string[]).includes(rrtype);
}

/** Lower case, no trailing dot: the form names are compared in. */
export function normalizeDnsName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/**
 * Whether `name` can be asked at all (RFC 1035 2.3.4: at most 253 octets in
 * text form, labels of 1 to 63 octets). Names that cannot exist need no query:
 * the answer is NXDOMAIN. Non-ASCII names must have been converted to
 * A-labels (punycode) by the caller; mailauth does that.
 */
export function isQueryableName(name: string): boolean {
  const n = name.replace(/\.$/, '');
  if (n.length === 0 || n.length > 253) return false;
  if (!/^[\x21-\x7e]+$/.test(n)) return false;
  return n.split('.').every((label) => label.length >= 1 && label.length <= 63);
}

// ---------------------------------------------------------------------------
// The system resolver

export interface SystemResolverOptions {
  /** Upper bound for one lookup, retries included (default 5000 ms). */
  timeoutMs?: number;
  /** Name servers (`'192.0.2.53'`, `'[2001:db8::53]:5353'`); default: the system's (resolv.conf). */
  servers?: string[];
}

/**
 * node's resolver (c-ares) with a hard time limit per lookup. c-ares retries
 * with a growing per-try timeout, so its own `timeout` option does not bound
 * the total; a timer does. A lookup that runs out of time fails with
 * ETIMEOUT. Names that cannot exist (see isQueryableName, or c-ares EBADNAME)
 * fail with ENOTFOUND without a query: an attacker-written DKIM selector or
 * SPF macro expansion is then "no record", not a temporary error.
 */
export function systemResolver(opts: SystemResolverOptions = {}): DnsResolver {
  const timeoutMs = Math.min(600_000, Math.max(1, Math.floor(opts.timeoutMs ?? 5000) || 5000));
  const resolver = new Resolver({ timeout: Math.max(1, Math.floor(timeoutMs / 2)), tries: 2 });
  if (opts.servers?.length) resolver.setServers(opts.servers);

  return async (name, rrtype) => {
    if (!isDnsRecordType(rrtype)) throw dnsError('ENOTIMP', name, rrtype);
    if (typeof name !== 'string' || !isQueryableName(name)) throw dnsError('ENOTFOUND', String(name), rrtype);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(dnsError('ETIMEOUT', name, rrtype)), timeoutMs);
    });
    try {
      return await Promise.race([query(resolver, name, rrtype), timeout]);
    } catch (err) {
      const code = (err as { code?: unknown } | null)?.code;
      if (code === 'EBADNAME') throw dnsError('ENOTFOUND', name, rrtype);
      if (err instanceof Error && typeof code === 'string') throw err;
      throw dnsError('ESERVFAIL', name, rrtype);
    } finally {
      clearTimeout(timer);
    }
  };
}

/** node gives TTLs for A and AAAA only (c-ares' TXT, MX and PTR answers have none): those get DNS_TTL. */
async function query(resolver: Resolver, name: string, rrtype: DnsRecordType): Promise<DnsAnswer> {
  switch (rrtype) {
    case 'TXT':
      return resolver.resolveTxt(name);
    case 'MX':
      return resolver.resolveMx(name);
    case 'A':
      return withTtl(await resolver.resolve4(name, { ttl: true }));
    case 'AAAA':
      return withTtl(await resolver.resolve6(name, { ttl: true }));
    case 'PTR':
      return resolver.resolvePtr(name);
  }
}

// ---------------------------------------------------------------------------
// The fake resolver (tests)

/**
 * A failure the fake resolver answers with instead of records: a DNS error
 * code (ESERVFAIL, ETIMEOUT, ...), or `'hang'`: the lookup never settles (a
 * dead server and no client timeout), to test the caller's own time limit.
 */
export interface DnsFault {
  fail: Exclude<DnsErrorCode, 'ENOTFOUND' | 'ENODATA'> | 'hang';
}

/**
 * The records of one name. A TXT record is given either as one string (split
 * into 255-octet character-strings, as a zone file or DNS server would) or as
 * its character-strings.
 */
export interface FakeRecordSet {
  TXT?: Array<string | string[]> | DnsFault;
  MX?: MxRecord[] | DnsFault;
  A?: string[] | DnsFault;
  AAAA?: string[] | DnsFault;
  PTR?: string[] | DnsFault;
}

/** name -> its records, or a fault for every query of that name. */
export type FakeZone = Record<string, FakeRecordSet | DnsFault>;

export interface FakeResolverOptions {
  /** Called for every query (to assert what was looked up). */
  onQuery?: (name: string, rrtype: string) => void;
}

function isFault(value: unknown): value is DnsFault {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && 'fail' in value;
}

/** A TXT string as DNS carries it: character-strings of at most 255 octets (RFC 1035 3.3.14). */
function splitCharacterStrings(text: string): string[] {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length === 0) return [''];
  const parts: string[] = [];
  for (let i = 0; i < bytes.length; i += 255) parts.push(bytes.subarray(i, i + 255).toString('utf8'));
  return parts;
}

/**
 * A resolver answering from a table. Names are matched case-insensitively,
 * with or without the trailing dot. Like a real server it answers
 *   - NXDOMAIN (ENOTFOUND) for a name that is neither in the table nor an
 *     ancestor of one,
 *   - NODATA (ENODATA) for a name that exists (in the table, or an empty
 *     non-terminal such as `_domainkey.example.test` when
 *     `sel._domainkey.example.test` is in it) but has no record of the type,
 *     and for an empty record list,
 *   - the fault's code (or never) for a DnsFault.
 * Every answer is a fresh copy, so a caller that sorts or mutates it cannot
 * change the table.
 */
export function fakeResolver(zone: FakeZone, opts: FakeResolverOptions = {}): DnsResolver {
  const table = new Map<string, FakeRecordSet | DnsFault>();
  const existing = new Set<string>();
  for (const [rawName, records] of Object.entries(zone)) {
    const name = normalizeDnsName(rawName);
    table.set(name, records);
    const labels = name.split('.');
    for (let i = 0; i < labels.length; i++) existing.add(labels.slice(i).join('.'));
  }

  return async (name, rrtype) => {
    opts.onQuery?.(name, rrtype);
    if (!isDnsRecordType(rrtype)) throw dnsError('ENOTIMP', name, rrtype);
    const key = normalizeDnsName(String(name));
    const entry = table.get(key);
    if (isFault(entry)) return fault(entry, name, rrtype);
    const records = entry?.[rrtype];
    if (isFault(records)) return fault(records, name, rrtype);
    if (records === undefined || records.length === 0) {
      throw dnsError(existing.has(key) ? 'ENODATA' : 'ENOTFOUND', name, rrtype);
    }
    switch (rrtype) {
      case 'TXT':
        return (records as Array<string | string[]>).map((r) => (typeof r === 'string' ? splitCharacterStrings(r) : [...r]));
      case 'MX':
        return (records as MxRecord[]).map((r) => ({ exchange: r.exchange, priority: r.priority }));
      default:
        return [...(records as string[])];
    }
  };
}

function fault(f: DnsFault, name: string, rrtype: string): Promise<never> {
  if (f.fail === 'hang') return new Promise<never>(() => {});
  return Promise.reject(dnsError(f.fail, name, rrtype));
}
