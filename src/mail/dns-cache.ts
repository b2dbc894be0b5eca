/**
 * A caching DnsResolver: put in front of systemResolver() so that message
 * authentication does not wait on the same SPF, DKIM and DMARC lookups for
 * every message (with an unreachable name server every message waited for
 * its several lookups to time out: 160 -> 26 messages/s, p99 1 s).
 *
 *   - Answers are kept for their TTL where the resolver reports one
 *     (DNS_TTL: A and AAAA from systemResolver), capped at maxTtlSeconds;
 *     answers without one (node reports none for TXT, MX, PTR) for
 *     maxTtlSeconds (5 minutes). A TTL of 0 is not cached (RFC 1035 3.2.1).
 *   - "No record" (NXDOMAIN, NODATA) is negative caching (RFC 2308 5): kept
 *     negativeTtlSeconds (60 s; the SOA minimum would say how long, but node
 *     does not give it).
 *   - Failures (SERVFAIL, timeouts, refused: RFC 2308 7.1, 7.2 allow caching
 *     them up to 5 minutes) are kept failureTtlSeconds (30 s), so a dead
 *     server costs one timeout per name per 30 s, not one per message.
 *   - Concurrent lookups of the same name and type share one query
 *     (single flight); one still pending after maxPendingMs is no longer
 *     joined (the inner resolver should have its own time limit, as
 *     systemResolver does).
 *   - At most maxEntries entries (least recently used dropped first).
 *
 * Every caller gets its own copy of an answer (callers may sort or change
 * it) and a fresh Error. Names are keyed case-insensitively, without a
 * trailing dot, per record type.
 */
import { answerTtl, dnsError, isNoRecordError, normalizeDnsName, type DnsAnswer, type DnsResolver } from './dns.ts';

export interface DnsCacheOptions {
  /** Most entries kept; the least recently used goes first. Default 10,000. */
  maxEntries?: number;
  /** Longest time an answer is kept, and the time for answers without a TTL. Default 300 s. */
  maxTtlSeconds?: number;
  /** How long NXDOMAIN / NODATA are kept (RFC 2308). Default 60 s. */
  negativeTtlSeconds?: number;
  /** How long SERVFAIL, timeouts and other failures are kept. Default 30 s. */
  failureTtlSeconds?: number;
  /** A pending lookup older than this is not joined; a new one starts. Default 60 s. */
  maxPendingMs?: number;
  /** Clock in milliseconds (tests); default Date.now. */
  now?: () => number;
}

export interface DnsCacheStats {
  entries: number;
  /** Answered from the cache. */
  hits: number;
  /** Joined a lookup already under way. */
  joined: number;
  /** Sent to the inner resolver. */
  lookups: number;
}

export interface CachingResolver extends DnsResolver {
  stats(): DnsCacheStats;
  clear(): void;
}

type Outcome = { answer: DnsAnswer; ttlMs: number } | { code: string; ttlMs: number };

interface Entry {
  outcome: Outcome;
  expires: number;
}

interface Pending {
  started: number;
  promise: Promise<Outcome>;
}

const seconds = (v: number | undefined, fallback: number): number => (v !== undefined && Number.isFinite(v) && v >= 0 ? v : fallback);

export function cachingResolver(inner: DnsResolver, opts: DnsCacheOptions = {}): CachingResolver {
  const maxEntries = Math.max(1, Math.floor(seconds(opts.maxEntries, 10_000)));
  const maxTtlMs = seconds(opts.maxTtlSeconds, 300) * 1000;
  const negativeTtlMs = Math.min(seconds(opts.negativeTtlSeconds, 60) * 1000, maxTtlMs);
  const failureTtlMs = Math.min(seconds(opts.failureTtlSeconds, 30) * 1000, maxTtlMs);
  const maxPendingMs = seconds(opts.maxPendingMs, 60_000);
  const now = opts.now ?? Date.now;
  const cache = new Map<string, Entry>();
  const pending = new Map<string, Pending>();
  const stats = { hits: 0, joined: 0, lookups: 0 };

  const remember = (key: string, outcome: Outcome): void => {
    if (outcome.ttlMs <= 0) return;
    cache.delete(key);
    cache.set(key, { outcome, expires: now() + outcome.ttlMs });
    for (const oldest of cache.keys()) {
      if (cache.size <= maxEntries) break;
      cache.delete(oldest);
    }
  };

  const lookup = (key: string, name: string, rrtype: string): Pending => {
    stats.lookups++;
    const started = now();
    const promise: Promise<Outcome> = Promise.resolve()
      .then(() => inner(name, rrtype))
      .then(
        (answer): Outcome => ({ answer, ttlMs: Math.min(maxTtlMs, (answerTtl(answer) ?? Infinity) * 1000) }),
        (err: unknown): Outcome => {
          const code = (err as { code?: unknown } | null)?.code;
          if (typeof code !== 'string') return { code: 'ESERVFAIL', ttlMs: failureTtlMs };
          // Cancelled (the resolver was shut down): says nothing about the name.
          return { code, ttlMs: code === 'ECANCELLED' ? 0 : isNoRecordError(err) ? negativeTtlMs : failureTtlMs };
        },
      )
      .then((outcome) => {
        if (pending.get(key) === p) {
          pending.delete(key);
          remember(key, outcome);
        }
        return outcome;
      });
    const p: Pending = { started, promise };
    return p;
  };

  const answerWith = (outcome: Outcome, name: string, rrtype: string): DnsAnswer => {
    if ('code' in outcome) throw dnsError(outcome.code, name, rrtype);
    return copyAnswer(outcome.answer);
  };

  const resolve = async (name: string, rrtype: string): Promise<DnsAnswer> => {
    const key = `${rrtype} ${normalizeDnsName(String(name))}`;
    const hit = cache.get(key);
    if (hit) {
      cache.delete(key);
      if (hit.expires > now()) {
        cache.set(key, hit); // most recently used
        stats.hits++;
        return answerWith(hit.outcome, name, rrtype);
      }
    }
    let p = pending.get(key);
    if (p && now() - p.started <= maxPendingMs) {
      stats.joined++;
    } else {
      p = lookup(key, name, rrtype);
      pending.set(key, p);
    }
    return answerWith(await p.promise, name, rrtype);
  };

  return Object.assign(resolve, {
    stats: (): DnsCacheStats => ({ entries: cache.size, ...stats }),
    clear: (): void => {
      cache.clear();
      pending.clear();
    },
  });
}

/** A copy a caller may change: the array, and each record (TXT string arrays, MX objects). */
function copyAnswer(answer: DnsAnswer): DnsAnswer {
  if (!Array.isArray(answer)) return answer;
  return (answer as unknown[]).map((r) => (Array.isArray(r) ? [...(r as unknown[])] : typeof r === 'object' && r !== null ? { ...r } : r)) as DnsAnswer;
}
