/**
 * One delivery attempt for a batch of claimed recipients of ONE domain: find
 * the route (routes.ts), connect to its hosts in order (RFC 5321 5.1: try
 * the next host when one cannot be reached or answers 4xx to the session),
 * send every message of the batch over that one connection, and turn each
 * recipient's reply into what happens next: delivered, failed (5xx), retry
 * later (backoff.ts) or expired.
 */
import type { Logger } from '../lib/log.ts';
import type { DnsResolver } from '../mail/dns.ts';
import type { Database } from '../store/db.ts';
import { readBlobSlice, readQueuedPrefix, type AttemptResult, type ClaimedRecipient, type QueueMessageId } from '../store/queue.ts';
import { schedule, type BackoffOptions } from './backoff.ts';
import type { ConnectionCache } from './connection-cache.ts';
import { resolveRoute, type RouteConfig, type RouteHost } from './routes.ts';
import { SmtpClient, SmtpConnectionError, type SmtpClientOptions, type SmtpResult } from './smtp-client.ts';

/** Blob octets read per query while a message streams out. */
export const SEND_CHUNK_BYTES = 1024 * 1024;

export interface BatchOptions {
  db: Database;
  resolver: DnsResolver;
  route: RouteConfig;
  /** Our host name: EHLO, and the name of MX records that would loop back to us. */
  hostname: string;
  /** Domains whose mail only leaves over verified TLS (queue.requireTlsDomains). */
  requireTls: (domain: string) => boolean;
  /** Client settings for every connection (timeouts; CA certificates in tests). */
  client?: Partial<Pick<SmtpClientOptions, 'timeouts' | 'ca' | 'maxReplyBytes' | 'localAddress'>>;
  backoff?: BackoffOptions;
  now: () => Date;
  log: Logger;
  /**
   * Called with results as soon as they are final (after each message, so a
   * node that dies mid-batch has recorded nearly all it delivered), one call
   * at a time, while the batch goes on; deliverBatch resolves after the last
   * call finished, and rejects with the first error one threw.
   */
  onResults?: (results: RecipientResult[]) => Promise<void>;
  /** Idle connections to reuse, and where this batch leaves its own. */
  connections?: ConnectionCache;
}

/** What one recipient's attempt came to, with what its notifications need. */
export interface RecipientResult extends AttemptResult {
  recipient: ClaimedRecipient;
  /** The remote MTA that answered, when one did. */
  remoteMta?: string | undefined;
  /** The next hop did not offer DSN (RFC 3461 5.2.2: a NOTIFY=SUCCESS sender gets a "relayed" report from us). */
  relayedWithoutDsn?: boolean;
}

function hostLabel(h: RouteHost): string {
  return h.host === h.address ? `[${h.address}]` : `${h.host} [${h.address}]`;
}

async function* messageBytes(db: Database, messageId: QueueMessageId, blobId: ClaimedRecipient['message']['blobId']): AsyncGenerator<Buffer> {
  const prefix = await readQueuedPrefix(db, messageId);
  if (prefix === undefined) throw new Error(`queued message ${messageId} is gone`);
  if (prefix.length > 0) yield prefix;
  for (let at = 0; ; at += SEND_CHUNK_BYTES) {
    const chunk = await readBlobSlice(db, blobId, at, SEND_CHUNK_BYTES);
    if (chunk.length > 0) yield chunk;
    if (chunk.length < SEND_CHUNK_BYTES) return;
  }
}

/** Recipients grouped by message, in claim order. */
function byMessage(batch: readonly ClaimedRecipient[]): ClaimedRecipient[][] {
  const groups = new Map<number, ClaimedRecipient[]>();
  for (const r of batch) {
    const g = groups.get(r.message.id);
    if (g) g.push(r);
    else groups.set(r.message.id, [r]);
  }
  return [...groups.values()];
}

/**
 * Delivers the batch; resolves with one result per recipient (never
 * rejects for remote failures: they are results).
 */
export async function deliverBatch(batch: readonly ClaimedRecipient[], o: BatchOptions): Promise<RecipientResult[]> {
  const first = batch[0];
  if (!first) return [];
  const domain = first.domain;
  const results = new Map<number, RecipientResult>();
  // Results are recorded while the next message goes out (a commit waits for the WAL flush:
  // awaiting it per message would put that wait between every two messages); results that
  // come in while one write is running go together in the next. flush() starts a write,
  // settled() waits for all of them.
  let fresh: RecipientResult[] = [];
  let writer: Promise<void> | undefined;
  let writeError: unknown;
  const flush = (): void => {
    if (fresh.length === 0 || !o.onResults || writer) return;
    const onResults = o.onResults;
    writer = (async () => {
      try {
        while (fresh.length > 0) {
          const out = fresh;
          fresh = [];
          await onResults(out);
        }
      } catch (err) {
        writeError ??= err;
      } finally {
        writer = undefined;
      }
    })();
  };
  const settled = async (): Promise<void> => {
    flush();
    while (writer) await writer;
    if (writeError !== undefined) throw writeError;
  };
  const settle = (r: ClaimedRecipient, res: SmtpResult, extra: { remoteMta?: string; accepted?: boolean; relayedWithoutDsn?: boolean } = {}): void => {
    const result = toAttempt(r, res, o, extra);
    results.set(r.id, result);
    fresh.push(result);
  };

  const route = await resolveRoute(domain, o.resolver, { ...o.route, localHostnames: [o.hostname, ...(o.route.localHostnames ?? [])] });
  if (route.kind === 'fail') {
    const res: SmtpResult = { code: route.permanent ? 550 : 451, enhanced: route.status, text: route.text, local: true };
    for (const r of batch) settle(r, res);
    await settled();
    return [...results.values()];
  }

  let pending = byMessage(batch);
  let lastError: SmtpResult = { code: 451, enhanced: '4.4.1', text: 'No answer from any host', local: true };
  const required = o.requireTls(domain);
  for (const host of route.hosts) {
    if (pending.length === 0) break;
    const options: SmtpClientOptions = {
      ...o.client,
      host: host.address,
      port: host.port,
      ...(host.host !== host.address ? { serverName: host.host } : {}),
      heloName: o.hostname,
      tls: required ? 'required' : 'opportunistic',
      ...(required ? { verifyCertificate: true } : {}),
      ...(host.auth ? { auth: host.auth } : {}),
    };
    const key = `${host.address}|${host.port}|${host.host}|${options.tls}|${host.auth?.user ?? ''}`;
    let client = o.connections?.take(key);
    let reused = client !== undefined;
    if (!client) {
      try {
        client = await SmtpClient.connect(options);
      } catch (err) {
        lastError = connectionResult(err, hostLabel(host));
        o.log.info({ domain, host: hostLabel(host), err: lastError.text }, 'outbound connection failed');
        // A 5xx greeting or EHLO from a host is its final word on the session (RFC 5321 3.1), not on the
        // mail: the next MX may still take it, and when none does the result stays what the last said.
        continue;
      }
    }
    const label = hostLabel(host);
    const dsn = client.extensions.has('DSN');
    const rest: ClaimedRecipient[][] = [];
    try {
      for (const group of pending) {
        const m = group[0]!.message;
        if (!client.usable) {
          rest.push(group);
          continue;
        }
        try {
          if (reused) {
            // An idle connection the server may have dropped meanwhile: check it, else start afresh.
            reused = false;
            if (!(await client.rset())) {
              client.close();
              client = await SmtpClient.connect(options);
            }
          }
          const outcome = await client.send(
            {
              mailFrom: m.mailFrom,
              recipients: group.map((r) => ({
                address: r.address,
                ...(r.notify ? { notify: r.notify } : {}),
                ...(r.orcpt ? { orcpt: r.orcpt } : {}),
              })),
              ...(m.ret ? { ret: m.ret } : {}),
              ...(m.envid ? { envid: m.envid } : {}),
              smtputf8: m.smtputf8,
              eightBitMime: m.eightBit,
              size: m.size,
            },
            m.content ?? messageBytes(o.db, m.id, m.blobId),
          );
          for (const [i, r] of group.entries()) {
            const out = outcome.recipients[i];
            if (!out) continue;
            settle(r, out.result, { remoteMta: label, accepted: out.accepted, relayedWithoutDsn: out.accepted && !dsn });
          }
        } catch (err) {
          if (err instanceof SmtpConnectionError && err.outcome) {
            // Part-way: recipients the server already refused keep that; the rest try the next host.
            const retry: ClaimedRecipient[] = [];
            for (const [i, r] of group.entries()) {
              const out = err.outcome.recipients[i];
              if (out && out.permanent) settle(r, out.result, { remoteMta: label });
              else retry.push(r);
            }
            if (retry.length > 0) rest.push(retry);
          } else rest.push(group);
          lastError = connectionResult(err, label);
          o.log.info({ domain, host: label, err: lastError.text }, 'outbound session failed');
        }
        flush();
      }
    } finally {
      if (o.connections && client.usable) o.connections.give(key, client);
      else if (client.usable) await client.quit().catch(() => undefined);
      else client.close();
    }
    pending = rest;
  }
  for (const group of pending) for (const r of group) settle(r, lastError);
  await settled();
  return batch.map((r) => results.get(r.id)!);
}

function connectionResult(err: unknown, label: string): SmtpResult {
  if (err instanceof SmtpConnectionError) {
    if (err.result) {
      // A session refused with 5xx (a 554 greeting, RFC 5321 3.1) speaks for that host, not for the
      // mail: when no other host takes it, it is retried later (as Postfix does), not bounced.
      if (err.temporary && err.result.code >= 500) {
        return { code: 451, enhanced: '4.4.2', text: `${label}: session refused: ${err.result.code} ${err.result.text}`, local: true };
      }
      return { ...err.result, text: `${label}: ${err.result.text}` };
    }
    return { code: err.temporary ? 451 : 550, enhanced: err.temporary ? '4.4.1' : '5.4.1', text: `${label}: ${err.message}`, local: true };
  }
  return { code: 451, enhanced: '4.4.1', text: `${label}: ${err instanceof Error ? err.message : String(err)}`, local: true };
}

function toAttempt(
  r: ClaimedRecipient,
  res: SmtpResult,
  o: BatchOptions,
  extra: { remoteMta?: string; accepted?: boolean; relayedWithoutDsn?: boolean },
): RecipientResult {
  const base = {
    recipient: r,
    id: r.id,
    attempt: r.attempt,
    code: res.code,
    enhanced: res.enhanced,
    text: res.text,
    host: extra.remoteMta,
    remoteMta: res.local ? undefined : extra.remoteMta,
  };
  if (extra.accepted) return { ...base, status: 'delivered', relayedWithoutDsn: extra.relayedWithoutDsn ?? false };
  if (res.code >= 500) return { ...base, status: 'failed' };
  const next = schedule(r.attempt, o.now(), r.message.expiresAt, o.backoff);
  if (next.kind === 'expire') return { ...base, status: 'expired' };
  return { ...base, status: 'queued', nextAttemptAt: next.at };
}
