/**
 * Local delivery (the MDA): one received message into the mailboxes of many
 * local recipients, in ONE transaction, with the bytes stored ONCE. SMTP and
 * LMTP reply 250 only after this resolves, i.e. after COMMIT; if it throws,
 * nothing of the message is stored (the transaction rolled back) and the
 * client gets a 4xx and retries.
 *
 * The blob is the message exactly as the client sent it; the lines this server
 * adds (Delivered-To, RFC 9228, per recipient; Return-Path, Received and
 * Authentication-Results per delivery) go into each message's header_prefix,
 * so the shared blob stays one row however many recipients.
 *
 * A submission with remote recipients passes `outbound`: they are queued
 * (store/queue.ts) in the same transaction as the local copies, on the same
 * blob, so the 250 covers both (docs/queue.md).
 */
import { createHash } from 'node:crypto';
import { NotFoundError } from '../lib/errors.ts';
import type { AccountId, MailboxId, ModSeq, Uid } from '../lib/ids.ts';
import { summarizeMessage, summarizeParsed } from '../mail/headers.ts';
import type { Database, Queryable } from '../store/db.ts';
import { insertMessage, putBlob, type MessageContent, type NewMessage } from '../store/messages.ts';
import { enqueueMessage, enqueueWithBlob, type NewQueueMessage } from '../store/queue.ts';
import { notifyAll } from '../store/ops.ts';
import { assembleBlob } from '../store/spool.ts';
import type { SpooledMessage } from './spool.ts';
import { announceChanges, mailboxHint } from './change-hints.ts';
import { ensureDefaultMailboxes } from './mailboxes.ts';

export interface DeliveryRecipient {
  accountId: AccountId;
  /** Mailbox name, INBOX unless a rule (Sieve, DMARC quarantine -> Junk) says otherwise. */
  mailbox: string;
  /** The address this copy was delivered to, written as Delivered-To. */
  deliveredTo: string;
}

export interface DeliveryInput {
  /** The message as the client sent it (in memory, or spooled in the database): stored as the blob. */
  message: Buffer | SpooledMessage;
  /**
   * Header lines this server adds for every recipient (Return-Path, Received,
   * Authentication-Results): kept with each message, after Delivered-To and
   * before the blob, so the blob stays the client's bytes and is shared.
   */
  headers?: Buffer;
  recipients: readonly DeliveryRecipient[];
  internalDate?: Date;
  /** Remote recipients to queue in the same transaction (the blob is shared with the local copies). */
  outbound?: Omit<NewQueueMessage, 'blobId' | 'size'>;
}

/** NOTIFY channel telling the queue workers of every node that something was queued. A hint only. */
export const QUEUE_CHANNEL = 'tegu_queue';

export interface DeliveredCopy {
  accountId: AccountId;
  mailboxId: MailboxId;
  uid: Uid;
  modseq: ModSeq;
}

/** RFC 9228 Delivered-To header line; the address is ours (validated), so it needs no encoding. */
export function deliveredToLine(address: string): Buffer {
  return Buffer.from(`Delivered-To: ${address}\r\n`, 'utf8');
}

export async function deliverMessage(db: Database, input: DeliveryInput): Promise<DeliveredCopy[]> {
  const outbound = input.outbound && input.outbound.recipients.length > 0 ? input.outbound : undefined;
  if (input.recipients.length === 0 && !outbound) return [];
  const m = input.message;
  const spooled = !Buffer.isBuffer(m);
  const sha256 = spooled ? m.sha256 : createHash('sha256').update(m).digest();
  const size = spooled ? m.size : m.length;
  if (outbound && input.recipients.length === 0 && !spooled) {
    // Remote recipients only, the message in memory: blob and queue rows in one statement,
    // and no parse (nothing of the MIME structure is needed to send it on).
    await enqueueWithBlob(db, sha256, m, { ...outbound, size: outbound.headerPrefix.length + size });
    void notifyAll(db, QUEUE_CHANNEL, ['']).catch(() => undefined);
    return [];
  }
  // The MIME structure, envelope and search text: parsed once (a spooled message as it was spooled).
  const summary = spooled ? summarizeParsed(m.parsed) : summarizeMessage(m);
  const headers = input.headers ?? Buffer.alloc(0);
  const internalDate = input.internalDate ?? new Date();
  const noFlags = { seen: false, answered: false, flagged: false, deleted: false, draft: false };
  const copy = (r: DeliveryRecipient, content: MessageContent): NewMessage => ({
    mailbox: { accountId: r.accountId, name: r.mailbox },
    content,
    headerPrefix: Buffer.concat([deliveredToLine(r.deliveredTo), headers]),
    internalDate,
    flags: noFlags,
    keywords: [],
    ...summary,
  });

  let copies: DeliveredCopy[];
  const only = input.recipients.length === 1 ? input.recipients[0] : undefined;
  if (only && !spooled && !outbound) {
    // The common case, one recipient of a message in memory: one statement is
    // its own transaction (blob upsert, UID, message and journal row), so no
    // BEGIN/COMMIT round trips.
    copies = [await deliverCopy(db, only, copy(only, { sha256, raw: m }))];
  } else {
    copies = await db.transaction(async (tx) => {
      const blobId = spooled ? await assembleBlob(tx, m.spoolId, sha256, size) : await putBlob(tx, sha256, m);
      const out: DeliveredCopy[] = [];
      // One lock order for every delivery (account, then mailbox name): two deliveries
      // to the same recipients in different envelope order never deadlock on mailbox rows.
      const ordered = [...input.recipients].sort(
        (a, b) => a.accountId - b.accountId || (a.mailbox < b.mailbox ? -1 : a.mailbox > b.mailbox ? 1 : 0),
      );
      for (const r of ordered) out.push(await deliverCopy(tx, r, copy(r, { blobId, size })));
      if (outbound) await enqueueMessage(tx, { ...outbound, blobId, size: outbound.headerPrefix.length + size });
      return out;
    });
    if (outbound) void notifyAll(db, QUEUE_CHANNEL, ['']).catch(() => undefined);
  }
  // Committed: the hints go out on their own (not awaited; see change-hints.ts).
  void announceChanges(db, copies.map((c) => mailboxHint(c.mailboxId, c.modseq)));
  return copies;
}

/** Inserts one recipient's copy; a directory (LDAP) user without mailboxes gets them on first delivery. */
async function deliverCopy(q: Queryable, r: DeliveryRecipient, message: NewMessage): Promise<DeliveredCopy> {
  let inserted = await insertMessage(q, message);
  if (!inserted) {
    await ensureDefaultMailboxes(q, r.accountId);
    inserted = await insertMessage(q, message);
    if (!inserted) throw new NotFoundError(`mailbox ${r.mailbox} of account ${r.accountId} does not exist`);
  }
  return { accountId: r.accountId, mailboxId: inserted.mailboxId, uid: inserted.uid as Uid, modseq: inserted.modseq as ModSeq };
}
