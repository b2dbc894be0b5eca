/**
 * FETCH and UID FETCH (RFC 9051 6.4.5, 6.4.9).
 *
 *  - The set resolves against the session's map (selected.ts): a sequence
 *    number above EXISTS is BAD; UIDs not in the map are skipped. A message
 *    expunged by another session but not yet announced is left out (RFC
 *    9051 7.5.1 forbids EXPUNGE here; the NOOP after tells).
 *  - FLAGS/UID only (e.g. `UID FETCH 1:* (FLAGS)`): core iterateFlags, one
 *    indexed query per chunk.
 *  - Otherwise batches of BATCH messages, at most one row query each
 *    (none when the node's cache has the messages and no flags are asked),
 *    a batch's responses gathered into one write (FetchOutput) before the
 *    next batch is read; literals read from the store stream in 1 MiB chunks
 *    with the socket's back-pressure (SessionApi.send).
 *  - \Seen (RFC 9051 6.4.5): BODY[...] (not PEEK), RFC822 and RFC822.TEXT in
 *    a read-write mailbox set it, before the batch is read, and a message
 *    whose flags changed gets FLAGS in its response.
 *  - UID FETCH always answers UID (RFC 9051 6.4.9).
 *  - BINARY / BINARY.PEEK / BINARY.SIZE (RFC 3516): fetch-items.ts.
 *  - CONDSTORE (RFC 7162 3.1.4, 3.1.5): MODSEQ and the CHANGEDSINCE
 *    modifier are CONDSTORE enabling actions; CHANGEDSINCE implies MODSEQ
 *    and keeps only messages whose modseq is above it (0 is not a
 *    mod-sequence-value: BAD). Once CONDSTORE is on, a FETCH response that
 *    reports a flag change (the implied \Seen) carries MODSEQ too.
 *  - QRESYNC (RFC 7162 3.2.6): UID FETCH (CHANGEDSINCE n VANISHED) first
 *    sends `* VANISHED (EARLIER)` with the UIDs of the set expunged since n
 *    (vanished.ts); without ENABLE QRESYNC it is BAD.
 *  - OBJECTID (RFC 8474 5): EMAILID, THREADID (NIL): fetch-items.ts.
 *  - The selected mailbox deleted by another session: `* BYE` and close
 *    (updates.ts closeIfSelectedGone).
 *  - Not implemented yet (BAD): SAVEDATE.
 */
import type { Uid } from '../../../lib/ids.ts';
import { UnknownTransferEncodingError } from '../encode/binary.ts';
import type { FetchAttribute, FetchCommand, SequenceSet } from '../parser/index.ts';
import type { SelectedMailbox } from '../selected.ts';
import type { FetchContent, FetchedMessage } from '../services.ts';
import type { SessionApi } from './api.ts';
import { flagsItem, MessageItems, modseqItem, stateOf, type FetchPiece, type LiteralPiece } from './fetch-items.ts';
import { resolveSet, seenStored, uidRanges } from './message-set.ts';
import { closeIfSelectedGone } from './updates.ts';
import { clientUidRanges, vanishedEarlier, vanishedToTell } from './vanished.ts';

/** Messages per row query. */
export const BATCH = 100;

function refusal(s: SessionApi, cmd: FetchCommand): string | null {
  // RFC 7162 7: mod-sequence-value is at least 1 (CHANGEDSINCE 0 would name every message).
  if (cmd.changedSince === 0n) return 'CHANGEDSINCE needs a mod-sequence above 0 (RFC 7162 3.1.4.1)';
  if (cmd.vanished && !s.qresync) return 'VANISHED needs ENABLE QRESYNC first (RFC 7162 3.2.6)';
  for (const a of cmd.items) if (a.kind === 'SAVEDATE') return `FETCH ${a.kind} is not implemented yet`;
  return null;
}

export async function fetch(s: SessionApi, cmd: FetchCommand): Promise<void> {
  const state = s.state;
  if (state.kind !== 'selected') return;
  const why = refusal(s, cmd);
  if (why) return s.tagged(cmd.tag, 'BAD', why);
  // RFC 7162 3.1: FETCH MODSEQ and CHANGEDSINCE are CONDSTORE enabling actions.
  if (cmd.changedSince !== null || cmd.items.some((a) => a.kind === 'MODSEQ')) s.enableCondstore();
  try {
    // The parser allows VANISHED only with UID FETCH and CHANGEDSINCE (RFC 7162 3.2.6).
    if (cmd.vanished && cmd.uid && cmd.changedSince !== null) await sendVanished(s, state.mailbox, cmd.set as SequenceSet<Uid>, cmd.changedSince);
    await fetchSelected(s, cmd);
  } catch (err) {
    if (await closeIfSelectedGone(s, err)) return;
    throw err;
  }
}

/** RFC 7162 3.2.6: `* VANISHED (EARLIER)` for the UIDs of the set expunged since `since` (vanished.ts). */
async function sendVanished(s: SessionApi, box: SelectedMailbox, set: SequenceSet<Uid>, since: bigint): Promise<void> {
  const state = s.state;
  if (state.kind !== 'selected' || set.saved) return;
  const v = await s.services.vanishedSince(state.user.id, box.id, since, box.modseq);
  const line = vanishedEarlier(vanishedToTell(v.vanished, clientUidRanges(set), box));
  if (line) s.untagged(line);
}

/**
 * The blob octets to read with each batch's rows: the top-level header for
 * header-only sections (the usual message-list FETCH), whole small messages
 * for bodies; so a batch is one query, not one per message. When nothing
 * asked needs the MIME tree ('headerOnly'), the envelope and structure are
 * not even read.
 */
export function contentFor(items: readonly FetchAttribute[]): FetchContent {
  let need: FetchContent = 'none';
  let tree = false;
  for (const a of items) {
    if (a.kind === 'RFC822.HEADER') need = 'header';
    else if (a.kind === 'section') {
      const k = a.section.text?.kind;
      if (a.section.part.length > 0 || (k !== 'HEADER' && k !== 'HEADER.FIELDS' && k !== 'HEADER.FIELDS.NOT')) return 'small';
      need = 'header';
    } else if (a.kind === 'binary' || a.kind === 'binarySize' || a.kind === 'RFC822' || a.kind === 'RFC822.TEXT') return 'small';
    else if (a.kind === 'ENVELOPE' || a.kind === 'BODYSTRUCTURE' || a.kind === 'BODY') tree = true;
  }
  return need === 'header' && !tree ? 'headerOnly' : need;
}

const setsSeen = (a: FetchAttribute): boolean =>
  ((a.kind === 'section' || a.kind === 'binary') && !a.peek) || a.kind === 'RFC822' || a.kind === 'RFC822.TEXT';

async function fetchSelected(s: SessionApi, cmd: FetchCommand): Promise<void> {
  const state = s.state;
  if (state.kind !== 'selected') return;
  const box = state.mailbox;
  const seqs = resolveSet(box, cmd);
  if (!seqs) return s.tagged(cmd.tag, 'BAD', 'Message sequence number out of range');
  const items = cmd.items.filter((a) => a.kind !== 'UID' || !cmd.uid);
  // RFC 7162 3.1.4.1: CHANGEDSINCE implies MODSEQ.
  if (cmd.changedSince !== null && !items.some((a) => a.kind === 'MODSEQ')) items.push({ kind: 'MODSEQ' });
  if (items.every((a) => a.kind === 'FLAGS' || a.kind === 'UID' || a.kind === 'MODSEQ')) {
    await flagsOnly(s, box, seqs, cmd.uid, items, cmd.changedSince);
    return s.tagged(cmd.tag, 'OK', `${cmd.uid ? 'UID ' : ''}FETCH completed`);
  }
  const marksSeen = !box.readOnly && items.some(setsSeen);
  const content = contentFor(items);
  // Flags and modseq are read only when answered (an implied \Seen answers FLAGS); the rest may come from the node's cache.
  const withState = marksSeen || cmd.changedSince !== null || items.some((a) => a.kind === 'FLAGS' || a.kind === 'MODSEQ');
  const out = new FetchOutput(s);
  for (let i = 0; i < seqs.length; i += BATCH) {
    const batch = seqs.slice(i, i + BATCH);
    const uids = batch.map((seq) => box.uids[seq - 1]!);
    const seenNow = marksSeen ? await seenStored(s, box, uids) : new Set<number>();
    const rows = new Map<number, FetchedMessage>();
    for (const m of await s.services.fetchMessages(state.user.id, box.id, uids, { content, withState })) rows.set(m.uid, m);
    // Rows missing: expunged meanwhile (told at the next NOOP), or the mailbox deleted (BYE, RFC 2180 3.3).
    if (rows.size < uids.length && (await closeIfSelectedGone(s))) return;
    for (const seq of batch) {
      const m = rows.get(box.uids[seq - 1]!);
      if (!m || (cmd.changedSince !== null && stateOf(m).modseq <= cmd.changedSince)) continue;
      const pieces: FetchPiece[][] = [];
      const msg = new MessageItems(s, m);
      if (cmd.uid) pieces.push([`UID ${m.uid}`]);
      try {
        for (const a of items) pieces.push(await msg.item(a));
      } catch (err) {
        // RFC 3516 4.3: BINARY of a part whose encoding the server cannot undo.
        if (err instanceof UnknownTransferEncodingError) {
          await out.flush();
          return s.tagged(cmd.tag, 'NO', `Unknown Content-Transfer-Encoding in message ${seq}`, 'UNKNOWN-CTE');
        }
        throw err;
      }
      if (seenNow.has(m.uid) && !items.some((a) => a.kind === 'FLAGS')) pieces.push(await msg.item({ kind: 'FLAGS' }));
      // The implied \Seen is a flag change: with CONDSTORE on, its FETCH carries MODSEQ (RFC 7162 3.1).
      if (seenNow.has(m.uid) && s.condstore && !items.some((a) => a.kind === 'MODSEQ')) pieces.push([modseqItem(stateOf(m).modseq)]);
      await out.message(seq, pieces);
    }
    await out.flush();
  }
  s.tagged(cmd.tag, 'OK', `${cmd.uid ? 'UID ' : ''}FETCH completed`);
}

/** FLAGS / UID / MODSEQ only: core iterateFlags (CHANGEDSINCE in its query), no message rows. */
async function flagsOnly(
  s: SessionApi,
  box: SelectedMailbox,
  seqs: readonly number[],
  uid: boolean,
  items: readonly FetchAttribute[],
  changedSince: bigint | null,
): Promise<void> {
  const state = s.state;
  if (state.kind !== 'selected' || seqs.length === 0) return;
  const ranges = uidRanges(seqs.map((seq) => box.uids[seq - 1]!));
  for await (const chunk of s.services.iterateFlags(state.user.id, box.id, ranges, changedSince === null ? {} : { changedSince })) {
    let out = '';
    for (const m of chunk) {
      const seq = box.seqOf(m.uid);
      if (seq === 0) continue;
      const parts = uid ? [`UID ${m.uid}`] : [];
      for (const a of items) parts.push(a.kind === 'FLAGS' ? flagsItem(s, m.uid, m.flags) : a.kind === 'MODSEQ' ? modseqItem(m.modseq) : `UID ${m.uid}`);
      out += `* ${seq} FETCH (${parts.join(' ')})\r\n`;
      if (out.length > 64 * 1024) {
        await s.send(out);
        out = '';
      }
    }
    if (out) await s.send(out);
  }
}

/** Literals up to this size that are already in memory join the batch's one write. */
const INLINE_LITERAL = 64 * 1024;
/** The batch's gathered responses are sent once they reach this size. */
const GATHER_BYTES = 128 * 1024;

/**
 * The FETCH responses of a batch, gathered into one write: text and small
 * in-memory literals are appended; a literal that must be read from the
 * store streams (after what was gathered), padded if it comes up short so
 * the framing holds.
 */
class FetchOutput {
  private parts: Buffer[] = [];
  private text = '';
  /** The message being written (for the log). */
  private seq = 0;
  private bytes = 0;

  constructor(private readonly s: SessionApi) {}

  private push(text: string): void {
    this.text += text;
  }

  private pushBuffer(b: Buffer): void {
    this.endText();
    this.parts.push(b);
    this.bytes += b.length;
  }

  private endText(): void {
    if (!this.text) return;
    const b = Buffer.from(this.text, 'utf8');
    this.parts.push(b);
    this.bytes += b.length;
    this.text = '';
  }

  /** `* seq FETCH (...)`. */
  async message(seq: number, items: readonly FetchPiece[][]): Promise<void> {
    this.seq = seq;
    this.push(`* ${seq} FETCH (`);
    for (let i = 0; i < items.length; i++) {
      if (i > 0) this.push(' ');
      for (const piece of items[i]!) {
        if (typeof piece === 'string') this.push(piece);
        else await this.literal(piece);
      }
    }
    this.push(')\r\n');
    if (this.bytes + this.text.length >= GATHER_BYTES) await this.flush();
  }

  private async literal(piece: LiteralPiece): Promise<void> {
    this.push(`${piece.binary ? '~' : ''}{${piece.length}}\r\n`);
    const chunks = piece.chunks();
    if (Array.isArray(chunks) && piece.length <= INLINE_LITERAL) {
      let sent = 0;
      for (const c of chunks as Buffer[]) {
        const part = c.subarray(0, piece.length - sent);
        sent += part.length;
        this.pushBuffer(part);
      }
      if (sent < piece.length) this.short(this.seq, piece.length - sent);
      return;
    }
    await this.flush();
    let sent = 0;
    try {
      for await (const chunk of chunks) {
        const part = chunk.subarray(0, piece.length - sent);
        sent += part.length;
        await this.s.send(part);
      }
    } catch (err) {
      // Finish the announced literal and the response, so the tagged NO that follows is read as a line.
      await this.s.send(Buffer.alloc(piece.length - sent, 0x20));
      await this.s.send(')\r\n');
      this.text = '';
      throw err;
    }
    if (sent < piece.length) this.short(this.seq, piece.length - sent);
  }

  private short(seq: number, missing: number): void {
    this.s.log.warn({ seq, missing }, 'message octets shorter than recorded');
    this.pushBuffer(Buffer.alloc(missing, 0x20));
  }

  async flush(): Promise<void> {
    this.endText();
    if (this.parts.length === 0) return;
    const out = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.bytes);
    this.parts = [];
    this.bytes = 0;
    await this.s.send(out);
  }
}
