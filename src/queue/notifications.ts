/**
 * Delivery status notifications for finished attempts (RFC 3461 section 6,
 * RFC 3464): a "failed" report when a recipient bounced or expired, a
 * "delayed" one once per recipient after queue.delayWarningHours, and a
 * "relayed" one for NOTIFY=SUCCESS when the next hop has no DSN support
 * (RFC 3461 5.2.2; a DSN-capable next hop reports success itself). Never to
 * the null sender, never for a DSN, never against NOTIFY=NEVER; one report
 * per message and kind, listing its recipients.
 *
 * A report is sent after the result was recorded; a node that dies between
 * the two loses that report (the delivery state itself is safe).
 */
import type { Logger } from '../lib/log.ts';
import { buildDsnMessage, DEFAULT_MAX_ORIGINAL_BYTES, type DsnAction, type DsnRecipient } from '../mail/dsn.ts';
import type { Database } from '../store/db.ts';
import { readBlobSlice, readQueuedPrefix, type QueueRecipientId } from '../store/queue.ts';
import type { RecipientResult } from './deliver-batch.ts';

/** Messages up to this size come back whole in a report when the sender did not say RET (RFC 3461 4.3 leaves it to us). */
export const FULL_RETURN_BYTES = 256 * 1024;
/** What a headers-only report reads of the original: its header section is in here. */
const HEADER_READ_BYTES = 64 * 1024;

export interface NotifyOptions {
  db: Database;
  hostname: string;
  /** Delivers a report to `to` (locally or through the queue, with the null sender). */
  deliverReport(message: Buffer, to: string, eightBit: boolean): Promise<void>;
  log: Logger;
}

type Kind = 'failed' | 'delayed' | 'relayed';

const wants = (notify: readonly string[] | null, what: 'SUCCESS' | 'FAILURE' | 'DELAY'): boolean =>
  notify === null ? what !== 'SUCCESS' : notify.includes(what) && !notify.includes('NEVER');

/** The report kind a result calls for, if any (delay warnings are decided by the worker: `delayNotified`). */
export function reportKind(r: RecipientResult): Kind | undefined {
  const m = r.recipient.message;
  if (m.mailFrom === '' || m.kind === 'dsn') return undefined;
  if ((r.status === 'failed' || r.status === 'expired') && wants(r.recipient.notify, 'FAILURE')) return 'failed';
  if (r.status === 'queued' && r.delayNotified && wants(r.recipient.notify, 'DELAY')) return 'delayed';
  if (r.status === 'delivered' && r.relayedWithoutDsn && wants(r.recipient.notify, 'SUCCESS')) return 'relayed';
  return undefined;
}

/** Whether a recipient wants delay warnings at all (so the worker only marks those). */
export function wantsDelayWarning(r: RecipientResult): boolean {
  const m = r.recipient.message;
  return m.mailFrom !== '' && m.kind !== 'dsn' && wants(r.recipient.notify, 'DELAY');
}

async function original(db: Database, r: RecipientResult, ret: 'FULL' | 'HDRS'): Promise<Buffer> {
  const m = r.recipient.message;
  const prefix = (await readQueuedPrefix(db, m.id)) ?? Buffer.alloc(0);
  // Bounded: one octet over the cap is enough for buildDsnMessage to fall back to the header section.
  const length = ret === 'FULL' ? Math.min(m.size, DEFAULT_MAX_ORIGINAL_BYTES + 1) : HEADER_READ_BYTES;
  return Buffer.concat([prefix, await readBlobSlice(db, m.blobId, 0, length)]);
}

/** Sends the reports `results` call for (only those whose result was recorded: `written`). */
export async function sendReports(results: readonly RecipientResult[], written: ReadonlySet<QueueRecipientId>, o: NotifyOptions): Promise<number> {
  const groups = new Map<string, { kind: Kind; items: RecipientResult[] }>();
  for (const r of results) {
    if (!written.has(r.id)) continue;
    const kind = reportKind(r);
    if (!kind) continue;
    const key = `${r.recipient.message.id}:${kind}`;
    const g = groups.get(key);
    if (g) g.items.push(r);
    else groups.set(key, { kind, items: [r] });
  }
  let sent = 0;
  for (const { kind, items } of groups.values()) {
    const m = items[0]!.recipient.message;
    const ret = m.ret ?? (m.size <= FULL_RETURN_BYTES && kind === 'failed' ? 'FULL' : 'HDRS');
    try {
      const dsn = buildDsnMessage({
        reportingMta: o.hostname,
        from: `MAILER-DAEMON@${o.hostname}`,
        to: m.mailFrom,
        ...(m.envid ? { envid: m.envid } : {}),
        arrivalDate: m.receivedAt,
        recipients: items.map((r) => dsnRecipient(r, kind === 'relayed' ? 'relayed' : kind)),
        original: await original(o.db, items[0]!, ret),
        ret,
      });
      await o.deliverReport(dsn.message, m.mailFrom, dsn.eightBit);
      sent++;
    } catch (err) {
      o.log.error({ err, queueId: m.id, kind }, 'could not send a delivery status notification');
    }
  }
  return sent;
}

function dsnRecipient(r: RecipientResult, action: DsnAction): DsnRecipient {
  const out: DsnRecipient = {
    address: r.recipient.address,
    action,
    status: r.enhanced ?? (action === 'failed' ? '5.0.0' : action === 'delayed' ? '4.0.0' : '2.0.0'),
    lastAttempt: new Date(),
  };
  if (r.recipient.orcpt) out.orcpt = r.recipient.orcpt;
  if (r.remoteMta) out.remoteMta = r.remoteMta;
  if (r.code !== undefined) out.diagnostic = { code: r.code, text: r.text };
  if (action === 'delayed') out.willRetryUntil = r.recipient.message.expiresAt;
  return out;
}
