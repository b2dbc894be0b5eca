import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeMailboxName, decodeModifiedUtf7, encodeMailboxName, encodeModifiedUtf7 } from '../src/protocols/imap/parser/index.ts';
import { mulberry32 } from './helpers/prng.ts';

describe('modified UTF-7 (RFC 3501 5.1.3)', () => {
  test('the RFC example and the "&" escape', () => {
    const name = '~peter/mail/\u53f0\u5317/\u65e5\u672c\u8a9e';
    assert.equal(encodeModifiedUtf7(name), '~peter/mail/&U,BTFw-/&ZeVnLIqe-');
    assert.equal(decodeModifiedUtf7('~peter/mail/&U,BTFw-/&ZeVnLIqe-'), name);
    assert.equal(encodeModifiedUtf7('A&B'), 'A&-B');
    assert.equal(decodeModifiedUtf7('A&-B&-'), 'A&B&');
    assert.equal(encodeModifiedUtf7('Entw\u00fcrfe'), 'Entw&APw-rfe');
    assert.equal(decodeModifiedUtf7('Entw&APw-rfe'), 'Entw\u00fcrfe');
    assert.equal(encodeModifiedUtf7('\u{1F4E7} Mail'), '&2D3c5w- Mail');
    assert.equal(decodeModifiedUtf7('&2D3c5w- Mail'), '\u{1F4E7} Mail');
    assert.equal(encodeModifiedUtf7('\u041f\u043e\u0447\u0442\u0430'), '&BB8EPgRHBEIEMA-');
  });

  test('invalid or non-canonical forms are refused', () => {
    for (const bad of [
      '&', // unterminated
      '&APw', // unterminated
      '&AGE-', // "a" must stand for itself
      '&AOR-', // nonzero padding bits
      '&AOQA-', // a character too many
      '&2D0-', // lone high surrogate
      '&3KcA-'.slice(0, 4) + '-', // lone low surrogate
      '&AP!-', // not modified BASE64
      '&AP/-', // "/" is "," in modified BASE64
      'caf\u00e9', // 8-bit must be encoded
      'a\tb', // control characters must be encoded
    ]) {
      assert.equal(decodeModifiedUtf7(bad), null, JSON.stringify(bad));
    }
  });

  test('any Unicode string survives encode then decode', () => {
    const rand = mulberry32(5183);
    const pool = ['a', 'Z', '&', '-', '/', '.', ' ', '~', '\u00e4', '\u00df', '\u0416', '\u53f0', '\u{1F600}', '\u{10FFFF}', '\u0001', '\u007f'];
    for (let i = 0; i < 2000; i++) {
      let s = '';
      for (let n = Math.floor(rand() * 12); n > 0; n--) s += pool[Math.floor(rand() * pool.length)];
      const wire = encodeModifiedUtf7(s);
      assert.match(wire, /^[\x20-\x7e]*$/);
      assert.equal(decodeModifiedUtf7(wire), s, JSON.stringify(s));
    }
  });
});

describe('mailbox names on the wire', () => {
  const decode = (raw: string | Buffer, utf8: boolean) => decodeMailboxName(typeof raw === 'string' ? Buffer.from(raw, 'latin1') : raw, utf8);

  test('RFC 9051 5.1: INBOX in any case is INBOX; other names keep their case', () => {
    assert.deepEqual(decode('inBox', false), { name: 'INBOX' });
    assert.deepEqual(decode('inbox', true), { name: 'INBOX' });
    assert.deepEqual(decode('Inbox/Sub', false), { name: 'Inbox/Sub' });
  });

  test('IMAP4rev1: modified UTF-7; 8-bit refused', () => {
    assert.deepEqual(decode('Entw&APw-rfe', false), { name: 'Entw\u00fcrfe' });
    assert.match((decode(Buffer.from('Entw\u00fcrfe'), false) as { error: string }).error, /8-bit/);
    assert.match((decode('&AGE-', false) as { error: string }).error, /modified UTF-7/);
  });

  test('RFC 6855 3: with UTF-8 enabled names are UTF-8, "&" is ordinary, invalid UTF-8 is refused', () => {
    assert.deepEqual(decode(Buffer.from('Entw\u00fcrfe'), true), { name: 'Entw\u00fcrfe' });
    assert.deepEqual(decode('A&-B', true), { name: 'A&-B' });
    assert.match((decode(Buffer.from([0x41, 0xff]), true) as { error: string }).error, /UTF-8/);
  });

  test('RFC 5198 2: names are NFC and without control characters', () => {
    assert.deepEqual(decode(Buffer.from('Entwu\u0308rfe'), true), { name: 'Entw\u00fcrfe' });
    assert.deepEqual(decode('Entwu&Awg-rfe', false), { name: 'Entw\u00fcrfe' });
    assert.match((decode('a&AAk-b', false) as { error: string }).error, /control/);
    assert.match((decode(Buffer.from('a\u0085b'), true) as { error: string }).error, /control/);
  });

  test('encodeMailboxName: modified UTF-7 for rev1 clients, UTF-8 when enabled', () => {
    assert.equal(encodeMailboxName('Entw\u00fcrfe & Co', false), 'Entw&APw-rfe &- Co');
    assert.equal(encodeMailboxName('Entw\u00fcrfe & Co', true), 'Entw\u00fcrfe & Co');
  });
});
