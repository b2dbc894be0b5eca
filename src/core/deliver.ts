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
 */
import { createHash } from 'node:crypto';
import { NotFoundError } from '../lib/errors.ts';
import type { AccountId, MailboxId, ModSeq, Uid } from '../lib/ids.ts';
import { summarizeMessage } from '../mail/headers.ts';
import type { Database } from '../store/db.ts';
import { insertMessage, putBlob } from '../store/messages.ts';
import { assembleBlob } from '../store/spool.ts';
import type { SpooledMessage } from './spool.ts';
import { notifyAll } from '../store/ops.ts';
import { MAILBOX_CHANNEL } from './append.ts';
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
}

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
  if (input.recipients.length === 0) return [];
  const m = input.message;
  const spooled = !Buffer.isBuffer(m);
  const sha256 = spooled ? m.sha256 : createHash('sha256').update(m).digest();
  const size = spooled ? m.size : m.length;
  const summary = summarizeMessage(spooled ? m.head : m);
  const headers = input.headers ?? Buffer.alloc(0);
  const internalDate = input.internalDate ?? new Date();
  const noFlags = { seen: false, answered: false, flagged: false, deleted: false, draft: false };

  const copies = await db.transaction(async (tx) => {
    const blobId = spooled ? await assembleBlob(tx, m.spoolId, sha256, size) : await putBlob(tx, sha256, m);
    const out: DeliveredCopy[] = [];
    // One lock order for every delivery (account, then mailbox name): two deliveries
    // to the same recipients in different envelope order never deadlock on mailbox rows.
    const ordered = [...input.recipients].sort(
      (a, b) => a.accountId - b.accountId || (a.mailbox < b.mailbox ? -1 : a.mailbox > b.mailbox ? 1 : 0),
    );
    for (const r of ordered) {
      const message = {
        mailbox: { accountId: r.accountId, name: r.mailbox },
        content: { blobId, size },
        headerPrefix: Buffer.concat([deliveredToLine(r.deliveredTo), headers]),
        internalDate,
        flags: noFlags,
        keywords: [],
        ...summary,
      };
      let inserted = await insertMessage(tx, message);
      if (!inserted) {
        // Directory (LDAP) users get their mailboxes on first delivery.
        await ensureDefaultMailboxes(tx, r.accountId);
        inserted = await insertMessage(tx, message);
        if (!inserted) throw new NotFoundError(`mailbox ${r.mailbox} of account ${r.accountId} does not exist`);
      }
      out.push({ accountId: r.accountId, mailboxId: inserted.mailboxId, uid: inserted.uid as Uid, modseq: inserted.modseq as ModSeq });
    }
    return out;
  });
  // After COMMIT: the hints (see core/append.ts for why not inside the transaction).
  await notifyAll(
    db,
    MAILBOX_CHANNEL,
    copies.map((c) => JSON.stringify({ mailbox: c.mailboxId, modseq: c.modseq.toString() })),
  );
  return copies;
}
