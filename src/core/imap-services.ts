/**
 * The core operations an IMAP session uses, over one database and directory,
 * built once per node by the composition root (cli/commands/serve-imap.ts).
 * The object satisfies src/protocols/imap/services.ts structurally (with the
 * limits the composition root adds); the protocol never sees the database.
 *
 * Every operation takes the account: a mailbox is looked up within it, so a
 * name or id of another account's mailbox does not exist.
 */
import { NotFoundError } from '../lib/errors.ts';
import type { AccountId, MailboxId, UidValidity } from '../lib/ids.ts';
import type { Directory, DirectoryAccount } from '../directory/types.ts';
import type { Database } from '../store/db.ts';
import { appendMessages, findAccountMailbox, type AppendedMessages, type UploadedMessage } from './append-batch.ts';
import type { CoreContext } from './context.ts';
import type { MailboxChangeListener, MailboxWatcher } from './mailbox-change-feed.ts';
import { mailboxStatuses, type MailboxStatus } from './mailbox-sync.ts';
import { listMailboxTree, type TreeEntry } from './mailbox-tree.ts';
import { checkQuota, limitedAccounts, type QuotaSubject } from './quota.ts';
import { MessageSpool } from './spool.ts';

export type { AppendedMessages, MailboxStatus, TreeEntry, UploadedMessage };

export interface ImapCoreServices {
  authenticate(login: string, secret: string): Promise<DirectoryAccount | undefined>;
  /** Every name of the account's tree with what LIST needs (core/mailbox-tree.ts), sorted by name. */
  mailboxTree(accountId: AccountId): Promise<TreeEntry[]>;
  /** STATUS of the account's mailboxes among `ids` (others are left out); `counts`: UNSEEN, DELETED, RECENT too. */
  mailboxStatuses(accountId: AccountId, ids: readonly MailboxId[], opts: { counts: boolean }): Promise<MailboxStatus[]>;
  /** The account's mailbox of that name, or undefined. */
  findMailbox(accountId: AccountId, name: string): Promise<{ id: MailboxId; uidValidity: UidValidity } | undefined>;
  /** Would `incomingBytes` more take the account over its storage quota (RFC 9208)? */
  exceedsQuota(account: QuotaSubject, incomingBytes: number): Promise<boolean>;
  /** A sink for one uploaded message: in memory while small, spooled in the database above 1 MiB. */
  openUpload(): MessageSpool;
  /** APPEND / MULTIAPPEND: all or none, resolved after COMMIT (core/append-batch.ts). */
  appendMessages(account: DirectoryAccount, mailboxName: string, uploads: readonly UploadedMessage[]): Promise<AppendedMessages>;
  watchMailbox(mailboxId: MailboxId, listener: MailboxChangeListener): () => void;
}

export interface ImapCoreServicesOptions {
  /** This node's name (recorded with audit events). */
  node: string;
  /** The node's one LISTEN for mailbox change hints (mailbox-change-feed.ts). */
  feed: MailboxWatcher;
  /** Read per check (the mailbox.defaultQuotaBytes setting); default 0, unlimited. */
  defaultQuotaBytes?: () => number;
}

export function createImapCoreServices(db: Database, directory: Directory, opts: ImapCoreServicesOptions): ImapCoreServices {
  const ctx = (actor: string): CoreContext => ({ db, actor, node: opts.node });
  const system = ctx('imap');
  return {
    authenticate: (login, secret) => directory.authenticate(login, secret),
    mailboxTree: (accountId) => listMailboxTree(system, accountId),
    mailboxStatuses: (accountId, ids, o) => mailboxStatuses(system, accountId, ids, o),
    async findMailbox(accountId, name) {
      try {
        return await findAccountMailbox(db, accountId, name);
      } catch (err) {
        if (err instanceof NotFoundError) return undefined;
        throw err;
      }
    },
    async exceedsQuota(account, incomingBytes) {
      const defaultQuota = opts.defaultQuotaBytes?.() ?? 0;
      const limited = limitedAccounts([account], defaultQuota);
      if (limited.length === 0) return false;
      const [check] = await checkQuota(db, limited, incomingBytes, defaultQuota);
      return check?.over ?? false;
    },
    openUpload: () => new MessageSpool(db),
    appendMessages: (account, mailboxName, uploads) => appendMessages(ctx(account.address), account.id, mailboxName, uploads),
    watchMailbox: (mailboxId, listener) => opts.feed.watchMailbox(mailboxId, listener),
  };
}
