/**
 * The per-node fan-out of mailbox change hints (change-hints.ts): ONE
 * `LISTEN tegu_mailbox` per node, however many sessions watch mailboxes.
 * Sessions subscribe to the mailboxes they care about (an IMAP session: the
 * selected one, while IDLE or between commands) and get a call per hint.
 *
 * A hint says only "mailbox M reached modseq N"; it may be lost, duplicated or
 * arrive late. Subscribers treat it as a wake-up and re-read the change
 * journal (mailbox_changes, modseq > the last they reported): the journal is
 * the truth (docs/architecture.md, "Appending a message"). Right after
 * subscribing a session should read the journal once, since a hint sent
 * before the LISTEN was in place is not delivered.
 *
 * The LISTEN starts with the first subscription and stays until close(): the
 * PostgreSQL engine keeps one dedicated connection for it; the embedded engine
 * forwards PGlite's in-process notifications.
 */
import type { MailboxId, ModSeq } from '../lib/ids.ts';
import type { Database } from '../store/db.ts';
import { MAILBOX_CHANNEL } from './change-hints.ts';

export interface MailboxChange {
  mailboxId: MailboxId;
  /** The mailbox's highest modseq after the change (at least). */
  modseq: ModSeq;
}

export type MailboxChangeListener = (change: MailboxChange) => void;

/** What sessions see of the feed. */
export interface MailboxWatcher {
  /** Calls `listener` for every hint about `mailboxId` until the returned function is called. */
  watchMailbox(mailboxId: MailboxId, listener: MailboxChangeListener): () => void;
}

/**
 * The payload change-hints.ts sends: {"mailbox":<id>,"modseq":"<n>"}. Anyone
 * who can connect to the database can NOTIFY on the channel, so it is checked
 * like any input; a malformed one is dropped.
 */
export function parseMailboxHint(payload: string): MailboxChange | undefined {
  let v: unknown;
  try {
    v = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const mailbox: unknown = (v as Record<string, unknown>)['mailbox'];
  const modseq: unknown = (v as Record<string, unknown>)['modseq'];
  if (typeof mailbox !== 'number' || !Number.isSafeInteger(mailbox) || mailbox <= 0) return undefined;
  if (typeof modseq !== 'string' || !/^\d{1,20}$/.test(modseq)) return undefined;
  return { mailboxId: mailbox as MailboxId, modseq: BigInt(modseq) as ModSeq };
}

export class MailboxChangeFeed implements MailboxWatcher {
  private readonly listeners = new Map<MailboxId, Set<MailboxChangeListener>>();
  private listening: Promise<(() => Promise<void>) | undefined> | undefined;
  private closed = false;

  constructor(
    private readonly db: Database,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  watchMailbox(mailboxId: MailboxId, listener: MailboxChangeListener): () => void {
    if (this.closed) return () => undefined;
    let set = this.listeners.get(mailboxId);
    if (!set) {
      set = new Set();
      this.listeners.set(mailboxId, set);
    }
    // One Set entry per call: the same function may watch twice and must be removed twice.
    const entry: MailboxChangeListener = (c) => listener(c);
    set.add(entry);
    this.ensureListening();
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const s = this.listeners.get(mailboxId);
      if (!s) return;
      s.delete(entry);
      if (s.size === 0) this.listeners.delete(mailboxId);
    };
  }

  /** Resolves once the LISTEN is in place (tests; sessions need not wait). */
  async ready(): Promise<void> {
    this.ensureListening();
    await this.listening;
  }

  /** Mailboxes with at least one subscriber. */
  get watchedMailboxes(): number {
    return this.listeners.size;
  }

  private ensureListening(): void {
    if (this.listening || this.closed) return;
    this.listening = this.db.listen(MAILBOX_CHANNEL, (payload) => this.dispatch(payload)).catch((err: unknown) => {
      // Try again with the next subscription; until then sessions see changes when they next read the journal.
      this.listening = undefined;
      this.onError(err);
      return undefined;
    });
  }

  private dispatch(payload: string): void {
    const change = parseMailboxHint(payload);
    if (!change) return;
    const set = this.listeners.get(change.mailboxId);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(change);
      } catch (err) {
        this.onError(err);
      }
    }
  }

  /** Stops listening; later subscriptions get nothing. */
  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    const unlisten = await this.listening;
    this.listening = undefined;
    if (unlisten) await unlisten();
  }
}
