/**
 * Outbound mail at submission (RFC 6409): who may send as which address,
 * the RFC 5322 From check, and the DKIM signature (RFC 6376) the message
 * leaves with. The queue itself is store/queue.ts; delivery is src/queue.
 */
import { randomBytes } from 'node:crypto';
import { InvalidInputError, NotFoundError } from '../lib/errors.ts';
import { parseAddress, stripSubaddress } from '../lib/address.ts';
import { dkimTxtRecord, generateDkimKey } from '../mail/dkim-keys.ts';
import { signMessage } from '../mail/dkim-sign.ts';
import { buildDsnMessage } from '../mail/dsn.ts';
import { headerValue, parseHeaderBlock } from '../mail/headers.ts';
import { parseAddressList } from '../mail/mime-address.ts';
import type { Database, Queryable } from '../store/db.ts';
import { deactivateOtherDkimKeys, dkimKeysOf, insertDkimKey, type DkimAlgorithm, type DkimKeyRow } from '../store/dkim.ts';
import { aliasHasTarget, findDomain } from '../store/directory.ts';
import { deliverMessage } from './deliver.ts';
import type { ResolvedRecipients } from './recipients.ts';
import { readSpooledMessage, type SpooledMessage } from './spool.ts';

/**
 * submission.senderPolicy: own = the account's address (with a subaddress)
 * and the aliases that deliver to it; domain = also any address of the
 * account's domain; any = no check (a trusted relay setup).
 */
export type SenderPolicy = 'own' | 'domain' | 'any';

export interface Sender {
  address: string;
}

/** May `account` use `address` as envelope sender or From? */
export async function mayUseSender(q: Queryable, account: Sender, address: string, policy: SenderPolicy, subaddressSeparator: string): Promise<boolean> {
  if (policy === 'any') return true;
  let candidate: string;
  try {
    const parsed = parseAddress(address);
    const base = subaddressSeparator ? (stripSubaddress(parsed, subaddressSeparator) ?? parsed) : parsed;
    candidate = base.address.toLowerCase();
  } catch {
    return false;
  }
  const own = account.address.toLowerCase();
  if (candidate === own) return true;
  if (policy === 'domain' && candidate.slice(candidate.lastIndexOf('@')) === own.slice(own.lastIndexOf('@'))) return true;
  // An alias (not a catch-all) that delivers to this account.
  return aliasHasTarget(q, candidate, own);
}

/** The addresses in the message's From field (RFC 5322 3.6.2); empty when there is none or it has none. */
export function headerFromAddresses(message: Buffer | SpooledMessage): string[] {
  const head = Buffer.isBuffer(message) ? message : message.head;
  const value = headerValue(parseHeaderBlock(head), 'from');
  const list = parseAddressList(value) ?? [];
  const out: string[] = [];
  for (const [, , mailbox, host] of list) {
    if (mailbox === null || host === null) continue; // group syntax markers (RFC 9051 7.5.2)
    out.push(`${mailbox}@${host}`);
  }
  return out;
}

/**
 * The DKIM-Signature field(s) for a message leaving with `prefix` (the
 * Received line) before it, signed with the active keys of `fromDomain`;
 * empty when the domain has none.
 */
export async function dkimSignatureFor(db: Database, message: Buffer | SpooledMessage, prefix: Buffer, fromDomain: string): Promise<Buffer> {
  const keys = await dkimKeysOf(db, fromDomain, { activeOnly: true });
  if (keys.length === 0) return Buffer.alloc(0);
  const body = Buffer.isBuffer(message) ? message : await collect(readSpooledMessage(db, message));
  const header = await signMessage(Buffer.concat([prefix, body]), keys.map((k) => ({
    domain: k.domain,
    selector: k.selector,
    privateKeyPem: k.privateKeyPem,
    algorithm: k.algorithm,
  })));
  return Buffer.from(header, 'utf8');
}

async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of chunks) parts.push(c);
  return Buffer.concat(parts);
}

export interface DkimRecord {
  domain: string;
  selector: string;
  algorithm: DkimAlgorithm;
  /** <selector>._domainkey.<domain> */
  name: string;
  /** The TXT value (v=DKIM1; k=...; p=...). */
  value: string;
  /** A zone-file line, the value in strings of at most 255 characters. */
  zoneLine: string;
  created: boolean;
}

/** A new selector: the year and month, and a random part so two keys of one month differ (e.g. tegu202611a1b2). */
function newSelector(now: Date): string {
  const ym = `${now.getUTCFullYear()}${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
  return `tegu${ym}${randomBytes(2).toString('hex')}`;
}

/**
 * The DKIM key of a domain, generated (and stored) when it has no active
 * one of the algorithm, or when `rotate` asks for a new one (the older keys
 * of the algorithm then stop signing); returns its DNS record.
 */
export async function ensureDkimKey(
  db: Database,
  domainName: string,
  opts: { algorithm?: DkimAlgorithm; rotate?: boolean; now?: Date } = {},
): Promise<DkimRecord> {
  const domain = await findDomain(db, domainName.toLowerCase());
  if (!domain) throw new NotFoundError(`no such domain: ${domainName}`);
  const algorithm = opts.algorithm ?? 'rsa-sha256';
  let key: DkimKeyRow | undefined;
  let created = false;
  if (!opts.rotate) key = (await dkimKeysOf(db, domain.name, { activeOnly: true })).find((k) => k.algorithm === algorithm);
  if (!key) {
    const generated = generateDkimKey(algorithm);
    for (let i = 0; i < 5 && !key; i++) {
      key = await insertDkimKey(db, {
        domainId: domain.id,
        selector: newSelector(opts.now ?? new Date()),
        algorithm,
        privateKeyPem: generated.privateKeyPem,
        publicKey: generated.publicKeyDer,
      });
    }
    if (!key) throw new InvalidInputError('could not find a free DKIM selector');
    created = true;
    // A rotation signs with the new key only; keep the old TXT record published until mail signed with it is old.
    if (opts.rotate) await deactivateOtherDkimKeys(db, domain.id, algorithm, key.id);
  }
  const record = dkimTxtRecord(key.selector, domain.name, key.algorithm, key.publicKey);
  return { domain: domain.name, selector: key.selector, algorithm: key.algorithm, ...record, created };
}

export interface ReportTarget {
  isLocalDomain(domain: string): Promise<boolean>;
  resolveRecipient(address: string): Promise<ResolvedRecipients | undefined>;
}

/**
 * Delivers a report we generated (a DSN) to `to`: into the INBOX of a local
 * sender, else through the queue with the null reverse-path (RFC 3461 6.2:
 * reports are never reported on). A local sender that no longer exists
 * gets nothing (there is nobody to tell). Returns where it went.
 */
export async function deliverReport(
  db: Database,
  target: ReportTarget,
  message: Buffer,
  to: string,
  opts: { lifetimeHours: number; eightBit?: boolean },
): Promise<'local' | 'queued' | 'dropped'> {
  const domain = to.slice(to.lastIndexOf('@') + 1).toLowerCase();
  if (await target.isLocalDomain(domain)) {
    const resolved = await target.resolveRecipient(to);
    if (!resolved || resolved.local.length === 0) return 'dropped';
    await deliverMessage(db, {
      message,
      recipients: resolved.local.map((l) => ({ accountId: l.account.id, mailbox: 'INBOX', deliveredTo: l.account.address })),
    });
    return 'local';
  }
  await deliverMessage(db, {
    message,
    recipients: [],
    outbound: {
      headerPrefix: Buffer.alloc(0),
      mailFrom: '',
      kind: 'dsn',
      eightBit: opts.eightBit ?? false,
      expiresAt: new Date(Date.now() + opts.lifetimeHours * 3_600_000),
      recipients: [{ address: to, notify: ['NEVER'] }],
    },
  });
  return 'queued';
}

export interface DeliveredReport {
  /** Our host name (Reporting-MTA, and MAILER-DAEMON@ it). */
  hostname: string;
  /** The envelope sender; nothing is sent for '' (RFC 3461 6.2). */
  mailFrom: string;
  envid?: string | undefined;
  ret?: 'FULL' | 'HDRS' | undefined;
  arrivalDate: Date;
  /** The recipients that asked for NOTIFY=SUCCESS and were delivered here. */
  recipients: { address: string; orcpt?: string | undefined }[];
  /** The original: the whole message when in memory, else its header section. */
  original: Buffer;
  lifetimeHours: number;
}

/**
 * RFC 3461 6.2.2: the final delivery of a recipient that asked for
 * NOTIFY=SUCCESS is reported to the sender ("delivered", 2.0.0). Sent after
 * the delivery committed, best effort (a lost report loses no mail).
 */
export async function reportDelivered(db: Database, target: ReportTarget, r: DeliveredReport): Promise<void> {
  if (r.mailFrom === '' || r.recipients.length === 0) return;
  const dsn = buildDsnMessage({
    reportingMta: r.hostname,
    from: `MAILER-DAEMON@${r.hostname}`,
    to: r.mailFrom,
    ...(r.envid ? { envid: r.envid } : {}),
    arrivalDate: r.arrivalDate,
    recipients: r.recipients.map((x) => ({ address: x.address, ...(x.orcpt ? { orcpt: x.orcpt } : {}), action: 'delivered' as const, status: '2.0.0' })),
    original: r.original,
    ret: r.ret ?? 'HDRS',
  });
  await deliverReport(db, target, dsn.message, r.mailFrom, { lifetimeHours: r.lifetimeHours, eightBit: dsn.eightBit });
}
