/**
 * Appending a raw message to a mailbox: the one path by which bytes enter a
 * mailbox (IMAP APPEND, local delivery, migration and tests all use it).
 *
 * One atomic statement (store/messages.ts insertMessage): store the blob once
 * (deduplicated by SHA-256), take the next UID and a new MODSEQ from the
 * mailbox row, insert the message and its change-journal row. Then a NOTIFY
 * hint (core/change-hints.ts). The caller acknowledges only after this
 * resolves, i.e. after COMMIT.
 */
import { createHash } from 'node:crypto';
import { InvalidInputError, NotFoundError } from '../lib/errors.ts';
import type { MailboxId, MessageId, ModSeq, Uid } from '../lib/ids.ts';
import { summarizeMessage } from '../mail/headers.ts';
import type { Database } from '../store/db.ts';
import { insertMessage, type SystemFlags } from '../store/messages.ts';
import { announceChanges, mailboxHint } from './change-hints.ts';

export type SystemFlag = '\\Seen' | '\\Answered' | '\\Flagged' | '\\Deleted' | '\\Draft';

export interface AppendInput {
  mailboxId: MailboxId;
  raw: Buffer;
  flags?: readonly SystemFlag[];
  keywords?: readonly string[];
  internalDate?: Date;
}

export interface AppendResult {
  id: MessageId;
  uid: Uid;
  modseq: ModSeq;
}

/** RFC 9051 flag-keyword: an atom; no specials, no backslash. */
const KEYWORD = /^[^\s(){%*"\\\]\x00-\x1f\x7f]{1,128}$/;

function systemFlags(flags: readonly SystemFlag[]): SystemFlags {
  const has = (f: SystemFlag): boolean => flags.includes(f);
  return { seen: has('\\Seen'), answered: has('\\Answered'), flagged: has('\\Flagged'), deleted: has('\\Deleted'), draft: has('\\Draft') };
}

export async function appendMessage(db: Database, input: AppendInput): Promise<AppendResult> {
  if (input.raw.length === 0) throw new InvalidInputError('empty message');
  const keywords = [...new Set(input.keywords ?? [])];
  for (const k of keywords) if (!KEYWORD.test(k)) throw new InvalidInputError(`invalid keyword: ${JSON.stringify(k)}`);
  const inserted = await insertMessage(db, {
    mailbox: input.mailboxId,
    content: { sha256: createHash('sha256').update(input.raw).digest(), raw: input.raw },
    headerPrefix: Buffer.alloc(0),
    internalDate: input.internalDate ?? new Date(),
    flags: systemFlags(input.flags ?? []),
    keywords,
    ...summarizeMessage(input.raw),
  });
  if (!inserted) throw new NotFoundError(`mailbox ${input.mailboxId} does not exist`);
  // Committed: the hint goes out on its own (not awaited; see change-hints.ts).
  void announceChanges(db, [mailboxHint(inserted.mailboxId, inserted.modseq)]);
  return { id: inserted.id, uid: inserted.uid as Uid, modseq: inserted.modseq as ModSeq };
}
