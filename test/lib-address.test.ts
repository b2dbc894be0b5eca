import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isValidLocalPart, normalizeDomain, parseAddress, parseAliasAddress, stripSubaddress } from '../src/lib/address.ts';
import { InvalidInputError } from '../src/lib/errors.ts';

function rejectsDomain(input: string): void {
  assert.throws(() => normalizeDomain(input), InvalidInputError, `expected ${JSON.stringify(input)} to be rejected`);
}

function rejectsAddress(input: string): void {
  assert.throws(() => parseAddress(input), InvalidInputError, `expected ${JSON.stringify(input)} to be rejected`);
}

/** A syntactically valid domain of exactly `total` characters (62-character labels, then a shorter last one). */
function domainOfLength(total: number): string {
  const parts: string[] = [];
  let used = 0;
  while (total - used > 63) {
    parts.push('a'.repeat(62));
    used += 63; // label + dot
  }
  parts.push('b'.repeat(total - used));
  const d = parts.join('.');
  assert.equal(d.length, total);
  return d;
}

describe('normalizeDomain', () => {
  test('lower-cases ASCII domains (RFC 1035 2.3.3: names compare case-insensitively)', () => {
    assert.equal(normalizeDomain('Example.COM'), 'example.com');
    assert.equal(normalizeDomain('MAIL.Example.Org'), 'mail.example.org');
  });

  test('drops one trailing dot of a fully qualified name (RFC 1034 3.1)', () => {
    assert.equal(normalizeDomain('example.com.'), 'example.com');
    rejectsDomain('example.com..');
    rejectsDomain('.');
  });

  test('trims surrounding whitespace of the input', () => {
    assert.equal(normalizeDomain('  example.com\t'), 'example.com');
  });

  test('converts an IDN to its A-label (punycode) form (RFC 5890 2.3.2.1, RFC 3492)', () => {
    assert.equal(normalizeDomain('пример.рф'), 'xn--e1afmkfd.xn--p1ai');
    assert.equal(normalizeDomain('ПРИМЕР.РФ'), 'xn--e1afmkfd.xn--p1ai');
    assert.equal(normalizeDomain('bücher.example'), 'xn--bcher-kva.example');
    // UTS #46 nontransitional processing keeps ß (IDNA2008, RFC 5892)
    assert.equal(normalizeDomain('faß.de'), 'xn--fa-hia.de');
    // ideographic full stop separates labels (RFC 3490 3.1)
    assert.equal(normalizeDomain('пример。рф'), 'xn--e1afmkfd.xn--p1ai');
  });

  test('A-labels pass through unchanged (idempotent)', () => {
    assert.equal(normalizeDomain('xn--e1afmkfd.xn--p1ai'), 'xn--e1afmkfd.xn--p1ai');
    assert.equal(normalizeDomain(normalizeDomain('Bücher.Example')), 'xn--bcher-kva.example');
  });

  test('rejects invalid punycode A-labels', () => {
    rejectsDomain('xn--zz.com');
  });

  test('rejects empty input and empty labels (RFC 1035 2.3.1)', () => {
    rejectsDomain('');
    rejectsDomain('   ');
    rejectsDomain('a..b');
    rejectsDomain('.example.com');
    rejectsDomain('..');
  });

  test('accepts a 63-octet label and rejects a 64-octet one (RFC 1035 2.3.4)', () => {
    assert.equal(normalizeDomain(`${'a'.repeat(63)}.com`), `${'a'.repeat(63)}.com`);
    rejectsDomain(`${'a'.repeat(64)}.com`);
  });

  test('the label limit applies to the A-label, after punycode (RFC 5890 2.3.2.1)', () => {
    // 39 Han characters: a 39-character U-label, but a 103-character A-label
    const ulabel = '東京都渋谷区神宮前一丁目二番三号四階五号室六番地七丁目八番九号十一番地十二号室';
    assert.equal(ulabel.length, 39);
    rejectsDomain(`${ulabel}.jp`);
    assert.match(normalizeDomain(`${ulabel.slice(0, 10)}.jp`), /^xn--[a-z0-9-]+\.jp$/);
  });

  test('accepts 253 characters and rejects 254 (RFC 1035 2.3.4, RFC 2181 11)', () => {
    const d253 = domainOfLength(253);
    assert.equal(normalizeDomain(d253), d253);
    assert.equal(normalizeDomain(`${d253}.`), d253, 'the trailing root dot does not count');
    rejectsDomain(domainOfLength(254));
  });

  test('rejects labels starting or ending with a hyphen (RFC 1123 2.1, RFC 952)', () => {
    rejectsDomain('-example.com');
    rejectsDomain('example-.com');
    rejectsDomain('example.-com');
    rejectsDomain('example.com-');
    assert.equal(normalizeDomain('ex-am-ple.com'), 'ex-am-ple.com');
    assert.equal(normalizeDomain('a1.b2.example'), 'a1.b2.example');
  });

  test('rejects an all-numeric top-level label (RFC 3696 2) and IP literals', () => {
    rejectsDomain('1.2.3.4');
    rejectsDomain('example.123');
    rejectsDomain('foo.09');
    rejectsDomain('0x7f.1');
    rejectsDomain('[192.0.2.1]');
    rejectsDomain('[::1]');
    // digits elsewhere are fine (RFC 1123 2.1)
    assert.equal(normalizeDomain('123.example.com'), '123.example.com');
    assert.equal(normalizeDomain('example.x1'), 'example.x1');
  });

  test('rejects spaces and other whitespace inside the name', () => {
    rejectsDomain('exa mple.com');
    rejectsDomain('example .com');
    rejectsDomain('example.com .');
    rejectsDomain('exa\tmple.com');
    rejectsDomain('exa\nmple.com');
    rejectsDomain('exa\r\nmple.com');
    rejectsDomain('exa\u0000mple.com');
  });

  test('rejects underscores (RFC 952 / RFC 1123 host names: letters, digits, hyphen)', () => {
    rejectsDomain('a_b.com');
    rejectsDomain('_dmarc.example.com');
    rejectsDomain('a\uff3fb.com'); // fullwidth low line maps to '_'
  });

  test('rejects URL syntax instead of cutting it off or decoding it', () => {
    // domainToASCII() is a URL host parser: without a guard 'a/b.com' became 'a'
    // and 'ex%41mple.com' became 'example.com'.
    for (const bad of ['a/b.com', 'example.com/evil', 'a\\b.com', 'a?b.com', 'a#b.com', 'ex%41mple.com',
      'user@example.com', 'example.com:25', 'a:b', 'a\uff0fb.com']) {
      rejectsDomain(bad);
    }
  });

  test('rejects other ASCII punctuation', () => {
    for (const ch of "!\"$&'()*+,;<=>^`{|}~") rejectsDomain(`a${ch}b.com`);
  });

  test('single-label names are accepted', () => {
    assert.equal(normalizeDomain('localhost'), 'localhost');
  });

  test('error messages quote the input', () => {
    assert.throws(() => normalizeDomain('bad_domain'), { name: 'InvalidInputError', message: /"bad_domain"/ });
  });
});

describe('parseAddress', () => {
  test('lower-cases local part and domain', () => {
    assert.deepEqual(parseAddress('John.Doe@Example.COM'), {
      local: 'john.doe',
      domain: 'example.com',
      address: 'john.doe@example.com',
    });
  });

  test('trims surrounding whitespace', () => {
    assert.equal(parseAddress('  user@example.com \r\n').address, 'user@example.com');
  });

  test('normalizes an IDN domain to punycode (RFC 5890)', () => {
    assert.deepEqual(parseAddress('Info@Пример.РФ'), {
      local: 'info',
      domain: 'xn--e1afmkfd.xn--p1ai',
      address: 'info@xn--e1afmkfd.xn--p1ai',
    });
  });

  test('accepts a trailing root dot on the domain', () => {
    assert.equal(parseAddress('user@example.com.').address, 'user@example.com');
  });

  test("splits at the last '@'", () => {
    // the local part then holds '@', which is no atext: refused as a local-part error,
    // i.e. the split was not made at the first '@' (which would leave 'b@example.com' as domain)
    assert.throws(() => parseAddress('a@b@example.com'), { name: 'InvalidInputError', message: /local part/ });
    rejectsAddress('a@b@');
  });

  test("rejects input without '@' or with an empty local part", () => {
    rejectsAddress('user.example.com');
    rejectsAddress('');
    rejectsAddress('@example.com');
    rejectsAddress('  @example.com');
  });

  test('rejects an empty or invalid domain', () => {
    rejectsAddress('user@');
    rejectsAddress('user@-example.com');
    rejectsAddress('user@example..com');
    rejectsAddress('user@exa_mple.com');
    rejectsAddress('user@example.com/x');
  });

  test('accepts a 64-octet local part and rejects 65 (RFC 5321 4.5.3.1.1)', () => {
    assert.equal(parseAddress(`${'a'.repeat(64)}@example.com`).local, 'a'.repeat(64));
    rejectsAddress(`${'a'.repeat(65)}@example.com`);
  });

  test('rejects leading, trailing and double dots in the local part (RFC 5322 3.4.1 dot-atom)', () => {
    rejectsAddress('.user@example.com');
    rejectsAddress('user.@example.com');
    rejectsAddress('us..er@example.com');
    rejectsAddress('.@example.com');
    assert.equal(parseAddress('first.middle.last@example.com').local, 'first.middle.last');
  });

  test('rejects spaces anywhere in the address', () => {
    rejectsAddress('us er@example.com');
    rejectsAddress('user @example.com');
    rejectsAddress('user@ example.com');
    rejectsAddress('user@example .com');
    rejectsAddress('user@\texample.com');
    rejectsAddress('user\t@example.com');
  });

  test('rejects quoted local parts (RFC 5321 4.1.2 quoted-string is not accepted for accounts)', () => {
    rejectsAddress('"john doe"@example.com');
    rejectsAddress('"john"@example.com');
    rejectsAddress('jo"hn@example.com');
  });

  test('rejects specials outside atext (RFC 5322 3.2.3)', () => {
    for (const ch of ['(', ')', '<', '>', '[', ']', ':', ';', '\\', ',', '"', '\u0000', '\u007f']) {
      rejectsAddress(`a${ch}b@example.com`);
    }
  });

  test("accepts atext specials like o'brien+tag (RFC 5322 3.2.3)", () => {
    assert.equal(parseAddress("O'Brien+Tag@example.com").address, "o'brien+tag@example.com");
    const specials = "!#$%&'*+/=?^_`{|}~-";
    assert.equal(parseAddress(`a${specials}z@example.com`).local, `a${specials}z`);
    assert.equal(parseAddress('a.b-c_d@example.com').local, 'a.b-c_d');
  });

  test('accepts UTF-8 local parts (RFC 6531 3.3, RFC 6532 3.2) and lower-cases them', () => {
    assert.equal(parseAddress('Ünïcode@example.com').address, 'ünïcode@example.com');
    assert.equal(parseAddress('Пользователь@Пример.РФ').address, 'пользователь@xn--e1afmkfd.xn--p1ai');
    assert.equal(parseAddress('用户@example.com').local, '用户');
    assert.equal(parseAddress('😀.smile@example.com').local, '😀.smile');
  });

  test('result fields agree with each other', () => {
    const a = parseAddress("O'Brien+Tag@Bücher.Example");
    assert.equal(a.address, `${a.local}@${a.domain}`);
    assert.deepEqual(parseAddress(a.address), a, 'parsing a normalized address is the identity');
  });
});

describe('isValidLocalPart', () => {
  test('length limits 1..64 (RFC 5321 4.5.3.1.1)', () => {
    assert.equal(isValidLocalPart(''), false);
    assert.equal(isValidLocalPart('a'), true);
    assert.equal(isValidLocalPart('a'.repeat(64)), true);
    assert.equal(isValidLocalPart('a'.repeat(65)), false);
  });
});

describe('parseAliasAddress', () => {
  test("'@domain' is a catch-all with an empty local part", () => {
    assert.deepEqual(parseAliasAddress('@Example.COM'), { local: '', domain: 'example.com', address: '@example.com' });
    assert.deepEqual(parseAliasAddress('  @пример.рф. '), {
      local: '',
      domain: 'xn--e1afmkfd.xn--p1ai',
      address: '@xn--e1afmkfd.xn--p1ai',
    });
  });

  test('a catch-all needs a valid domain', () => {
    assert.throws(() => parseAliasAddress('@'), InvalidInputError);
    assert.throws(() => parseAliasAddress('@bad_domain'), InvalidInputError);
    assert.throws(() => parseAliasAddress('@@example.com'), InvalidInputError);
  });

  test('anything else is parsed like parseAddress', () => {
    assert.deepEqual(parseAliasAddress('Sales@Example.com'), parseAddress('sales@example.com'));
    assert.throws(() => parseAliasAddress('no-at-sign'), InvalidInputError);
    assert.throws(() => parseAliasAddress('.x@example.com'), InvalidInputError);
  });
});

describe('stripSubaddress (RFC 5233)', () => {
  const addr = (s: string) => parseAddress(s);

  test("'user+tag@d' -> 'user@d' with '+' (RFC 5233 1)", () => {
    assert.deepEqual(stripSubaddress(addr('User+Tag@Example.com'), '+'), {
      local: 'user',
      domain: 'example.com',
      address: 'user@example.com',
    });
  });

  test('the detail ends at the first separator; an empty detail still strips', () => {
    assert.equal(stripSubaddress(addr('user+a+b@example.com'), '+')?.address, 'user@example.com');
    assert.equal(stripSubaddress(addr('user+@example.com'), '+')?.address, 'user@example.com');
  });

  test('no separator in the local part -> undefined', () => {
    assert.equal(stripSubaddress(addr('user@example.com'), '+'), undefined);
  });

  test("separator '' disables subaddressing", () => {
    assert.equal(stripSubaddress(addr('user+tag@example.com'), ''), undefined);
  });

  test("a leading separator leaves no user part -> undefined", () => {
    assert.equal(stripSubaddress(addr('+tag@example.com'), '+'), undefined);
    assert.equal(stripSubaddress(addr('-tag@example.com'), '-'), undefined);
  });

  test("other separators such as '-' work the same way", () => {
    assert.equal(stripSubaddress(addr('user-tag@example.com'), '-')?.address, 'user@example.com');
    // with '-' configured, '+' is an ordinary character
    assert.equal(stripSubaddress(addr('user+tag@example.com'), '-'), undefined);
    assert.equal(stripSubaddress(addr('first.last--news@example.com'), '--')?.address, 'first.last@example.com');
  });

  test('works on UTF-8 local parts and IDN domains', () => {
    assert.equal(
      stripSubaddress(addr('пользователь+рассылка@пример.рф'), '+')?.address,
      'пользователь@xn--e1afmkfd.xn--p1ai',
    );
  });

  test('a catch-all (empty local part) has nothing to strip', () => {
    assert.equal(stripSubaddress(parseAliasAddress('@example.com'), '+'), undefined);
  });

  test('never returns an invalid local part', () => {
    // 'john.+tag' is a valid dot-atom, but 'john.' is not (RFC 5322 3.4.1)
    assert.equal(stripSubaddress(addr('john.+tag@example.com'), '+'), undefined);
  });

  test('does not modify its argument', () => {
    const a = addr('user+tag@example.com');
    const copy = { ...a };
    stripSubaddress(a, '+');
    assert.deepEqual(a, copy);
  });
});

test('local part limit is 64 octets of UTF-8, not 64 characters (RFC 5321 4.5.3.1.1)', () => {
  assert.ok(isValidLocalPart('я'.repeat(32)));
  assert.equal(isValidLocalPart('я'.repeat(33)), false);
});

test('non-ASCII local parts: letters yes, no-break space and lone surrogates no (RFC 6531)', () => {
  assert.ok(isValidLocalPart('почта'));
  assert.equal(isValidLocalPart('a\u00a0b'), false);
  assert.equal(isValidLocalPart('a\ud800'), false);
});
