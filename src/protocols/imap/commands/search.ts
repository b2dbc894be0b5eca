/**
 * SEARCH / UID SEARCH (RFC 9051 6.4.4, 6.4.9), with ESEARCH (RFC 4731),
 * SEARCHRES (RFC 5182), WITHIN (RFC 5032), the CONDSTORE MODSEQ key
 * (RFC 7162 3.1.5) and EMAILID/THREADID (RFC 8474 6). The criteria are
 * evaluated in SQL (core/message-search.ts, store/message-search.ts).
 *
 *  - Sequence sets and UID sets resolve here, against the session's map:
 *    sequence numbers above EXISTS name nothing, "*" is the last message,
 *    "$" the saved result. Only messages in the map are returned: one that
 *    another session expunged and one that arrived without EXISTS yet
 *    (RFC 9051 7.4.1) are both left out.
 *  - Answers: `* SEARCH 2 5` (sequence numbers, or UIDs for UID SEARCH),
 *    with ` (MODSEQ n)` after the MODSEQ key (RFC 7162 3.1.5). With RETURN,
 *    or always for an IMAP4rev2 session (RFC 9051 7.3.4), `* ESEARCH (TAG
 *    "t") [UID] MIN MAX COUNT ALL [MODSEQ]` (RFC 4731 3.1, 3.2); `RETURN ()`
 *    is ALL; MIN, MAX and ALL are left out when nothing matched.
 *  - SAVE (RFC 5182 2.1, 2.4): the matches as UIDs become "$"; with MIN and/or
 *    MAX but neither ALL nor COUNT only those messages are saved; SAVE alone
 *    sends no ESEARCH. A SEARCH with SAVE that fails saves the empty set.
 *  - SAVEDATE keys (RFC 8514) are not announced: BAD. More than
 *    MAX_SEARCH_KEYS keys: BAD.
 */
import type { SeqNum, Uid } from '../../../lib/ids.ts';
import type { SearchCommand, SearchKey, SequenceSet } from '../parser/index.ts';
import { uidSet } from '../responses.ts';
import type { SelectedMailbox } from '../selected.ts';
import type { SearchQuery } from '../services.ts';
import type { SessionApi } from './api.ts';

/** At most this many keys (every key, NOT, OR and parenthesized list) in one SEARCH. */
export const MAX_SEARCH_KEYS = 1000;

/** A key this server refuses (BAD) although the parser knows it. */
class UnsupportedKey extends Error {}

function countKeys(k: SearchKey): number {
  if (k.key === 'NOT') return 1 + countKeys(k.operand);
  if (k.key === 'OR') return 1 + countKeys(k.left) + countKeys(k.right);
  if (k.key === 'AND') return k.operands.reduce((n, o) => n + countKeys(o), 1);
  return 1;
}

const not = (operand: SearchQuery): SearchQuery => ({ kind: 'not', operand });

const FLAG = { ANSWERED: 'answered', DELETED: 'deleted', DRAFT: 'draft', FLAGGED: 'flagged', SEEN: 'seen' } as const;
const TEXT = { BCC: 'bcc', BODY: 'body', CC: 'cc', FROM: 'from', SUBJECT: 'subject', TEXT: 'text', TO: 'to' } as const;
const DATE = {
  BEFORE: ['internal', 'before'],
  ON: ['internal', 'on'],
  SINCE: ['internal', 'since'],
  SENTBEFORE: ['sent', 'before'],
  SENTON: ['sent', 'on'],
  SENTSINCE: ['sent', 'since'],
} as const;

/** The session's \Recent messages (rev1; none for EXAMINE and IMAP4rev2). */
function recentQuery(box: SelectedMailbox): SearchQuery {
  const ranges = box.recent.filter((r) => r.to > r.from).map((r) => ({ first: r.from as Uid, last: (r.to - 1) as Uid }));
  return { kind: 'uids', ranges };
}

/** The parser's key tree as the core's query; sets resolved against the session's map. */
function toQuery(k: SearchKey, box: SelectedMailbox): SearchQuery {
  switch (k.key) {
    case 'ALL':
      return { kind: 'true' };
    case 'ANSWERED':
    case 'DELETED':
    case 'DRAFT':
    case 'FLAGGED':
    case 'SEEN':
      return { kind: 'flag', flag: FLAG[k.key] };
    case 'UNANSWERED':
      return not({ kind: 'flag', flag: 'answered' });
    case 'UNDELETED':
      return not({ kind: 'flag', flag: 'deleted' });
    case 'UNDRAFT':
      return not({ kind: 'flag', flag: 'draft' });
    case 'UNFLAGGED':
      return not({ kind: 'flag', flag: 'flagged' });
    case 'UNSEEN':
      return not({ kind: 'flag', flag: 'seen' });
    // RFC 3501 6.4.4: NEW is RECENT UNSEEN, OLD is NOT RECENT.
    case 'RECENT':
      return recentQuery(box);
    case 'NEW':
      return { kind: 'and', operands: [recentQuery(box), not({ kind: 'flag', flag: 'seen' })] };
    case 'OLD':
      return not(recentQuery(box));
    case 'BCC':
    case 'BODY':
    case 'CC':
    case 'FROM':
    case 'SUBJECT':
    case 'TEXT':
    case 'TO':
      return { kind: 'text', field: TEXT[k.key], value: k.value };
    case 'HEADER':
      return { kind: 'header', field: k.field, value: k.value };
    case 'KEYWORD':
      return { kind: 'keyword', keyword: k.flag };
    case 'UNKEYWORD':
      return not({ kind: 'keyword', keyword: k.flag });
    // RFC 9051 6.4.4: internal date (here: its UTC day) and the Date header's day.
    case 'BEFORE':
    case 'ON':
    case 'SINCE':
    case 'SENTBEFORE':
    case 'SENTON':
    case 'SENTSINCE': {
      const [of, op] = DATE[k.key];
      return { kind: 'date', of, op, date: k.date };
    }
    case 'SAVEDBEFORE':
    case 'SAVEDON':
    case 'SAVEDSINCE':
    case 'SAVEDATESUPPORTED':
      throw new UnsupportedKey(`${k.key}: SAVEDATE (RFC 8514) is not supported`);
    case 'LARGER':
    case 'SMALLER':
      return { kind: 'size', op: k.key === 'LARGER' ? 'larger' : 'smaller', octets: k.size };
    case 'OLDER':
    case 'YOUNGER':
      return { kind: 'age', op: k.key === 'OLDER' ? 'older' : 'younger', seconds: k.seconds };
    case 'SEQ':
      return { kind: 'uids', ranges: box.searchSeqUids(k.set as SequenceSet<SeqNum>) };
    case 'UID':
      return { kind: 'uids', ranges: box.searchUidUids(k.set as SequenceSet<Uid>) };
    // RFC 7162 3.1.5: without per-flag modseqs the entry name and type are ignored (the message's modseq counts).
    case 'MODSEQ':
      return { kind: 'modseq', min: k.modseq };
    case 'EMAILID':
      return { kind: 'emailId', id: k.id };
    case 'THREADID':
      return { kind: 'threadId', id: k.id };
    case 'NOT':
      return not(toQuery(k.operand, box));
    case 'OR':
      return { kind: 'or', operands: [toQuery(k.left, box), toQuery(k.right, box)] };
    case 'AND':
      return { kind: 'and', operands: k.operands.map((o) => toQuery(o, box)) };
  }
}

function usesModseq(k: SearchKey): boolean {
  if (k.key === 'MODSEQ') return true;
  if (k.key === 'NOT') return usesModseq(k.operand);
  if (k.key === 'OR') return usesModseq(k.left) || usesModseq(k.right);
  if (k.key === 'AND') return k.operands.some(usesModseq);
  return false;
}

function maxOf(values: readonly bigint[]): bigint {
  let m = 0n;
  for (const v of values) if (v > m) m = v;
  return m;
}

export async function search(s: SessionApi, cmd: SearchCommand): Promise<void> {
  const state = s.state;
  if (state.kind !== 'selected') return;
  const box = state.mailbox;
  const what = `${cmd.uid ? 'UID ' : ''}SEARCH`;
  const opts = cmd.returnOptions === null ? null : cmd.returnOptions.length === 0 ? ['ALL' as const] : cmd.returnOptions;
  const save = opts?.includes('SAVE') ?? false;
  // RFC 5182 2.1: a SEARCH with SAVE that fails leaves the empty set in "$".
  const fail = (status: 'NO' | 'BAD', text: string): void => {
    if (save) box.saveResult(new Uint32Array(0));
    s.tagged(cmd.tag, status, text);
  };
  if (countKeys(cmd.criteria) > MAX_SEARCH_KEYS) return fail('BAD', `Too many search keys (at most ${MAX_SEARCH_KEYS})`);
  let query: SearchQuery;
  try {
    query = toQuery(cmd.criteria, box);
  } catch (err) {
    if (err instanceof UnsupportedKey) return fail('BAD', err.message);
    throw err;
  }
  const withModseq = usesModseq(cmd.criteria);
  // RFC 7162 3.1: SEARCH with the MODSEQ key is a CONDSTORE enabling action.
  if (withModseq) s.enableCondstore();
  let found;
  try {
    found = await s.services.searchMessages(state.user.id, box.id, query, { maxUid: box.lastUid, withModseq });
  } catch (err) {
    if (save) box.saveResult(new Uint32Array(0));
    throw err;
  }

  // Only the messages the client knows of (the map), as sequence numbers and UIDs.
  const uids: number[] = [];
  const seqs: number[] = [];
  const modseqs: bigint[] = [];
  for (let i = 0; i < found.uids.length; i++) {
    const uid = found.uids[i]!;
    const seq = box.seqOf(uid);
    if (seq === 0) continue;
    uids.push(uid);
    seqs.push(seq);
    if (found.modseqs) modseqs.push(found.modseqs[i]!);
  }
  const numbers = cmd.uid ? uids : seqs;
  const n = numbers.length;

  if (opts === null && !s.rev2) {
    const modseq = withModseq && n > 0 ? ` (MODSEQ ${maxOf(modseqs)})` : '';
    await s.send(`* SEARCH${n > 0 ? ` ${numbers.join(' ')}` : ''}${modseq}\r\n`);
    return s.tagged(cmd.tag, 'OK', `${what} completed`);
  }

  const ret = opts ?? ['ALL'];
  const min = ret.includes('MIN');
  const max = ret.includes('MAX');
  const all = ret.includes('ALL');
  const count = ret.includes('COUNT');
  // RFC 5182 2.4 and RFC 4731 3.2: MIN/MAX alone stand for just those messages.
  const onlyEnds = !all && !count;
  if (save) {
    if (onlyEnds && (min || max) && n > 0) box.saveResult(Uint32Array.from(new Set([...(min ? [uids[0]!] : []), ...(max ? [uids[n - 1]!] : [])])));
    else box.saveResult(Uint32Array.from(uids));
  }
  if (min || max || all || count) {
    let line = `* ESEARCH (TAG "${cmd.tag}")${cmd.uid ? ' UID' : ''}`;
    if (min && n > 0) line += ` MIN ${numbers[0]}`;
    if (max && n > 0) line += ` MAX ${numbers[n - 1]}`;
    if (count) line += ` COUNT ${n}`;
    if (all && n > 0) line += ` ALL ${uidSet(numbers)}`;
    if (withModseq && n > 0) {
      const ends = [...(min ? [modseqs[0]!] : []), ...(max ? [modseqs[n - 1]!] : [])];
      line += ` MODSEQ ${onlyEnds ? maxOf(ends) : maxOf(modseqs)}`;
    }
    await s.send(`${line}\r\n`);
  }
  s.tagged(cmd.tag, 'OK', `${what} completed`);
}
