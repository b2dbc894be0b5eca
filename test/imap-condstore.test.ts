/**
 * CONDSTORE, QRESYNC (RFC 7162) and OBJECTID (RFC 8474) on the IMAP wire,
 * rev1 \Recent for messages that arrive while selected (RFC 3501 2.3.2,
 * 7.3.2), and the selected mailbox deleted or renamed (RFC 2180 3.3), on
 * both database engines, with raw sessions (exact bytes) and imapflow.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { ImapFlow } from 'imapflow';
import { addAccount } from '../src/core/accounts.ts';
import { appendMessage } from '../src/core/append.ts';
import type { CoreContext } from '../src/core/context.ts';
import { expungeMessages } from '../src/core/expunge.ts';
import { pruneJournal } from '../src/core/mail-gc.ts';
import { createMailbox } from '../src/core/mailbox-tree.ts';
import { getMailboxByName } from '../src/core/mailboxes.ts';
import { storeFlags } from '../src/core/message-flags.ts';
import type { AccountId, MailboxId, SeqNum, Uid, UidValidity } from '../src/lib/ids.ts';
import { intersectRanges, matchedUpTo, vanishedToTell, withoutMapped } from '../src/protocols/imap/commands/vanished.ts';
import { SelectedMailbox } from '../src/protocols/imap/selected.ts';
import type { ImapLimits } from '../src/protocols/imap/services.ts';
import { engines, testContext, type TestDb } from './helpers/db.ts';
import { RawImap } from './helpers/imap-raw.ts';
import { TestImapServer } from './helpers/imap-test-server.ts';

const PW = 'condstore test password';
const ALICE = 'alice@condstore.test';

function message(subject: string): Buffer {
  return Buffer.from(`From: a@remote.test\r\nTo: ${ALICE}\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}@remote.test>\r\n\r\nBody of ${subject}.\r\n`);
}

/** The number in `* OK [CODE n]` among the lines. */
function codeValue(lines: readonly string[], code: string): bigint {
  const re = new RegExp(`^\\* OK \\[${code} (\\d+)\\]`);
  for (const l of lines) {
    const m = re.exec(l);
    if (m) return BigInt(m[1]!);
  }
  throw new Error(`no ${code} in ${JSON.stringify(lines)}`);
}

/** MODSEQ (n) of a FETCH line. */
function modseqOf(line: string): bigint {
  const m = /MODSEQ \((\d+)\)/.exec(line);
  assert.ok(m, `MODSEQ in ${line}`);
  return BigInt(m[1]!);
}

describe('VANISHED (EARLIER) on UID ranges (commands/vanished.ts)', () => {
  const r = (...pairs: [number, number][]) => pairs.map(([first, last]) => ({ first: first as Uid, last: last as Uid }));
  const box = (uids: number[]) => new SelectedMailbox(1 as MailboxId, 'X', false, 1 as UidValidity, Uint32Array.from(uids), 1n);
  const set = <N extends number>(...pairs: [number, number][]) => ({ ranges: pairs.map(([first, last]) => ({ first: first as N, last: last as N })), saved: false });

  it('intersects, and leaves out UIDs still in the map', () => {
    assert.deepEqual(intersectRanges(r([1, 10], [20, 30]), r([5, 25])), r([5, 10], [20, 25]));
    assert.deepEqual(intersectRanges(r([1, 3]), r([4, 9])), []);
    assert.deepEqual(withoutMapped(r([1, 10]), box([2, 5, 10, 12])), r([1, 1], [3, 4], [6, 9]));
    assert.deepEqual(withoutMapped(r([3, 4]), box([])), r([3, 4]));
    assert.deepEqual(vanishedToTell(r([1, 100]), r([1, 4294967295]), box([50]), 0), r([1, 49], [51, 100]));
    assert.deepEqual(vanishedToTell(r([1, 100]), r([10, 20]), box([15]), 12), r([13, 14], [16, 20]));
  });

  it('sequence match data: the highest pair in step; mismatched lengths, "*" or too many pairs give 0', () => {
    const b = box([1, 3, 4, 6]); // 2 and 5 expunged
    assert.equal(matchedUpTo(b, { seqs: set<SeqNum>([1, 1], [3, 3]), uids: set<Uid>([1, 1], [3, 3]) }), 1, '3 is message 2 here, not 3');
    assert.equal(matchedUpTo(b, { seqs: set<SeqNum>([4, 4]), uids: set<Uid>([6, 6]) }), 6);
    assert.equal(matchedUpTo(b, { seqs: set<SeqNum>([1, 2]), uids: set<Uid>([1, 1]) }), 0);
    assert.equal(matchedUpTo(b, { seqs: set<SeqNum>([1, 200_000]), uids: set<Uid>([1, 200_000]) }), 0);
    assert.equal(matchedUpTo(b, { seqs: { ranges: [{ first: 1 as SeqNum, last: '*' as const }], saved: false }, uids: set<Uid>([1, 1]) }), 0);
  });
});

for (const engine of engines()) {
  describe(`IMAP CONDSTORE / QRESYNC / OBJECTID (${engine.name})`, () => {
    let t: TestDb;
    let ctx: CoreContext;
    let imap: TestImapServer;
    let port: number;
    let alice: AccountId;
    const limits: ImapLimits = { appendLimit: 5_000_000, allowPlaintextAuth: true, authFailuresPerIpPerMinute: 100, idleTimeoutSeconds: 1800 };
    const boxId = async (name: string): Promise<MailboxId> => (await getMailboxByName(ctx, alice, name)).id;

    /** A mailbox with `n` fresh messages; returns its id and their UIDs. */
    const fresh = async (name: string, n: number): Promise<{ id: MailboxId; uids: number[] }> => {
      await createMailbox(ctx, alice, name);
      const id = await boxId(name);
      const uids: number[] = [];
      for (let i = 1; i <= n; i++) uids.push((await appendMessage(t.db, { mailboxId: id, raw: message(`${name} ${i}`) })).uid);
      return { id, uids };
    };
    const raw = async (): Promise<RawImap> => {
      const c = await RawImap.open(port);
      assert.match(await c.line(), /^\* OK /);
      assert.match((await c.command('L1', `LOGIN ${ALICE} "${PW}"`)).done, /^L1 OK /);
      return c;
    };
    const flow = async (opts: { qresync?: boolean } = {}): Promise<ImapFlow> => {
      const client = new ImapFlow({ host: '127.0.0.1', port, secure: false, auth: { user: ALICE, pass: PW }, logger: false, disableAutoIdle: true, ...opts });
      await client.connect();
      return client;
    };
    const flag = (mailboxId: MailboxId, uid: number, flags: string[], operation: 'add' | 'remove' | 'replace' = 'add') =>
      storeFlags(ctx, { accountId: alice, mailboxId, uids: [{ first: uid, last: uid }], operation, flags });
    const expunge = async (mailboxId: MailboxId, uids: number[]) => {
      for (const uid of uids) await flag(mailboxId, uid, ['\\Deleted']);
      return expungeMessages(ctx, { accountId: alice, mailboxId, uids: uids.map((u) => ({ first: u, last: u })) });
    };

    before(async () => {
      t = await engine.create();
      ctx = testContext(t.db);
      imap = new TestImapServer(t, limits);
      alice = (await addAccount(ctx, { address: ALICE, password: PW, createDomain: true })).id;
      port = await imap.listen('imap.condstore.test');
    });
    after(async () => {
      await imap.close();
      await t.drop();
    });

    it('CAPABILITY announces CONDSTORE, QRESYNC and OBJECTID; ENABLE lists what it newly enabled (RFC 5161, RFC 7162 3.2.3)', async () => {
      const c = await raw();
      const caps = (await c.command('a', 'CAPABILITY')).lines[0]!.split(' ');
      for (const cap of ['CONDSTORE', 'QRESYNC', 'OBJECTID']) assert.ok(caps.includes(cap), cap);
      assert.deepEqual((await c.command('b', 'ENABLE CONDSTORE')).lines, ['* ENABLED CONDSTORE']);
      assert.deepEqual((await c.command('c', 'ENABLE CONDSTORE')).lines, ['* ENABLED'], 'already on');
      assert.deepEqual((await c.command('d', 'ENABLE QRESYNC X-NONE')).lines, ['* ENABLED QRESYNC']);
      assert.deepEqual((await c.command('e', 'ENABLE QRESYNC')).lines, ['* ENABLED']);
      c.close();
      const d = await raw();
      assert.deepEqual((await d.command('a', 'ENABLE QRESYNC CONDSTORE')).lines, ['* ENABLED QRESYNC CONDSTORE']);
      d.close();
      // STATUS HIGHESTMODSEQ is an enabling action (RFC 7162 3.1): a later SELECT reports HIGHESTMODSEQ.
      const e = await raw();
      const plain = await e.command('a', 'SELECT INBOX');
      assert.ok(!plain.lines.some((l) => l.includes('HIGHESTMODSEQ')), 'no HIGHESTMODSEQ before CONDSTORE is on');
      const st = await e.command('b', 'STATUS INBOX (HIGHESTMODSEQ)');
      const h = BigInt(/HIGHESTMODSEQ (\d+)/.exec(st.lines[0]!)![1]!);
      const sel = await e.command('c', 'SELECT INBOX');
      assert.equal(codeValue(sel.lines, 'HIGHESTMODSEQ'), h);
      assert.deepEqual((await e.command('d', 'UNSELECT')).lines, []);
      assert.deepEqual((await e.command('f', 'ENABLE CONDSTORE')).lines, ['* ENABLED'], 'STATUS turned it on');
      e.close();
    });

    it('SELECT (CONDSTORE): HIGHESTMODSEQ = STATUS HIGHESTMODSEQ; FETCH MODSEQ; FETCH (CHANGEDSINCE n) only newer, MODSEQ implied (RFC 7162 3.1.2.1, 3.1.4, 3.1.5)', async () => {
      const { id, uids } = await fresh('Cond', 3);
      const c = await raw();
      const st = await c.command('s', 'STATUS Cond (HIGHESTMODSEQ)');
      const h0 = BigInt(/HIGHESTMODSEQ (\d+)/.exec(st.lines[0]!)![1]!);
      const sel = await c.command('a', 'EXAMINE Cond (CONDSTORE)');
      assert.equal(codeValue(sel.lines, 'HIGHESTMODSEQ'), h0);
      assert.ok(!sel.lines.some((l) => l.includes('NOMODSEQ')));
      const f = await c.command('b', 'FETCH 1:* (UID MODSEQ)');
      assert.equal(f.lines.length, 3);
      const mods = f.lines.map(modseqOf);
      assert.deepEqual(f.lines.map((l) => /UID (\d+)/.exec(l)![1]), uids.map(String));
      assert.ok(mods[0]! < mods[1]! && mods[1]! < mods[2]! && mods[2]! === h0, 'one modseq per append, the last is the highest');

      await flag(id, uids[1]!, ['\\Flagged']);
      const ch = await c.command('c', `FETCH 1:* (FLAGS) (CHANGEDSINCE ${h0})`);
      assert.equal(ch.lines.length, 1);
      assert.match(ch.lines[0]!, /^\* 2 FETCH \(FLAGS \(\\Flagged\) MODSEQ \((\d+)\)\)$/);
      assert.ok(modseqOf(ch.lines[0]!) > h0);
      // With items that need the message rows, and UID FETCH: the same filter.
      const env = await c.command('d', `UID FETCH 1:* (RFC822.SIZE) (CHANGEDSINCE ${h0})`);
      assert.equal(env.lines.length, 1);
      assert.match(env.lines[0]!, new RegExp(`^\\* 2 FETCH \\(UID ${uids[1]} RFC822.SIZE \\d+ MODSEQ \\(\\d+\\)\\)$`));
      assert.deepEqual((await c.command('e', `FETCH 1:* (FLAGS) (CHANGEDSINCE ${modseqOf(ch.lines[0]!)})`)).lines, [], 'nothing newer');
      // The change made while selected arrives at NOOP with MODSEQ (RFC 7162 3.1: every untagged FETCH).
      const n = await c.command('f', 'NOOP');
      assert.deepEqual(n.lines, [`* 2 FETCH (FLAGS (\\Flagged) UID ${uids[1]} MODSEQ (${modseqOf(ch.lines[0]!)}))`]);
      c.close();
    });

    it('STORE (UNCHANGEDSINCE): two sessions; the message changed by the other fails with [MODIFIED], the rest change with MODSEQ (RFC 7162 3.1.3)', async () => {
      const { uids } = await fresh('Cas', 4);
      const a = await raw();
      const b = await raw();
      await a.command('r', 'ENABLE IMAP4rev2'); // no \Recent in a's responses
      const selA = await a.command('a', 'SELECT Cas (CONDSTORE)');
      const h0 = codeValue(selA.lines, 'HIGHESTMODSEQ');
      await b.command('a', 'SELECT Cas');
      const bs = await b.command('b', 'STORE 2 +FLAGS (\\Answered)');
      // No MODSEQ: CONDSTORE is not on in b; \Recent: b is a rev1 read-write session and claimed them (a is rev2).
      assert.deepEqual(bs.lines, ['* 2 FETCH (FLAGS (\\Answered \\Recent))']);

      const r = await a.command('b', `STORE 1:3 (UNCHANGEDSINCE ${h0}) +FLAGS (\\Seen)`);
      assert.match(r.done, /^b OK \[MODIFIED 2\] /);
      assert.equal(r.lines.length, 2);
      assert.match(r.lines[0]!, /^\* 1 FETCH \(FLAGS \(\\Seen\) MODSEQ \(\d+\)\)$/);
      assert.match(r.lines[1]!, /^\* 3 FETCH \(FLAGS \(\\Seen\) MODSEQ \(\d+\)\)$/);
      const m1 = modseqOf(r.lines[0]!);
      assert.equal(modseqOf(r.lines[1]!), m1, 'one modseq for the STORE');

      // UID STORE: MODIFIED lists UIDs; .SILENT still sends FETCH (MODSEQ) for what changed.
      assert.match((await b.command('b2', 'STORE 2 +FLAGS (Checked)')).done, /^b2 OK /); // after m1
      const u = await a.command('c', `UID STORE ${uids[0]}:${uids[3]} (UNCHANGEDSINCE ${m1}) +FLAGS.SILENT (\\Draft)`);
      assert.match(u.done, new RegExp(`^c OK \\[MODIFIED ${uids[1]}\\] Conditional UID STORE failed`));
      assert.deepEqual(u.lines.map((l) => l.replace(/MODSEQ \(\d+\)/, 'MODSEQ (m)')), [
        `* 1 FETCH (MODSEQ (m) UID ${uids[0]})`,
        `* 3 FETCH (MODSEQ (m) UID ${uids[2]})`,
        `* 4 FETCH (MODSEQ (m) UID ${uids[3]})`,
      ]);
      // UNCHANGEDSINCE 0 always fails (RFC 7162 3.1.3).
      const z = await a.command('d', 'STORE 1:4 (UNCHANGEDSINCE 0) -FLAGS (\\Draft)');
      assert.match(z.done, /^d OK \[MODIFIED 1:4\] /);
      assert.deepEqual(z.lines, []);
      // Plain STORE with CONDSTORE on: FETCH with MODSEQ.
      const p = await a.command('e', 'STORE 4 -FLAGS (\\Draft)');
      assert.match(p.lines[0]!, /^\* 4 FETCH \(FLAGS \(\) MODSEQ \(\d+\)\)$/);
      assert.match(p.done, /^e OK STORE completed/);
      // b hears about a's changes at NOOP (without MODSEQ: not enabled there).
      const nb = await b.command('c', 'NOOP');
      assert.ok(nb.lines.includes(`* 1 FETCH (FLAGS (\\Seen \\Draft \\Recent) UID ${uids[0]})`), nb.lines.join('\n'));
      a.close();
      b.close();
    });

    it('QRESYNC: SELECT (QRESYNC (uidvalidity modseq)) after a reconnect reports VANISHED (EARLIER) and the changed flags (RFC 7162 3.2.5)', async () => {
      const { id, uids } = await fresh('Sync', 6);
      const c = await raw();
      assert.deepEqual((await c.command('e', 'ENABLE QRESYNC')).lines, ['* ENABLED QRESYNC']);
      const sel = await c.command('a', 'SELECT Sync');
      const uv = codeValue(sel.lines, 'UIDVALIDITY');
      const h = codeValue(sel.lines, 'HIGHESTMODSEQ');
      c.close();

      // While the client is away: two expunges, one flag change, one new message.
      await expunge(id, [uids[1]!, uids[4]!]);
      await flag(id, uids[2]!, ['\\Flagged', 'Later']);
      const added = await appendMessage(t.db, { mailboxId: id, raw: message('Sync new') });

      const d = await raw();
      await d.command('e', 'ENABLE QRESYNC');
      const r = await d.command('a', `SELECT Sync (QRESYNC (${uv} ${h}))`);
      assert.match(r.done, /^a OK \[READ-WRITE\] /);
      assert.ok(r.lines.includes('* 5 EXISTS'));
      const vi = r.lines.indexOf(`* VANISHED (EARLIER) ${uids[1]},${uids[4]}`);
      assert.ok(vi > 0, r.lines.join('\n'));
      const fetches = r.lines.filter((l) => / FETCH /.test(l));
      assert.equal(r.lines.indexOf(fetches[0]!), vi + 1, 'FETCH after VANISHED');
      assert.deepEqual(fetches.map((l) => l.replace(/MODSEQ \(\d+\)/, 'MODSEQ (m)')), [
        `* 2 FETCH (UID ${uids[2]} FLAGS (\\Flagged Later) MODSEQ (m))`,
        `* 5 FETCH (UID ${added.uid} FLAGS (\\Recent) MODSEQ (m))`, // this rev1 SELECT claimed it
      ]);
      const h2 = codeValue(r.lines, 'HIGHESTMODSEQ');
      assert.ok(h2 > h);

      // known-uids narrows both: only UIDs the client names.
      const k = await d.command('b', `EXAMINE Sync (QRESYNC (${uv} ${h} ${uids[0]}:${uids[2]}))`);
      assert.match(k.lines[0]!, /^\* OK \[CLOSED\]/);
      assert.ok(k.lines.includes(`* VANISHED (EARLIER) ${uids[1]}`), k.lines.join('\n'));
      assert.deepEqual(k.lines.filter((l) => / FETCH /.test(l)).length, 1);
      // Up to date: nothing to tell.
      const u = await d.command('c', `EXAMINE Sync (QRESYNC (${uv} ${h2}))`);
      assert.ok(!u.lines.some((l) => l.startsWith('* VANISHED') || / FETCH /.test(l)), u.lines.join('\n'));
      // Another UIDVALIDITY: a plain SELECT (RFC 7162 3.2.5), still with HIGHESTMODSEQ.
      const w = await d.command('f', `EXAMINE Sync (QRESYNC (${uv + 1n} ${h}))`);
      assert.ok(!w.lines.some((l) => l.startsWith('* VANISHED') || / FETCH /.test(l)));
      assert.equal(codeValue(w.lines, 'HIGHESTMODSEQ'), h2);
      assert.match(w.done, /^f OK \[READ-ONLY\] /);
      d.close();

      // imapflow: QRESYNC through mailboxOpen reports the vanished UIDs as an expunge event.
      const client = await flow({ qresync: true });
      const vanished: number[] = [];
      client.on('expunge', (e: { uid?: number; vanished?: boolean }) => {
        if (e.vanished && e.uid) vanished.push(Number(e.uid));
      });
      const mb = await client.mailboxOpen('Sync', { uidValidity: uv, changedSince: h } as never);
      assert.equal(BigInt(mb.highestModseq ?? 0n), h2);
      assert.deepEqual(vanished.sort((x, y) => x - y), [uids[1], uids[4]]);
      // imapflow's fetch with changedSince (UID FETCH ... (CHANGEDSINCE h VANISHED)): the two changed messages, with modseqs.
      vanished.length = 0;
      const changed: { uid: number; modseq: bigint }[] = [];
      for await (const m of client.fetch('1:*', { uid: true, flags: true }, { uid: true, changedSince: h })) changed.push({ uid: m.uid, modseq: BigInt(m.modseq ?? 0n) });
      assert.deepEqual(changed.map((m) => m.uid), [uids[2], added.uid]);
      assert.ok(changed.every((m) => m.modseq > h && m.modseq <= h2));
      assert.deepEqual(vanished.sort((x, y) => x - y), [uids[1], uids[4]], 'VANISHED (EARLIER) again');
      await client.logout();
    });

    it('QRESYNC: VANISHED instead of EXPUNGE for EXPUNGE, UID EXPUNGE, MOVE and other sessions\' expunges (RFC 7162 3.2.10)', async () => {
      const { id, uids } = await fresh('Van', 6);
      await createMailbox(ctx, alice, 'VanTarget');
      const c = await raw();
      await c.command('e', 'ENABLE QRESYNC');
      await c.command('a', 'SELECT Van');
      assert.match((await c.command('b', 'STORE 1,3 +FLAGS.SILENT (\\Deleted)')).done, /^b OK /);
      const x = await c.command('c', 'EXPUNGE');
      assert.deepEqual(x.lines, [`* VANISHED ${uids[0]},${uids[2]}`]);
      const hx = BigInt(/\[HIGHESTMODSEQ (\d+)\]/.exec(x.done)![1]!);
      assert.match(x.done, /^c OK \[HIGHESTMODSEQ \d+\] EXPUNGE completed/);
      const st = await c.command('s', 'STATUS Van (HIGHESTMODSEQ MESSAGES)');
      assert.equal(st.lines[0], `* STATUS "Van" (HIGHESTMODSEQ ${hx} MESSAGES 4)`);

      // Another session's expunge: one VANISHED at NOOP; EXISTS shrinks without EXPUNGE.
      await expunge(id, [uids[3]!]);
      const n = await c.command('d', 'NOOP');
      assert.deepEqual(n.lines.filter((l) => !/ FETCH /.test(l)), [`* VANISHED ${uids[3]}`]);
      assert.ok(!c.transcript.some((l) => / EXPUNGE$/.test(l)));
      // The map shrank: message 1 is now uids[1], 2 is uids[4].
      const f = await c.command('f', 'FETCH 1:* (UID)');
      assert.deepEqual(f.lines, [`* 1 FETCH (UID ${uids[1]})`, `* 2 FETCH (UID ${uids[4]})`, `* 3 FETCH (UID ${uids[5]})`]);

      const mv = await c.command('g', `UID MOVE ${uids[4]} VanTarget`);
      assert.match(mv.lines[0]!, /^\* OK \[COPYUID /);
      assert.deepEqual(mv.lines.slice(1), [`* VANISHED ${uids[4]}`]);
      assert.match(mv.done, /^g OK \[HIGHESTMODSEQ \d+\] UID MOVE completed/);

      await c.command('h', `UID STORE ${uids[5]} +FLAGS.SILENT (\\Deleted)`);
      const ux = await c.command('i', `UID EXPUNGE ${uids[5]}`);
      assert.deepEqual(ux.lines, [`* VANISHED ${uids[5]}`]);
      assert.deepEqual((await c.command('j', 'FETCH 1:* (UID)')).lines, [`* 1 FETCH (UID ${uids[1]})`]);
      c.close();
    });

    it('UID FETCH (CHANGEDSINCE n VANISHED): VANISHED (EARLIER) for the UIDs of the set expunged since n, then the changes (RFC 7162 3.2.6)', async () => {
      const { id, uids } = await fresh('Since', 5);
      const c = await raw();
      await c.command('e', 'ENABLE QRESYNC');
      const sel = await c.command('a', 'EXAMINE Since');
      const h = codeValue(sel.lines, 'HIGHESTMODSEQ');
      await expunge(id, [uids[0]!, uids[3]!]);
      await flag(id, uids[2]!, ['\\Seen']);
      await c.command('n', 'NOOP'); // learn of them (VANISHED), as a client would before
      const r = await c.command('b', `UID FETCH ${uids[1]}:* (FLAGS) (CHANGEDSINCE ${h} VANISHED)`);
      assert.equal(r.lines[0], `* VANISHED (EARLIER) ${uids[3]}`, 'only UIDs in the set');
      assert.deepEqual(r.lines.slice(1).map((l) => l.replace(/MODSEQ \(\d+\)/, 'MODSEQ (m)')), [`* 2 FETCH (UID ${uids[2]} FLAGS (\\Seen) MODSEQ (m))`]);
      const all = await c.command('c', `UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${h} VANISHED)`);
      assert.equal(all.lines[0], `* VANISHED (EARLIER) ${uids[0]},${uids[3]}`);
      // A message expunged by another session and not yet told stays in the map: not in VANISHED (EARLIER).
      await expunge(id, [uids[4]!]);
      const before = await c.command('d', `UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${h} VANISHED)`);
      assert.equal(before.lines[0], `* VANISHED (EARLIER) ${uids[0]},${uids[3]}`);
      assert.deepEqual((await c.command('f', 'NOOP')).lines, [`* VANISHED ${uids[4]}`]);
      c.close();
    });

    it('tombstones pruned past the client\'s modseq: VANISHED (EARLIER) is every missing UID, narrowed by known-uids and the sequence match data (RFC 7162 3.2.5.2)', async () => {
      const { id, uids } = await fresh('Floor', 6);
      const c = await raw();
      await c.command('e', 'ENABLE QRESYNC');
      const sel = await c.command('a', 'EXAMINE Floor');
      const uv = codeValue(sel.lines, 'UIDVALIDITY');
      const h = codeValue(sel.lines, 'HIGHESTMODSEQ');
      await c.command('u', 'UNSELECT');
      await expunge(id, [uids[1]!, uids[4]!]);
      assert.ok((await pruneJournal(t.db, { tombstoneSeconds: 0, changeSeconds: 0 })) > 0);
      // Without tombstones the server sends every UID below UIDNEXT that is missing (a superset; RFC 7162 3.2.10 allows it).
      const all = await c.command('b', `EXAMINE Floor (QRESYNC (${uv} ${h}))`);
      assert.ok(all.lines.includes(`* VANISHED (EARLIER) ${uids[1]},${uids[4]}`), all.lines.join('\n'));
      const known = await c.command('c', `EXAMINE Floor (QRESYNC (${uv} ${h} ${uids[0]}:${uids[2]}))`);
      assert.ok(known.lines.includes(`* VANISHED (EARLIER) ${uids[1]}`), known.lines.join('\n'));
      // Sequence match data (here: 1 uids[0], 2 uids[2], 3 uids[3], 4 uids[5]). The client's (1 -> uids[0]) matches,
      // (3 -> uids[2]) does not: in step up to uids[0] only, so uids[1] and uids[4] are still told.
      const seq = await c.command('d', `EXAMINE Floor (QRESYNC (${uv} ${h} 1:${uids[5]} (1,3 ${uids[0]},${uids[2]})))`);
      assert.ok(seq.lines.includes(`* VANISHED (EARLIER) ${uids[1]},${uids[4]}`), seq.lines.join('\n'));
      // A client whose 4th message is uids[5] already knows uids[1] and uids[4] are gone: nothing is told.
      const inStep = await c.command('f', `EXAMINE Floor (QRESYNC (${uv} ${h} 1:${uids[5]} (4 ${uids[5]})))`);
      assert.ok(!inStep.lines.some((l) => l.startsWith('* VANISHED')), inStep.lines.join('\n'));
      c.close();
    });

    it('OBJECTID: EMAILID the same after COPY, different for different messages; THREADID NIL (RFC 8474 5)', async () => {
      await fresh('Obj', 2);
      await createMailbox(ctx, alice, 'ObjCopy');
      const c = await raw();
      await c.command('a', 'SELECT Obj');
      const f = await c.command('b', 'FETCH 1:2 (EMAILID THREADID)');
      const ids = f.lines.map((l) => {
        const m = /^\* \d FETCH \(EMAILID \((M[0-9a-z]+)\) THREADID NIL\)$/.exec(l);
        assert.ok(m, l);
        return m[1]!;
      });
      assert.notEqual(ids[0], ids[1]);
      assert.ok(ids.every((i) => i.length <= 255 && /^[A-Za-z0-9_-]+$/.test(i)));
      assert.match((await c.command('c', 'COPY 1 ObjCopy')).done, /^c OK \[COPYUID /);
      await c.command('d', 'SELECT ObjCopy');
      const g = await c.command('e', 'FETCH 1 (UID EMAILID)');
      assert.match(g.lines[0]!, new RegExp(`EMAILID \\(${ids[0]}\\)`));
      // STATUS MAILBOXID (RFC 8474 4) is there too.
      assert.match((await c.command('s', 'STATUS ObjCopy (MAILBOXID)')).lines[0]!, /^\* STATUS "ObjCopy" \(MAILBOXID \([\w-]+\)\)$/);
      c.close();
    });

    it('rev1 \\Recent: a message delivered while two sessions have the mailbox selected is \\Recent in one only; RECENT after EXISTS (RFC 3501 2.3.2, 7.3.2)', async () => {
      const { id } = await fresh('Rec', 1);
      const a = await raw();
      const b = await raw();
      const r = await raw();
      await r.command('e', 'ENABLE IMAP4rev2');
      assert.ok((await a.command('a', 'SELECT Rec')).lines.includes('* 1 RECENT'), 'a claimed the first');
      assert.ok((await b.command('a', 'SELECT Rec')).lines.includes('* 0 RECENT'));
      await r.command('a', 'SELECT Rec');
      assert.deepEqual((await a.command('f', 'FETCH 1 (FLAGS)')).lines, ['* 1 FETCH (FLAGS (\\Recent))']);
      assert.deepEqual((await b.command('f', 'FETCH 1 (FLAGS)')).lines, ['* 1 FETCH (FLAGS ())']);

      await appendMessage(t.db, { mailboxId: id, raw: message('Rec arrival') });
      const nb = await b.command('b', 'NOOP'); // b learns first: it claims the new one
      assert.deepEqual(nb.lines, ['* 2 EXISTS', '* 1 RECENT']);
      const na = await a.command('b', 'NOOP');
      assert.deepEqual(na.lines, ['* 2 EXISTS', '* 1 RECENT'], 'a still has its first one');
      assert.deepEqual((await b.command('c', 'FETCH 1:2 (FLAGS)')).lines, ['* 1 FETCH (FLAGS ())', '* 2 FETCH (FLAGS (\\Recent))']);
      assert.deepEqual((await a.command('c', 'FETCH 1:2 (FLAGS)')).lines, ['* 1 FETCH (FLAGS (\\Recent))', '* 2 FETCH (FLAGS ())']);
      // A flag change keeps \Recent in the session that has it (STORE and NOOP FETCH responses).
      assert.deepEqual((await b.command('d', 'STORE 2 +FLAGS (\\Seen)')).lines, ['* 2 FETCH (FLAGS (\\Seen \\Recent))']);
      // IMAP4rev2 has no \Recent and no RECENT (RFC 9051 Appendix E).
      const nr = await r.command('b', 'NOOP');
      assert.ok(!nr.lines.some((l) => l.includes('RECENT')), nr.lines.join('\n'));
      assert.ok(nr.lines.includes('* 2 EXISTS'));
      assert.ok(!(await r.command('c', 'FETCH 1:2 (FLAGS)')).lines.some((l) => l.includes('\\Recent')));
      // IDLE reports EXISTS then RECENT too.
      assert.deepEqual((await a.command('h', 'NOOP')).lines, ['* 2 FETCH (FLAGS (\\Seen) UID 2)'], 'b\'s change; not \\Recent in a');
      a.write('i IDLE\r\n');
      assert.equal(await a.line(), '+ idling');
      await appendMessage(t.db, { mailboxId: id, raw: message('Rec idle') });
      assert.equal(await a.line(), '* 3 EXISTS');
      assert.equal(await a.line(), '* 2 RECENT');
      a.write('DONE\r\n');
      assert.match(await a.line(), /^i OK /);
      for (const x of [a, b, r]) x.close();
    });

    it('DELETE of the selected mailbox by this session: * OK [CLOSED], back to the authenticated state; RENAME keeps the selection', async () => {
      await fresh('Doomed', 2);
      const c = await raw();
      await c.command('a', 'SELECT Doomed');
      const d = await c.command('b', 'DELETE Doomed');
      assert.deepEqual(d.lines.map((l) => l.replace(/\] .*$/, ']')), ['* OK [CLOSED]']);
      assert.match(d.done, /^b OK DELETE completed/);
      assert.match((await c.command('c', 'FETCH 1 (FLAGS)')).done, /^c BAD FETCH needs a selected mailbox/);
      assert.match((await c.command('d', 'SELECT Doomed')).done, /^d NO \[NONEXISTENT\] /);
      // DELETE of another mailbox leaves the selection alone.
      await fresh('Other', 1);
      await fresh('Kept', 1);
      await c.command('e', 'SELECT Kept');
      const o = await c.command('f', 'DELETE Other');
      assert.deepEqual(o.lines, []);
      assert.match((await c.command('g', 'FETCH 1 (UID)')).done, /^g OK /);
      // RENAME by another session: same mailbox id, the session goes on.
      const other = await raw();
      assert.match((await other.command('a', 'RENAME Kept Renamed')).done, /^a OK /);
      await appendMessage(t.db, { mailboxId: await boxId('Renamed'), raw: message('after rename') });
      assert.deepEqual((await c.command('h', 'NOOP')).lines, ['* 2 EXISTS', '* 2 RECENT'], 'both claimed by this rev1 session');
      assert.equal((await c.command('i', 'FETCH 2 (UID)')).lines.length, 1);
      other.close();
      c.close();
    });

    it('DELETE of the selected mailbox by another session: the next NOOP, FETCH, STORE or IDLE gets * BYE and the connection closes (RFC 2180 3.3)', async () => {
      for (const [n, command] of [
        [1, 'NOOP'],
        [2, 'FETCH 1:* (FLAGS)'],
        [3, 'FETCH 1 (BODY.PEEK[])'],
        [4, 'STORE 1 +FLAGS (\\Seen)'],
        [5, 'EXPUNGE'],
        [6, 'IDLE'],
      ] as const) {
        await fresh(`Gone${n}`, 2);
        const c = await raw();
        await c.command('a', `SELECT Gone${n}`);
        const other = await raw();
        assert.match((await other.command('a', `DELETE Gone${n}`)).done, /^a OK /);
        other.close();
        c.write(`b ${command}\r\n`);
        if (command === 'IDLE') assert.equal(await c.line(), '+ idling');
        assert.match(await c.line(), /^\* BYE Selected mailbox was deleted/, command);
        assert.ok(await c.waitClosed(5000), `${command}: closed`);
      }
    });

    it('python3 imaplib: ENABLE CONDSTORE, SELECT with HIGHESTMODSEQ, FETCH MODSEQ, conditional STORE with MODIFIED', async () => {
      await fresh('Py', 2);
      const script = `
import imaplib, json, sys
m = imaplib.IMAP4('127.0.0.1', int(sys.argv[1]))
m.login(sys.argv[2], sys.argv[3])
m.enable('CONDSTORE')
out = {'enable': [d.decode() for d in m.response('ENABLED')[1]]}
typ, data = m.select('Py')
out['highestmodseq'] = m.response('HIGHESTMODSEQ')[1][0].decode()
typ, data = m.fetch('1:2', '(UID MODSEQ EMAILID)')
out['fetch'] = [d.decode() for d in data]
typ, data = m.store('1:2', '(UNCHANGEDSINCE 1) +FLAGS', '(\\\\Seen)')
out['store'] = [typ, m.response('MODIFIED')[1][0].decode()]
out['logout'] = m.logout()[0]
print(json.dumps(out))
`;
      const stdout = await new Promise<string>((resolve, reject) => {
        execFile('python3', ['-c', script, String(port), ALICE, PW], { timeout: 20_000 }, (err, out, errOut) => (err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out)));
      });
      const out = JSON.parse(stdout) as { enable: string[]; highestmodseq: string; fetch: string[]; store: [string, string]; logout: string };
      assert.deepEqual(out.enable, ['CONDSTORE']);
      const mods = out.fetch.map((f) => BigInt(/MODSEQ \((\d+)\)/.exec(f)![1]!));
      assert.equal(out.fetch.length, 2);
      assert.ok(out.fetch.every((f) => /^\d \(UID \d+ MODSEQ \(\d+\) EMAILID \(M[0-9a-z]+\)\)$/.test(f)), out.fetch.join('|'));
      assert.equal(BigInt(out.highestmodseq), mods[1], 'the last append has the highest modseq');
      assert.deepEqual(out.store, ['OK', '1:2'], 'both messages are newer than modseq 1');
      assert.equal(out.logout, 'BYE');
    });

    it('bad input: QRESYNC without ENABLE, CHANGEDSINCE 0 or malformed, VANISHED without QRESYNC or CHANGEDSINCE: BAD, and the session goes on', async () => {
      await fresh('Bad', 2);
      const c = await raw();
      assert.match((await c.command('a', 'SELECT Bad (QRESYNC (1 1))')).done, /^a BAD .*ENABLE QRESYNC/);
      assert.match((await c.command('b', 'SELECT Bad')).done, /^b OK /);
      assert.match((await c.command('c', 'FETCH 1:* (FLAGS) (CHANGEDSINCE 0)')).done, /^c BAD /);
      assert.match((await c.command('d', 'FETCH 1:* (FLAGS) (CHANGEDSINCE abc)')).done, /^d BAD /);
      assert.match((await c.command('e', 'FETCH 1:* (FLAGS) (CHANGEDSINCE 18446744073709551616)')).done, /^e BAD /);
      assert.match((await c.command('f', 'UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)')).done, /^f BAD .*QRESYNC/);
      assert.match((await c.command('g', 'FETCH 1:* (FLAGS) (VANISHED)')).done, /^g BAD /);
      assert.match((await c.command('h', 'STORE 1 (UNCHANGEDSINCE x) +FLAGS (\\Seen)')).done, /^h BAD /);
      assert.match((await c.command('i', 'STORE 1 (UNCHANGEDSINCE 5 UNCHANGEDSINCE 6) +FLAGS (\\Seen)')).done, /^i BAD /);
      assert.match((await c.command('j', 'FETCH 1 (SAVEDATE)')).done, /^j BAD /);
      assert.match((await c.command('k', 'NOOP')).done, /^k OK /);
      await c.command('l', 'UNSELECT');
      assert.deepEqual((await c.command('m', 'ENABLE QRESYNC')).lines, ['* ENABLED QRESYNC']);
      assert.match((await c.command('n', 'SELECT Bad (QRESYNC (1 0))')).done, /^n BAD /);
      assert.match((await c.command('o', 'SELECT Bad (QRESYNC (1 1 1:*))')).done, /^o BAD /);
      assert.match((await c.command('p', 'SELECT Bad (QRESYNC (1))')).done, /^p BAD /);
      assert.match((await c.command('q', 'SELECT Bad (QRESYNC (0 1))')).done, /^q BAD /);
      assert.match((await c.command('r', 'SELECT Bad (QRESYNC (1 1 1:2 (1:2 5)))')).done, /^r OK /, 'mismatched sequence match data is ignored');
      assert.match((await c.command('s', 'FETCH 1 (UID MODSEQ)')).done, /^s OK /);
      c.close();
    });
  });
}
