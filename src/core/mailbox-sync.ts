/**
 * What a session reads to select a mailbox and keep in step with it:
 *
 *  - selectMailbox: SELECT/EXAMINE (RFC 9051 6.3.2-6.3.3; RFC 7162 3.1.2
 *    HIGHESTMODSEQ; RFC 8474 MAILBOXID) in one statement: counters, the
 *    ordered UID list (the sequence-number map) and the unseen count;
 *    optionally claiming \Recent (rev1) first;
 *  - claimRecent: \Recent for messages that arrived while selected;
 *  - mailboxStatus(es): STATUS and LIST-STATUS (RFC 5819);
 *  - iterateFlags: FETCH FLAGS/MODSEQ over any UID set, CHANGEDSINCE (RFC 7162
 *    3.1.4.1) included, in chunks of one query each (bounded memory);
 *  - vanishedSince: QRESYNC's VANISHED (EARLIER) (RFC 7162 3.2.5.2, 3.2.10).
 *
 * \Recent (IMAP4rev1 only; RFC 9051 drops it): mailboxes.recent_uid is the
 * first UID no session has claimed. A read-write SELECT claims
 * [recent_uid, uid_next) by one UPDATE (row lock: one claimer wins, on any
 * node), and a session that later sees new messages claims again. EXAMINE
 * and STATUS claim nothing. So each message is \Recent in exactly one session,
 * as RFC 3501 2.3.2 asks, without per-session rows.
 */
import { InvalidInputError, NotFoundError } from '../lib/errors.ts';
import type { AccountId, MailboxId, ModSeq, Uid, UidValidity } from '../lib/ids.ts';
import { ALL_UIDS, countUids, expandUidRanges, normalizeUidRanges, uidRangesOf, type UidRange } from '../lib/uid-ranges.ts';
import * as store from '../store/mailbox-sync.ts';
import type { CoreContext } from './context.ts';
import { mailboxObjectId, normalizeMailboxName } from './mailbox-names.ts';
import { flagNames, type FlagState } from './message-flags.ts';

export interface MailboxView {
  id: MailboxId;
  name: string;
  /** RFC 8474 MAILBOXID. */
  objectId: string;
  uidValidity: UidValidity;
  uidNext: number;
  highestModseq: ModSeq;
  /** EXISTS. */
  messageCount: number;
  totalSize: number;
  /** The UIDs ascending: uids[seq - 1] is the UID of sequence number seq. */
  uids: Uint32Array;
  /** The same as ranges (compact). */
  uidRanges: UidRange[];
  unseen: number;
  firstUnseenUid: Uid | null;
  /** Claimed \Recent range [from, to) for this session (rev1 read-write SELECT), else null. */
  recent: { from: number; to: number } | null;
  /** Messages in `recent` (rev1 RECENT). */
  recentCount: number;
}

function countIn(ranges: readonly UidRange[], from: number, to: number): number {
  let n = 0;
  for (const r of ranges) n += Math.max(0, Math.min(r.last, to - 1) - Math.max(r.first, from) + 1);
  return n;
}

/**
 * The state SELECT/EXAMINE reports. `claimRecent` (rev1 SELECT, not EXAMINE):
 * claim the \Recent messages in the same statement, so the claimed range and
 * the UID list agree (store/mailbox-sync.ts SNAPSHOT_CLAIM_SQL). The mailbox
 * is given by id, or by name (found and read in one statement); NotFoundError
 * when it is not one of the account's (or the name is not a valid one).
 */
/**
 * A node's knowledge of a mailbox's messages (the IMAP services' FlagCache):
 * what it would vouch for, and the messages as of a modseq the store confirmed.
 */
export interface KnownMailboxes {
  /** The mailbox a name probably is, with the modseq and count its cached messages are complete for; undefined: nothing known. */
  known(accountId: AccountId, mailbox: MailboxId | { name: string }): store.KnownMessages | undefined;
  /** The cached messages when still complete as of `modseq` (the store just confirmed it); undefined when they changed meanwhile. */
  messages(mailboxId: MailboxId, modseq: bigint): CachedMessages | undefined;
  /** Records which mailbox a name was. */
  learn(accountId: AccountId, name: string, mailboxId: MailboxId): void;
}

export interface CachedMessages {
  /** Ascending. */
  uids: number[];
  unseen: number;
  firstUnseenUid: number | null;
}

export async function selectMailbox(
  ctx: CoreContext,
  accountId: AccountId,
  mailbox: MailboxId | { name: string },
  opts: { claimRecent?: boolean; cache?: KnownMailboxes | undefined } = {},
): Promise<MailboxView> {
  let target = mailbox;
  if (typeof mailbox !== 'number') {
    try {
      target = { name: normalizeMailboxName(mailbox.name) };
    } catch (err) {
      if (err instanceof InvalidInputError) throw new NotFoundError(`mailbox ${JSON.stringify(mailbox.name)} does not exist`);
      throw err;
    }
  }
  const claimRecent = opts.claimRecent ?? false;
  const cache = opts.cache;
  let snap = await store.mailboxSnapshot(ctx.db, accountId, target, { claimRecent, known: cache?.known(accountId, target) });
  if (!snap) throw new NotFoundError(`mailbox ${typeof mailbox === 'number' ? mailbox : JSON.stringify(mailbox.name)} does not exist`);
  if (typeof target !== 'number') cache?.learn(accountId, target.name, snap.id);
  if (snap.known) {
    const cached = cache?.messages(snap.id, snap.highestModseq);
    if (cached && cached.uids.length === snap.messageCount) {
      snap = { ...snap, uids: uidRangesOf(cached.uids), unseen: cached.unseen, firstUnseenUid: cached.firstUnseenUid };
    } else {
      // Changed on this node between the statement and now (rare): read it all. A \Recent claim
      // made by the first statement stays this session's; this one claims nothing more.
      const again = await store.mailboxSnapshot(ctx.db, accountId, snap.id, {});
      if (!again) throw new NotFoundError(`mailbox ${snap.id} does not exist`);
      snap = { ...again, recent: snap.recent };
    }
  }
  const recent = snap.recent;
  return {
    id: snap.id,
    name: snap.name,
    objectId: mailboxObjectId(snap.id, snap.uidValidity),
    uidValidity: snap.uidValidity,
    uidNext: snap.uidNext,
    highestModseq: snap.highestModseq as ModSeq,
    messageCount: snap.messageCount,
    totalSize: snap.totalSize,
    uids: expandUidRanges(snap.uids),
    uidRanges: snap.uids,
    unseen: snap.unseen,
    firstUnseenUid: snap.firstUnseenUid as Uid | null,
    recent,
    recentCount: recent ? countIn(snap.uids, recent.from, recent.to) : 0,
  };
}

/**
 * Claims \Recent for messages that arrived since the last claim (a rev1
 * session that learns of new messages calls this before reporting RECENT).
 * Returns [from, to): the caller's \Recent UIDs are the existing ones in it.
 */
export async function claimRecent(ctx: CoreContext, accountId: AccountId, mailboxId: MailboxId): Promise<{ from: number; to: number }> {
  const r = await store.claimRecent(ctx.db, accountId, mailboxId);
  if (!r) throw new NotFoundError(`mailbox ${mailboxId} does not exist`);
  return r;
}

export interface MailboxStatus {
  id: MailboxId;
  name: string;
  objectId: string;
  uidValidity: UidValidity;
  uidNext: number;
  highestModseq: ModSeq;
  messages: number;
  /** RFC 8438 STATUS=SIZE. */
  size: number;
  unseen: number;
  /** RFC 9051 STATUS DELETED. */
  deleted: number;
  /** rev1 STATUS RECENT: not yet claimed by any session. */
  recent: number;
}

function status(r: store.MailboxStatusRow): MailboxStatus {
  return { ...r, objectId: mailboxObjectId(r.id, r.uidValidity), highestModseq: r.highestModseq as ModSeq };
}

/**
 * STATUS of several mailboxes in one query (LIST-STATUS); mailboxes that are
 * not the account's are left out. `counts` false skips UNSEEN/DELETED/RECENT
 * (they count rows; the rest is on the mailbox row).
 */
export async function mailboxStatuses(
  ctx: CoreContext,
  accountId: AccountId,
  ids: readonly MailboxId[],
  opts: { counts?: boolean } = {},
): Promise<MailboxStatus[]> {
  if (ids.length === 0) return [];
  return (await store.mailboxStatuses(ctx.db, accountId, ids, opts.counts ?? true)).map(status);
}

/** STATUS (RFC 9051 6.3.11) of one mailbox. */
export async function mailboxStatus(ctx: CoreContext, accountId: AccountId, mailboxId: MailboxId, opts: { counts?: boolean } = {}): Promise<MailboxStatus> {
  const [s] = await mailboxStatuses(ctx, accountId, [mailboxId], opts);
  if (!s) throw new NotFoundError(`mailbox ${mailboxId} does not exist`);
  return s;
}

export interface IterateFlagsOptions {
  /** The UIDs to read; absent: the whole mailbox ("UID FETCH 1:* (FLAGS)"). */
  uids?: readonly { first: number; last: number }[];
  /** CHANGEDSINCE (RFC 7162 3.1.4.1): only messages with a higher modseq. */
  changedSince?: bigint;
  /** Rows per query; the whole set in one query when it has at most this many messages. */
  chunkSize?: number;
}

/**
 * FETCH FLAGS (with MODSEQ) of a UID set, ascending by UID, yielded in chunks
 * of at most chunkSize messages, each chunk one indexed query (keyset: the
 * next starts after the last UID), so memory stays bounded for any mailbox.
 * NotFoundError (before anything is yielded) for a mailbox of another account.
 */
export async function* iterateFlags(
  ctx: CoreContext,
  accountId: AccountId,
  mailboxId: MailboxId,
  opts: IterateFlagsOptions = {},
): AsyncGenerator<FlagState[], void, undefined> {
  const ranges = opts.uids ? normalizeUidRanges(opts.uids) : ALL_UIDS;
  const chunk = Math.max(1, opts.chunkSize ?? 10000);
  const since = opts.changedSince ?? 0n;
  let checked = false;
  for (const range of ranges) {
    let from: number = range.first;
    while (from <= range.last) {
      const rows = await store.flagsChunk(ctx.db, accountId, mailboxId, from, range.last, since, chunk);
      if (!rows) throw new NotFoundError(`mailbox ${mailboxId} does not exist`);
      checked = true;
      if (rows.length > 0) yield rows.map((r) => ({ uid: r.uid as Uid, modseq: r.modseq as ModSeq, flags: flagNames(r.flags, r.keywords) }));
      if (rows.length < chunk) break;
      from = rows[rows.length - 1]!.uid + 1;
    }
  }
  if (!checked && !(await store.flagsChunk(ctx.db, accountId, mailboxId, 1, 0, 0n, 1))) {
    throw new NotFoundError(`mailbox ${mailboxId} does not exist`);
  }
}

export interface Vanished {
  /** The mailbox's highest modseq when read. */
  highestModseq: ModSeq;
  uidNext: number;
  /** UIDs expunged since the modseq, ascending (VANISHED (EARLIER)). */
  vanished: UidRange[];
  vanishedCount: number;
  /**
   * False when the client's modseq is older than the kept tombstones
   * (mailboxes.tombstone_floor): `vanished` is then every UID below uid_next
   * that is not in the mailbox, a superset of what was expunged. RFC 7162 lets
   * a server report UIDs the client does not know; the IMAP layer should
   * intersect it with the client's known UIDs (QRESYNC known-uids or the
   * sequence match data) when given, else send it as is.
   */
  complete: boolean;
}

/**
 * Expunged since `since` (QRESYNC). The messages whose flags changed since
 * are read with iterateFlags({ changedSince }). `upTo` (the HIGHESTMODSEQ the
 * session reports) bounds the tombstones read.
 */
export async function vanishedSince(
  ctx: CoreContext,
  accountId: AccountId,
  mailboxId: MailboxId,
  since: bigint,
  opts: { upTo?: bigint } = {},
): Promise<Vanished> {
  const v = await store.vanishedSince(ctx.db, accountId, mailboxId, since, opts.upTo ?? null);
  if (!v) throw new NotFoundError(`mailbox ${mailboxId} does not exist`);
  return {
    highestModseq: v.highestModseq as ModSeq,
    uidNext: v.uidNext,
    vanished: v.vanished,
    vanishedCount: countUids(v.vanished),
    complete: v.complete,
  };
}
