/**
 * Appending one or more messages a client uploads (IMAP APPEND and
 * MULTIAPPEND, RFC 9051 6.3.12 and RFC 3502) to one mailbox of the
 * client's account, all or none:
 *
 *  - the mailbox is looked up by name within the account: another account's
 *    mailbox does not exist (NotFoundError, IMAP NO [TRYCREATE]);
 *  - flags are checked before anything is written (InvalidInputError);
 *  - messages held in memory or spooled (core/spool.ts: a large upload went to
 *    spool_chunks as it arrived) are stored the same way delivery stores
 *    them (blob once per SHA-256, MIME summary from the parse);
 *  - one message in memory: one statement, its own transaction (as
 *    append.ts); otherwise one transaction holding the mailbox row lock
 *    (locked-mailboxes.ts), so the UIDs are consecutive and a failure stores
 *    nothing (RFC 3502 6: "the server MUST NOT append any of them");
 *  - the result (UIDVALIDITY and UIDs: UIDPLUS APPENDUID, RFC 4315 3) exists
 *    only after COMMIT; the change hint goes out afterwards, not awaited.
 */
import { createHash } from 'node:crypto';
import { InvalidInputError, NotFoundError } from '../lib/errors.ts';
import type { AccountId, MailboxId, MessageId, ModSeq, Uid, UidValidity } from '../lib/ids.ts';
import { summarizeMessage, summarizeParsed } from '../mail/headers.ts';
import type { Queryable } from '../store/db.ts';
import { findMailbox } from '../store/mailboxes.ts';
import { insertMessage, type InsertedMessage, type MessageContent, type NewMessage } from '../store/messages.ts';
import { assembleBlob } from '../store/spool.ts';
import { announceChanges, mailboxHint } from './change-hints.ts';
import type { CoreContext } from './context.ts';
import { withLockedMailboxes } from './locked-mailboxes.ts';
import { normalizeMailboxName } from './mailbox-names.ts';
import { flagNames, parseFlags } from './message-flags.ts';
import type { SpooledMessage } from './spool.ts';

export interface UploadedMessage {
  message: Buffer | SpooledMessage;
  /** Flag names as the client gave them (system flags and keywords). */
  flags: readonly string[];
  /** INTERNALDATE; absent: now. */
  internalDate?: Date;
}

export interface AppendedMessages {
  mailboxId: MailboxId;
  uidValidity: UidValidity;
  /** In the order of the input. */
  uids: Uid[];
  modseq: ModSeq;
  /** What was stored, in the order of the input (for the node's message cache). */
  stored: StoredMessage[];
}

/** A message as stored by an append: its row's immutable columns, and its octets when they were in memory. */
export interface StoredMessage {
  id: MessageId;
  uid: Uid;
  modseq: ModSeq;
  /** Flag names as stored (system flags, then keywords). */
  flags: string[];
  blobId: number;
  size: number;
  internalDate: Date;
  /** messages.envelope / messages.bodystructure as written. */
  envelope: unknown;
  bodystructure: unknown;
  /** The whole message, when it was uploaded in memory (not spooled). */
  raw?: Buffer;
}

/** A mailbox of the account, found by name before (APPEND checks the target before it accepts the literal). */
export interface MailboxRef {
  id: MailboxId;
  uidValidity: UidValidity;
}

/** The mailbox `name` of the account (NotFoundError when there is none, or the name is not valid). */
export async function findAccountMailbox(q: Queryable, accountId: AccountId, name: string): Promise<MailboxRef> {
  let n: string;
  try {
    n = normalizeMailboxName(name);
  } catch (err) {
    if (err instanceof InvalidInputError) throw new NotFoundError(`mailbox ${JSON.stringify(name)} does not exist`);
    throw err;
  }
  const box = await findMailbox(q, accountId, n);
  if (!box) throw new NotFoundError(`mailbox ${JSON.stringify(name)} does not exist`);
  return { id: box.id, uidValidity: box.uidValidity };
}

function sizeOf(m: Buffer | SpooledMessage): number {
  return Buffer.isBuffer(m) ? m.length : m.size;
}

export async function appendMessages(
  ctx: CoreContext,
  accountId: AccountId,
  mailbox: string | MailboxRef,
  uploads: readonly UploadedMessage[],
): Promise<AppendedMessages> {
  const mailboxName = typeof mailbox === 'string' ? mailbox : `#${mailbox.id}`;
  if (uploads.length === 0) throw new InvalidInputError('no message to append');
  for (const u of uploads) if (sizeOf(u.message) === 0) throw new InvalidInputError('empty message');
  const flags = uploads.map((u) => parseFlags(u.flags));
  const db = ctx.db;
  // A MailboxRef was found for this account already; if it is gone since, the insert finds no mailbox (NotFoundError).
  const box = typeof mailbox === 'string' ? await findAccountMailbox(db, accountId, mailbox) : mailbox;
  const newMessage = (i: number, content: MessageContent): NewMessage => {
    const m = uploads[i]!.message;
    return {
      mailbox: box.id,
      content,
      headerPrefix: Buffer.alloc(0),
      internalDate: uploads[i]!.internalDate ?? new Date(),
      flags: flags[i]!.system,
      keywords: flags[i]!.keywords,
      ...(Buffer.isBuffer(m) ? summarizeMessage(m) : summarizeParsed(m.parsed)),
    };
  };
  const only = uploads.length === 1 ? uploads[0]!.message : undefined;
  const built: NewMessage[] = [];
  let inserted: InsertedMessage[];
  if (only && Buffer.isBuffer(only)) {
    const r = await insertMessage(db, (built[0] = newMessage(0, { sha256: createHash('sha256').update(only).digest(), raw: only })));
    if (!r) throw new NotFoundError(`mailbox ${JSON.stringify(mailboxName)} does not exist`);
    inserted = [r];
  } else {
    inserted = await withLockedMailboxes(ctx, accountId, [box.id], async (tx) => {
      const out: InsertedMessage[] = [];
      for (let i = 0; i < uploads.length; i++) {
        const m = uploads[i]!.message;
        const content: MessageContent = Buffer.isBuffer(m)
          ? { sha256: createHash('sha256').update(m).digest(), raw: m }
          : { blobId: await assembleBlob(tx, m.spoolId, m.sha256, m.size), size: m.size };
        const r = await insertMessage(tx, (built[i] = newMessage(i, content)));
        if (!r) throw new NotFoundError(`mailbox ${JSON.stringify(mailboxName)} does not exist`);
        out.push(r);
      }
      return out;
    });
  }
  const stored = inserted.map((r, i): StoredMessage => {
    const m = uploads[i]!.message;
    const n = built[i]!;
    return {
      id: r.id,
      uid: r.uid as Uid,
      modseq: r.modseq as ModSeq,
      flags: flagNames(flags[i]!.system, flags[i]!.keywords),
      blobId: r.blobId,
      size: sizeOf(m),
      internalDate: n.internalDate,
      envelope: n.envelope,
      bodystructure: n.bodystructure,
      ...(Buffer.isBuffer(m) ? { raw: m } : {}),
    };
  });
  const modseq = inserted[inserted.length - 1]!.modseq;
  // Committed: the hint goes out on its own (not awaited; see change-hints.ts).
  void announceChanges(db, [mailboxHint(box.id, modseq)]);
  return { mailboxId: box.id, uidValidity: box.uidValidity, uids: inserted.map((r) => r.uid as Uid), modseq: modseq as ModSeq, stored };
}
