/**
 * FETCH and UID FETCH (RFC 9051 6.4.5, 6.4.9).
 *
 *  - The set resolves against the session's map (selected.ts): a sequence
 *    number above EXISTS is BAD; UIDs not in the map are skipped. A message
 *    expunged by another session but not yet announced is left out (RFC
 *    9051 7.5.1 forbids EXPUNGE here; the NOOP after tells).
 *  - FLAGS/UID only (e.g. `UID FETCH 1:* (FLAGS)`): core iterateFlags, one
 *    indexed query per chunk.
 *  - Otherwise batches of BATCH messages, one row query each, responses
 *    written before the next batch is read; literals stream in 1 MiB chunks
 *    with the socket's back-pressure (SessionApi.send).
 *  - \Seen (RFC 9051 6.4.5): BODY[...] (not PEEK), RFC822 and RFC822.TEXT in
 *    a read-write mailbox set it, before the batch is read, and a message
 *    whose flags changed gets FLAGS in its response.
 *  - UID FETCH always answers UID (RFC 9051 6.4.9).
 *  - BINARY / BINARY.PEEK / BINARY.SIZE (RFC 3516): fetch-items.ts.
 *  - Not implemented yet (BAD): MODSEQ and CHANGEDSINCE (CONDSTORE is not
 *    announced), EMAILID/THREADID (OBJECTID), SAVEDATE.
 */
import { UnknownTransferEncodingError } from '../encode/binary.ts';
import type { FetchAttribute, FetchCommand } from '../parser/index.ts';
import type { SelectedMailbox } from '../selected.ts';
import type { FetchedMessage } from '../services.ts';
import type { SessionApi } from './api.ts';
import { MessageItems, type FetchPiece } from './fetch-items.ts';
import { resolveSet, seenStored, uidRanges } from './message-set.ts';

/** Messages per row query. */
export const BATCH = 100;

function refusal(cmd: FetchCommand): string | null {
  if (cmd.changedSince !== null || cmd.vanished) return 'CHANGEDSINCE and VANISHED need CONDSTORE/QRESYNC, not implemented yet';
  for (const a of cmd.items) {
    if (a.kind === 'MODSEQ' || a.kind === 'EMAILID' || a.kind === 'THREADID' || a.kind === 'SAVEDATE') return `FETCH ${a.kind} is not implemented yet`;
  }
  return null;
}

const setsSeen = (a: FetchAttribute): boolean =>
  ((a.kind === 'section' || a.kind === 'binary') && !a.peek) || a.kind === 'RFC822' || a.kind === 'RFC822.TEXT';

export async function fetch(s: SessionApi, cmd: FetchCommand): Promise<void> {
  const state = s.state;
  if (state.kind !== 'selected') return;
  const why = refusal(cmd);
  if (why) return s.tagged(cmd.tag, 'BAD', why);
  const box = state.mailbox;
  const seqs = resolveSet(box, cmd);
  if (!seqs) return s.tagged(cmd.tag, 'BAD', 'Message sequence number out of range');
  const items = cmd.items.filter((a) => a.kind !== 'UID' || !cmd.uid);
  if (items.every((a) => a.kind === 'FLAGS' || a.kind === 'UID')) {
    await flagsOnly(s, box, seqs, cmd.uid || items.some((a) => a.kind === 'UID'), items.some((a) => a.kind === 'FLAGS'));
    return s.tagged(cmd.tag, 'OK', `${cmd.uid ? 'UID ' : ''}FETCH completed`);
  }
  const marksSeen = !box.readOnly && items.some(setsSeen);
  for (let i = 0; i < seqs.length; i += BATCH) {
    const batch = seqs.slice(i, i + BATCH);
    const uids = batch.map((seq) => box.uids[seq - 1]!);
    const seenNow = marksSeen ? await seenStored(s, box, uids) : new Set<number>();
    const rows = new Map<number, FetchedMessage>();
    for (const m of await s.services.fetchMessages(state.user.id, box.id, uids)) rows.set(m.uid, m);
    for (const seq of batch) {
      const m = rows.get(box.uids[seq - 1]!);
      if (!m) continue;
      const pieces: FetchPiece[][] = [];
      const msg = new MessageItems(s, m);
      if (cmd.uid) pieces.push([`UID ${m.uid}`]);
      try {
        for (const a of items) pieces.push(await msg.item(a));
      } catch (err) {
        // RFC 3516 4.3: BINARY of a part whose encoding the server cannot undo.
        if (err instanceof UnknownTransferEncodingError) return s.tagged(cmd.tag, 'NO', `Unknown Content-Transfer-Encoding in message ${seq}`, 'UNKNOWN-CTE');
        throw err;
      }
      if (seenNow.has(m.uid) && !items.some((a) => a.kind === 'FLAGS')) pieces.push(await msg.item({ kind: 'FLAGS' }));
      await writeFetch(s, seq, pieces);
    }
  }
  s.tagged(cmd.tag, 'OK', `${cmd.uid ? 'UID ' : ''}FETCH completed`);
}

async function flagsOnly(s: SessionApi, box: SelectedMailbox, seqs: readonly number[], uid: boolean, flags: boolean): Promise<void> {
  const state = s.state;
  if (state.kind !== 'selected' || seqs.length === 0) return;
  const ranges = uidRanges(seqs.map((seq) => box.uids[seq - 1]!));
  for await (const chunk of s.services.iterateFlags(state.user.id, box.id, ranges)) {
    let out = '';
    for (const m of chunk) {
      const seq = box.seqOf(m.uid);
      if (seq === 0) continue;
      const parts = [...(uid ? [`UID ${m.uid}`] : []), ...(flags ? [`FLAGS (${m.flags.join(' ')})`] : [])];
      out += `* ${seq} FETCH (${parts.join(' ')})\r\n`;
      if (out.length > 64 * 1024) {
        await s.send(out);
        out = '';
      }
    }
    if (out) await s.send(out);
  }
}

/**
 * `* seq FETCH (...)` with literals streamed; a literal that comes up short
 * (or whose read fails) is padded so the framing holds.
 */
async function writeFetch(s: SessionApi, seq: number, items: readonly FetchPiece[][]): Promise<void> {
  let text = `* ${seq} FETCH (`;
  for (let i = 0; i < items.length; i++) {
    if (i > 0) text += ' ';
    for (const piece of items[i]!) {
      if (typeof piece === 'string') {
        text += piece;
        continue;
      }
      await s.send(`${text}${piece.binary ? '~' : ''}{${piece.length}}\r\n`);
      text = '';
      let sent = 0;
      try {
        for await (const chunk of piece.chunks()) {
          const part = chunk.subarray(0, piece.length - sent);
          sent += part.length;
          await s.send(part);
        }
      } catch (err) {
        // Finish the announced literal and the response, so the tagged NO that follows is read as a line.
        await s.send(Buffer.alloc(piece.length - sent, 0x20));
        await s.send(')\r\n');
        throw err;
      }
      if (sent < piece.length) {
        s.log.warn({ seq, missing: piece.length - sent }, 'message octets shorter than recorded');
        await s.send(Buffer.alloc(piece.length - sent, 0x20));
      }
    }
  }
  await s.send(`${text})\r\n`);
}
