/**
 * Search words split in the node (mail/search-terms.ts, migration 0007): the
 * tsvector and tsquery literals, PostgreSQL's limits, and SEARCH BODY over
 * both kinds of index rows: vectors the node built, and vectors built by
 * to_tsvector before (a row queued without a vector), which must still match
 * as they did, addresses included.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { appendMessage } from '../src/core/append.ts';
import { searchMessages } from '../src/core/message-search.ts';
import { searchQuery, searchVector, searchWords } from '../src/mail/search-terms.ts';
import type { AccountId, MailboxId } from '../src/lib/ids.ts';
import { indexPendingSearch } from '../src/store/search.ts';
import { engines, testContext, type TestDb } from './helpers/db.ts';
import { mailboxId, newAccount } from './helpers/mailbox-ops.ts';

describe('search words', () => {
  test('words are runs of letters, digits and marks, lower-cased; an address is its words in a row', () => {
    assert.deepEqual(searchWords('Re: Alice.Martin@Partner.example -- 2026-11 Über naïve e\u0301t\u00e9'), [
      're', 'alice', 'martin', 'partner', 'example', '2026', '11', 'über', 'naïve', 'e\u0301té',
    ]);
    assert.equal(searchVector('the cat and the hat'), "'the':1,4 'cat':2 'and':3 'hat':5");
    assert.equal(searchVector('... --- ...'), '');
    assert.equal(searchQuery('Hello Wor'), "'hello':* <-> 'wor':*");
    assert.equal(searchQuery('a.b@x'), "'a':* <-> 'b':* <-> 'x':*");
    assert.equal(searchQuery(' -- '), null);
  });

  test('the split equals the runs of letters, digits and marks as the u-flag regular expression finds them, on random text of every script, surrogate pairs and lone surrogates', () => {
    // The definition the scanner in search-terms.ts implements without a regular expression per word.
    const reference = (s: string): string[] => [...s.toLowerCase().matchAll(/[\p{L}\p{N}\p{M}]+/gu)].map((m) => m[0]).filter((w) => Buffer.byteLength(w) <= 2046);
    const pieces = [
      'a', 'Z', '0', '9', ' ', '.', '@', '-', '_', "'", '\\', '\r\n', '\t', '\u00e9', '\u00c9', '\u0301', '\u00df', '\u0130', '\u03a3',
      '\u0416', '\u05d0', '\u0627', '\u0663', '\u0915', '\u093f', '\u4e2d', '\u3042', '\uac00', '\u00a0', '\u2013', '\u20ac', '\uff21',
      '\ud835\udc00', '\ud83d\ude00', '\ud800', '\udc00', '\u2160', '\u00bd', '\ufeff', '\u200d',
    ];
    let seed = 12345;
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
    for (let round = 0; round < 3000; round++) {
      let s = '';
      const len = rand(40);
      for (let k = 0; k < len; k++) s += pieces[rand(pieces.length)]!;
      assert.deepEqual(searchWords(s), reference(s), JSON.stringify(s));
      const words = reference(s);
      assert.equal(searchQuery(s), words.length === 0 ? null : words.map((w) => `'${w}':*`).join(' <-> '), JSON.stringify(s));
    }
    // Every BMP character alone, against the class it must have.
    for (let c = 0; c < 0x10000; c++) {
      const ch = String.fromCharCode(c);
      assert.deepEqual(searchWords(`x${ch}y`), reference(`x${ch}y`), `U+${c.toString(16)}`);
    }
  });

  test("PostgreSQL's limits: positions up to 16383, 256 per word, no word of 2047 octets or more", () => {
    const many = searchVector(Array.from({ length: 300 }, () => 'same').join(' '));
    assert.equal(many.split(',').length, 256);
    const late = searchVector(`${'w '.repeat(16390)}last`);
    assert.match(late, /'last':16383$/);
    const long = 'x'.repeat(2047);
    assert.deepEqual(searchWords(`short ${long} ${'é'.repeat(1024)}`), ['short']);
    assert.equal(searchQuery(long), null);
  });
});

for (const engine of engines()) {
  describe(`SEARCH BODY over node-built and parser-built vectors (${engine.name})`, () => {
    let t: TestDb;
    let account: AccountId;
    let box: MailboxId;
    before(async () => {
      t = await engine.create();
      const ctx = testContext(t.db);
      account = await newAccount(ctx);
      box = await mailboxId(ctx, account, 'INBOX');
    });
    after(async () => t.drop());

    const body = (subject: string, text: string) =>
      Buffer.from(`From: a@ops.test\r\nTo: b@ops.test\r\nSubject: ${subject}\r\n\r\n${text}\r\n`);
    const find = async (value: string): Promise<number[]> =>
      [...(await searchMessages(testContext(t.db), account, box, { kind: 'text', field: 'body', value }, { maxUid: 1_000_000, withModseq: false })).uids];

    test('both kinds of rows match words, phrases, prefixes, addresses and hyphenated words; the rest does not', async () => {
      const text = 'Please ask Alice.Martin@partner.example about the follow-up budget review.';
      const fresh = await appendMessage(t.db, { mailboxId: box, raw: body('fresh', text) });
      const old = await appendMessage(t.db, { mailboxId: box, raw: body('old', text) });
      // The second as an older binary queued it: no vector, so the indexer runs to_tsvector.
      await t.db.query('UPDATE search_pending sp SET vector = NULL FROM messages m WHERE m.id = sp.message_id AND m.uid = $1 AND m.mailbox_id = $2', [old.uid, box]);
      const vectors = await t.db.query<{ vector: string | null }>('SELECT vector::text AS vector FROM search_pending ORDER BY message_id');
      assert.equal(vectors.length, 2);
      assert.match(vectors[0]!.vector ?? '', /'alice':\d+/, 'the node built the first vector');
      assert.equal(vectors[1]!.vector, null);
      // Queued: matched by the text itself.
      assert.deepEqual(await find('budget review'), [fresh.uid, old.uid]);
      while ((await indexPendingSearch(t.db, 100)) > 0);
      const both = [fresh.uid, old.uid];
      for (const q of ['budget', 'BUDGET REVIEW', 'budg', 'Alice.Martin@partner.example', 'follow-up', 'follow up']) assert.deepEqual(await find(q), both, q);
      // Only the node splits an address into words; PostgreSQL's parser kept it whole (as before 0007).
      assert.deepEqual(await find('alice martin'), [fresh.uid]);
      assert.deepEqual(await find('fresh'), [fresh.uid]);
      for (const q of ['review budget', 'zebra', 'martin alice']) assert.deepEqual(await find(q), [], q);
    });
  });
}
