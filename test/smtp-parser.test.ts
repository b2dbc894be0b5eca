import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  parseCommand,
  type MailCommand,
  type ParseOptions,
  type RcptCommand,
  type SmtpCommand,
} from '../src/protocols/smtp/parser/index.ts';
import * as replies from '../src/protocols/smtp/replies.ts';
import { formatReply, withText, type SmtpReply } from '../src/protocols/smtp/replies.ts';
import { mulberry32 as prng } from './helpers/prng.ts';

const SMTP: ParseOptions = { smtputf8Allowed: false, lmtp: false };
const SMTP_UTF8: ParseOptions = { smtputf8Allowed: true, lmtp: false };
const LMTP: ParseOptions = { smtputf8Allowed: false, lmtp: true };

function parses(line: string | Buffer, opts: ParseOptions = SMTP): SmtpCommand {
  const r = parseCommand(line, opts);
  if (!r.ok) assert.fail(`expected ${JSON.stringify(String(line))} to parse, got ${r.reply.code} ${String(r.reply.text)}`);
  return r.command;
}

function rejects(line: string | Buffer, code: number, enhanced: string, opts: ParseOptions = SMTP): SmtpReply {
  const r = parseCommand(line, opts);
  if (r.ok) assert.fail(`expected ${JSON.stringify(String(line))} to be rejected, got ${JSON.stringify(r.command)}`);
  assert.deepEqual(
    { code: r.reply.code, enhanced: r.reply.enhanced },
    { code, enhanced },
    `${JSON.stringify(String(line))}: ${String(r.reply.text)}`,
  );
  return r.reply;
}

function mail(line: string | Buffer, opts: ParseOptions = SMTP): MailCommand {
  const c = parses(line, opts);
  if (c.verb !== 'MAIL') assert.fail(`not MAIL: ${c.verb}`);
  return c;
}

function rcpt(line: string | Buffer, opts: ParseOptions = SMTP): RcptCommand {
  const c = parses(line, opts);
  if (c.verb !== 'RCPT') assert.fail(`not RCPT: ${c.verb}`);
  return c;
}

/** The mailbox of MAIL, asserting it is not the null path. */
function sender(line: string | Buffer, opts: ParseOptions = SMTP) {
  const path = mail(line, opts).reversePath;
  assert.ok(path, 'expected a reverse-path');
  return path;
}

function recipient(line: string | Buffer, opts: ParseOptions = SMTP) {
  const path = rcpt(line, opts).forwardPath;
  if (path.kind !== 'mailbox') assert.fail('expected a mailbox');
  return path;
}

/** A syntactically valid domain of exactly `total` characters. */
function domainOfLength(total: number): string {
  const labels: string[] = [];
  let used = 0;
  while (total - used > 63) {
    labels.push('a'.repeat(62));
    used += 63;
  }
  labels.push('b'.repeat(total - used));
  return labels.join('.');
}

describe('command verbs', () => {
  test('RFC 5321 4.1.1.4-4.1.1.10, RFC 3207 4: commands without arguments', () => {
    for (const verb of ['DATA', 'RSET', 'QUIT', 'STARTTLS', 'NOOP'] as const) assert.deepEqual(parses(verb), { verb });
  });

  test('RFC 5321 2.4: verbs are case-insensitive', () => {
    assert.deepEqual(parses('quit'), { verb: 'QUIT' });
    assert.deepEqual(parses('StartTls'), { verb: 'STARTTLS' });
    assert.equal(sender('mail from:<a@example.com>').local, 'a');
    assert.deepEqual(rcpt('rCpT tO:<a@example.com>').forwardPath.kind, 'mailbox');
  });

  test('RFC 5321 4.2.4: an unknown command is 500 5.5.1', () => {
    for (const line of ['XYZZY', 'MAILX FROM:<a@b.com>', ' QUIT', 'QU IT', 'DATA\tx', '\u00c4DATA', 'SEND FROM:<a@b.com>']) {
      rejects(line, 500, '5.5.1');
    }
  });

  test('RFC 5321 4.2.2: an empty line is 500 5.5.2', () => {
    rejects('', 500, '5.5.2');
    rejects('\r\n', 500, '5.5.2');
    rejects('   ', 500, '5.5.2');
  });

  test('RFC 5321 2.3.8: the CRLF (or a bare LF) ending the line and trailing spaces are dropped', () => {
    assert.deepEqual(parses('QUIT\r\n'), { verb: 'QUIT' });
    assert.deepEqual(parses('QUIT\n'), { verb: 'QUIT' });
    assert.deepEqual(parses('RSET   \r\n'), { verb: 'RSET' });
    assert.deepEqual(parses(Buffer.from('NOOP\r\n')), { verb: 'NOOP' });
    rejects('QUIT\r\r\n', 500, '5.5.1');
  });

  test('RFC 5321 4.1.1: DATA, RSET, QUIT and STARTTLS take no arguments (501 5.5.4)', () => {
    for (const line of ['DATA now', 'RSET all', 'QUIT please', 'STARTTLS x']) rejects(line, 501, '5.5.4');
  });

  test('RFC 5321 4.1.1.9: NOOP ignores its string', () => {
    assert.deepEqual(parses('NOOP anything at all <>'), { verb: 'NOOP' });
  });

  test('RFC 5321 4.1.1.8: HELP with and without a topic', () => {
    assert.deepEqual(parses('HELP'), { verb: 'HELP' });
    assert.deepEqual(parses('help MAIL'), { verb: 'HELP', topic: 'MAIL' });
  });

  test('RFC 5321 4.1.1.6/4.1.1.7: VRFY and EXPN keep their string', () => {
    assert.deepEqual(parses('VRFY Smith'), { verb: 'VRFY', argument: 'Smith', smtputf8: false });
    assert.deepEqual(parses('EXPN Example-People'), { verb: 'EXPN', argument: 'Example-People', smtputf8: false });
    assert.deepEqual(parses('VRFY John Smith <js@example.com>'), {
      verb: 'VRFY',
      argument: 'John Smith <js@example.com>',
      smtputf8: false,
    });
    rejects('VRFY', 501, '5.5.4');
  });

  test('RFC 6531 3.7.4.2: VRFY/EXPN with the SMTPUTF8 parameter', () => {
    assert.deepEqual(parses('VRFY j\u00f6rg SMTPUTF8', SMTP_UTF8), { verb: 'VRFY', argument: 'j\u00f6rg', smtputf8: true });
    assert.deepEqual(parses('EXPN list smtputf8', SMTP_UTF8), { verb: 'EXPN', argument: 'list', smtputf8: true });
    // A lone word is the string, not the parameter.
    assert.deepEqual(parses('VRFY SMTPUTF8', SMTP_UTF8), { verb: 'VRFY', argument: 'SMTPUTF8', smtputf8: false });
    assert.deepEqual(parses('VRFY SMTPUTF8 SMTPUTF8', SMTP_UTF8), { verb: 'VRFY', argument: 'SMTPUTF8', smtputf8: true });
    // Without the extension the word is part of the string.
    assert.deepEqual(parses('VRFY joe SMTPUTF8'), { verb: 'VRFY', argument: 'joe SMTPUTF8', smtputf8: false });
  });
});

describe('EHLO, HELO, LHLO', () => {
  test('RFC 5321 4.1.1.1: EHLO with a domain, lower-cased', () => {
    assert.deepEqual(parses('EHLO Mail.Example.COM'), { verb: 'EHLO', host: { kind: 'domain', domain: 'mail.example.com' } });
    assert.deepEqual(parses('HELO localhost'), { verb: 'HELO', host: { kind: 'domain', domain: 'localhost' } });
  });

  test('RFC 5321 4.1.3: EHLO with an address literal (and HELO too, leniently)', () => {
    assert.deepEqual(parses('EHLO [192.0.2.1]'), { verb: 'EHLO', host: { kind: 'ipv4', address: '192.0.2.1' } });
    assert.deepEqual(parses('EHLO [IPv6:2001:DB8::1]'), { verb: 'EHLO', host: { kind: 'ipv6', address: '2001:db8::1' } });
    assert.deepEqual(parses('HELO [192.0.2.1]'), { verb: 'HELO', host: { kind: 'ipv4', address: '192.0.2.1' } });
  });

  test('RFC 5321 4.1.1.1: EHLO needs exactly one valid argument (501 5.5.4)', () => {
    for (const line of [
      'EHLO',
      'EHLO ',
      'EHLO a.example b.example',
      'EHLO example.com.',
      'EHLO .example.com',
      'EHLO -bad.example',
      'EHLO 192.0.2.1', // a bare IP is no Domain (the TLD would be numeric)
      'EHLO [192.0.2.256]',
      'EHLO [192.0.2.1',
      'EHLO exa$mple.com',
      'EHLO b\u00fccher.de', // U-labels only with SMTPUTF8
    ]) {
      rejects(line, 501, '5.5.4');
    }
  });

  test('EHLO accepts "_" in host names (common Windows names; a documented leniency)', () => {
    assert.deepEqual(parses('EHLO DESKTOP_4711'), { verb: 'EHLO', host: { kind: 'domain', domain: 'desktop_4711' } });
    rejects('MAIL FROM:<a@my_host.example>', 501, '5.1.7'); // not in addresses
  });

  test('RFC 6531 3.3: with SMTPUTF8 an EHLO U-label is converted to an A-label', () => {
    assert.deepEqual(parses('EHLO b\u00fccher.de', SMTP_UTF8), { verb: 'EHLO', host: { kind: 'domain', domain: 'xn--bcher-kva.de' } });
  });

  test('RFC 2033 4.1: LHLO in LMTP; HELO and EHLO there are 500 5.5.1', () => {
    assert.deepEqual(parses('LHLO mx.example', LMTP), { verb: 'LHLO', host: { kind: 'domain', domain: 'mx.example' } });
    assert.deepEqual(parses('lhlo [IPv6:::1]', LMTP), { verb: 'LHLO', host: { kind: 'ipv6', address: '::1' } });
    rejects('HELO mx.example', 500, '5.5.1', LMTP);
    rejects('EHLO mx.example', 500, '5.5.1', LMTP);
    rejects('LHLO mx.example', 500, '5.5.1', SMTP);
    assert.deepEqual(parses('MAIL FROM:<>', LMTP), { verb: 'MAIL', reversePath: null, params: {} });
  });
});

describe('MAIL FROM paths', () => {
  test('RFC 5321 4.1.1.2/4.5.5: MAIL FROM:<> is the null reverse-path', () => {
    assert.deepEqual(parses('MAIL FROM:<>'), { verb: 'MAIL', reversePath: null, params: {} });
  });

  test('RFC 5321 4.1.2: a mailbox; domain lower-cased, local part case kept (2.4)', () => {
    assert.deepEqual(sender('MAIL FROM:<John.Doe@Example.COM>'), {
      kind: 'mailbox',
      local: 'John.Doe',
      quoted: false,
      domain: 'example.com',
      host: { kind: 'domain', domain: 'example.com' },
      utf8: false,
    });
    assert.equal(sender("MAIL FROM:<!#$%&'*+/=?^_`{|}~-@example.com>").local, "!#$%&'*+/=?^_`{|}~-");
  });

  test('RFC 5321 4.1.1.2: "MAIL FROM: <a@b>" with a space after the colon is accepted (documented leniency)', () => {
    assert.equal(sender('MAIL FROM: <a@example.com>').local, 'a');
    assert.equal(sender('MAIL FROM:   <a@example.com>   SIZE=10').local, 'a');
    assert.equal(rcpt('RCPT TO: <Postmaster>').forwardPath.kind, 'postmaster');
  });

  test('RFC 5321 4.1.1.2: a missing or misplaced "FROM:" is 501 5.5.4', () => {
    for (const line of ['MAIL', 'MAIL <a@example.com>', 'MAIL FROM <a@example.com>', 'MAIL FROM :<a@example.com>', 'MAIL TO:<a@example.com>']) {
      rejects(line, 501, '5.5.4');
    }
  });

  test('RFC 5321 4.1.2, RFC 3463 X.1.7: a bad reverse-path is 501 5.1.7', () => {
    for (const line of [
      'MAIL FROM:',
      'MAIL FROM:a@example.com', // angle brackets are required
      'MAIL FROM:<a@example.com',
      'MAIL FROM:<joe>',
      'MAIL FROM:<@example.com>',
      'MAIL FROM:<a.@example.com>',
      'MAIL FROM:<.a@example.com>',
      'MAIL FROM:<a..b@example.com>',
      'MAIL FROM:<a b@example.com>',
      'MAIL FROM:<a@-example.com>',
      'MAIL FROM:<a@example..com>',
      'MAIL FROM:<a@example.com.>',
      'MAIL FROM:<a@>',
      'MAIL FROM:<""@example.com>',
      'MAIL FROM:<"unterminated@example.com>',
    ]) {
      rejects(line, 501, '5.1.7');
    }
  });

  test('RFC 5321 4.1.2/C: a source route is accepted and ignored', () => {
    const box = sender('MAIL FROM:<@relay.example,@hop.example:joe@example.com>');
    assert.equal(box.local, 'joe');
    assert.equal(box.domain, 'example.com');
    assert.equal(recipient('RCPT TO:<@relay.example:joe@example.com>').domain, 'example.com');
    rejects('MAIL FROM:<@relay.example joe@example.com>', 501, '5.1.7');
    rejects('MAIL FROM:<@relay.example,joe@example.com>', 501, '5.1.7');
    rejects('MAIL FROM:<@:joe@example.com>', 501, '5.1.7');
  });

  test('RFC 5321 4.1.2: quoted local parts are decoded, escapes removed, flagged when they need quoting', () => {
    const box = recipient('RCPT TO:<"john \\"q\\" doe"@example.com>');
    assert.equal(box.local, 'john "q" doe');
    assert.equal(box.quoted, true);
    const special = recipient('RCPT TO:<"a@b>c\\\\d"@example.com>');
    assert.equal(special.local, 'a@b>c\\d');
    assert.equal(special.quoted, true);
    // "john" is the same mailbox as john (RFC 5321 4.1.2).
    const plain = recipient('RCPT TO:<"John"@example.com>');
    assert.deepEqual([plain.local, plain.quoted], ['John', false]);
    assert.equal(recipient('RCPT TO:<"\\j\\o\\e"@example.com>').local, 'joe');
    rejects('RCPT TO:<"a\tb"@example.com>', 501, '5.5.2'); // controls are refused for the whole line
  });

  test('RFC 5321 4.1.3: address literals as the mailbox domain', () => {
    const v4 = recipient('RCPT TO:<postmaster@[192.0.2.1]>');
    assert.deepEqual([v4.domain, v4.host], ['[192.0.2.1]', { kind: 'ipv4', address: '192.0.2.1' }]);
    const v6 = recipient('RCPT TO:<joe@[IPv6:2001:db8:0:0:0:0:0:1]>');
    assert.deepEqual(v6.host, { kind: 'ipv6', address: '2001:db8:0:0:0:0:0:1' });
    assert.equal(v6.domain, '[IPv6:2001:db8:0:0:0:0:0:1]');
    assert.deepEqual(recipient('RCPT TO:<joe@[ipv6:::FFFF:192.0.2.1]>').host, { kind: 'ipv6', address: '::ffff:192.0.2.1' });
    assert.deepEqual(recipient('RCPT TO:<joe@[IPv6:1:2:3:4:5:6:192.0.2.1]>').host.kind, 'ipv6');
    assert.deepEqual(recipient('RCPT TO:<joe@[IPv6:::]>').host, { kind: 'ipv6', address: '::' });
    for (const literal of [
      '[256.0.0.1]',
      '[1.2.3]',
      '[1.2.3.4.5]',
      '[IPv6:1:2:3:4:5:6:7:8:9]',
      '[IPv6:1:2:3:4:5:6:7]',
      '[IPv6:1::2::3]',
      '[IPv6:1:2:3:4:5:6:7::]', // RFC 5321 4.1.3: at most 6 groups besides "::"
      '[IPv6:12345::1]',
      '[IPv6:1:2:3:4:5::1.2.3.4]', // at most 4 groups besides "::" before IPv4
      '[IPv6:::1.2.3]',
      '[x-tag:whatever]', // General-address-literal: no such tags are registered
      '[]',
    ]) {
      rejects(`RCPT TO:<joe@${literal}>`, 501, '5.1.3');
    }
  });

  test('RFC 5321 4.5.3.1.1: a local part of 64 octets is fine, 65 is 501 5.1.3 (RCPT) / 5.1.7 (MAIL)', () => {
    assert.equal(recipient(`RCPT TO:<${'a'.repeat(64)}@example.com>`).local.length, 64);
    rejects(`RCPT TO:<${'a'.repeat(65)}@example.com>`, 501, '5.1.3');
    rejects(`MAIL FROM:<${'a'.repeat(65)}@example.com>`, 501, '5.1.7');
    // Quoted: the local part as written, quotes included, counts.
    rejects(`RCPT TO:<"${'a'.repeat(63)}"@example.com>`, 501, '5.1.3');
    assert.equal(recipient(`RCPT TO:<"${'a'.repeat(62)}"@example.com>`).local.length, 62);
    // Octets, not characters (RFC 6531): 33 two-octet characters are 66 octets.
    rejects(`RCPT TO:<${'\u00e9'.repeat(33)}@example.com>`, 501, '5.1.3', SMTP_UTF8);
  });

  test('RFC 5321 4.5.3.1.2/4.5.3.1.3: domain at most 255 octets, path at most 256 octets', () => {
    const local = 'a'.repeat(64);
    // <local@domain>: 1 + 64 + 1 + 189 + 1 = 256 octets.
    assert.equal(recipient(`RCPT TO:<${local}@${domainOfLength(189)}>`).domain.length, 189);
    const tooLong = rejects(`RCPT TO:<${local}@${domainOfLength(190)}>`, 501, '5.1.3');
    assert.match(String(tooLong.text), /256/);
    rejects(`MAIL FROM:<${local}@${domainOfLength(190)}>`, 501, '5.1.7');
    const domainTooLong = rejects(`RCPT TO:<a@${domainOfLength(300)}>`, 501, '5.1.3');
    assert.match(String(domainTooLong.text), /255/);
  });
});

describe('RCPT TO paths', () => {
  test('RFC 5321 4.1.1.3: <Postmaster> without a domain, in any case', () => {
    for (const line of ['RCPT TO:<Postmaster>', 'RCPT TO:<postmaster>', 'rcpt to:<POSTMASTER>']) {
      assert.deepEqual(parses(line), { verb: 'RCPT', forwardPath: { kind: 'postmaster' }, params: {} });
    }
    assert.deepEqual(rcpt('RCPT TO:<Postmaster> NOTIFY=NEVER').params, { notify: 'NEVER' });
    const withDomain = recipient('RCPT TO:<Postmaster@Example.com>');
    assert.deepEqual([withDomain.local, withDomain.domain], ['Postmaster', 'example.com']);
  });

  test('RFC 5321 4.1.1.3: the null path is no recipient (501 5.1.3)', () => {
    rejects('RCPT TO:<>', 501, '5.1.3');
    rejects('RCPT TO:', 501, '5.1.3');
    rejects('RCPT <a@example.com>', 501, '5.5.4');
  });
});

describe('MAIL and RCPT parameters', () => {
  test('RFC 1870 4: SIZE=n; non-numeric is 501 5.5.4; beyond 2^53 is 552 5.3.4', () => {
    assert.deepEqual(mail('MAIL FROM:<a@example.com> SIZE=12345').params, { size: 12345 });
    assert.deepEqual(mail('MAIL FROM:<> size=0').params, { size: 0 });
    for (const v of ['SIZE=abc', 'SIZE=', 'SIZE', 'SIZE=-1', 'SIZE=1.5', 'SIZE=123456789012345678901']) {
      rejects(`MAIL FROM:<a@example.com> ${v}`, 501, '5.5.4');
    }
    rejects('MAIL FROM:<a@example.com> SIZE=99999999999999999999', 552, '5.3.4');
  });

  test('RFC 6152 2, RFC 3030 3: BODY=7BIT / 8BITMIME / BINARYMIME; anything else is 501 5.5.4', () => {
    assert.deepEqual(mail('MAIL FROM:<> BODY=7bit').params, { body: '7BIT' });
    assert.deepEqual(mail('MAIL FROM:<> BODY=8BITMIME').params, { body: '8BITMIME' });
    assert.deepEqual(mail('MAIL FROM:<> body=BinaryMime').params, { body: 'BINARYMIME' });
    rejects('MAIL FROM:<> BODY=foo', 501, '5.5.4');
    rejects('MAIL FROM:<> BODY', 501, '5.5.4');
  });

  test('RFC 3461 4.3/4.4: RET and ENVID (xtext decoded)', () => {
    assert.deepEqual(mail('MAIL FROM:<a@example.com> RET=hdrs ENVID=QQ314159+2B1+3D2').params, {
      ret: 'HDRS',
      envid: 'QQ314159+1=2',
    });
    assert.deepEqual(mail('MAIL FROM:<> RET=FULL').params, { ret: 'FULL' });
    rejects('MAIL FROM:<> RET=ALL', 501, '5.5.4');
    for (const envid of ['+ZZ', '+4', 'a+0Db', 'a+7Fb', 'x'.repeat(101)]) rejects(`MAIL FROM:<> ENVID=${envid}`, 501, '5.5.4');
    assert.equal(mail(`MAIL FROM:<> ENVID=${'x'.repeat(100)}`).params.envid, 'x'.repeat(100));
  });

  test('RFC 4954 5: AUTH=<> and AUTH=xtext mailbox', () => {
    assert.deepEqual(mail('MAIL FROM:<a@example.com> AUTH=<>').params, { auth: '<>' });
    assert.deepEqual(mail('MAIL FROM:<a@example.com> AUTH=joe+2Btag@example.com').params, { auth: 'joe+tag@example.com' });
    rejects('MAIL FROM:<a@example.com> AUTH=joe+2', 501, '5.5.4');
  });

  test('RFC 8689 4: REQUIRETLS takes no value', () => {
    assert.deepEqual(mail('MAIL FROM:<a@example.com> REQUIRETLS').params, { requiretls: true });
    rejects('MAIL FROM:<a@example.com> REQUIRETLS=yes', 501, '5.5.4');
  });

  test('RFC 5321 4.1.2/2.4: several parameters, keywords in any case, extra spaces', () => {
    assert.deepEqual(mail('MAIL FROM:<a@example.com>  size=10   Body=8bitmime ret=FULL').params, {
      size: 10,
      body: '8BITMIME',
      ret: 'FULL',
    });
  });

  test('RFC 5321 2.4: keyword and value case-folding is ASCII only', () => {
    rejects('MAIL FROM:<> RET=HDR\u017f', 501, '5.5.4', SMTP_UTF8);
    rejects('RCPT TO:<a@example.com> NOTIFY=\u017fUCCESS', 501, '5.5.4', SMTP_UTF8);
    rejects('RCPT TO:<a@example.com> ORCPT=rfc\u212a;a', 501, '5.5.4', SMTP_UTF8);
    assert.equal(recipient('RCPT TO:<Po\u017ftmaster@example.com>', SMTP_UTF8).local, 'Po\u017ftmaster');
    rejects('RCPT TO:<Po\u017ftmaster>', 501, '5.1.3', SMTP_UTF8);
  });

  test('RFC 5321 4.1.1.11: an unrecognized parameter is 555 5.5.4, also one of the other command', () => {
    rejects('MAIL FROM:<a@example.com> FOO=bar', 555, '5.5.4');
    rejects('MAIL FROM:<a@example.com> X-UNKNOWN', 555, '5.5.4');
    rejects('MAIL FROM:<a@example.com> NOTIFY=NEVER', 555, '5.5.4');
    rejects('RCPT TO:<a@example.com> SIZE=10', 555, '5.5.4');
    rejects('RCPT TO:<a@example.com> BODY=8BITMIME', 555, '5.5.4');
  });

  test('RFC 5321 4.1.2: a repeated parameter is 501 5.5.4', () => {
    rejects('MAIL FROM:<a@example.com> SIZE=1 size=2', 501, '5.5.4');
    rejects('RCPT TO:<a@example.com> NOTIFY=NEVER NOTIFY=NEVER', 501, '5.5.4');
  });

  test('RFC 5321 4.1.2: esmtp-param syntax errors are 501 5.5.4', () => {
    for (const tail of ['SIZE==1', '=1', '-X', 'SI*ZE=1', '<a@b.com>', 'SIZE=1=2']) {
      rejects(`MAIL FROM:<a@example.com> ${tail}`, 501, '5.5.4');
    }
    rejects('MAIL FROM:<a@example.com>SIZE=1', 501, '5.5.4');
  });

  test('RFC 3461 4.1: NOTIFY=NEVER or a list of SUCCESS, FAILURE, DELAY', () => {
    assert.deepEqual(rcpt('RCPT TO:<a@example.com> NOTIFY=NEVER').params, { notify: 'NEVER' });
    assert.deepEqual(rcpt('RCPT TO:<a@example.com> notify=success,Failure,DELAY').params, {
      notify: ['SUCCESS', 'FAILURE', 'DELAY'],
    });
    assert.deepEqual(rcpt('RCPT TO:<a@example.com> NOTIFY=FAILURE,FAILURE').params, { notify: ['FAILURE'] });
    for (const v of ['NEVER,SUCCESS', 'SOMETIMES', '', 'SUCCESS,', ',DELAY']) rejects(`RCPT TO:<a@example.com> NOTIFY=${v}`, 501, '5.5.4');
  });

  test('RFC 3461 4.2: ORCPT=addr-type;xtext, decoded', () => {
    assert.deepEqual(rcpt('RCPT TO:<a@example.com> ORCPT=rfc822;Joe+2BSmith@Example.com').params, {
      orcpt: { addrType: 'rfc822', address: 'Joe+Smith@Example.com' },
    });
    assert.deepEqual(rcpt('RCPT TO:<a@example.com> ORCPT=RFC822;+22a+20b+22@example.com NOTIFY=DELAY').params, {
      orcpt: { addrType: 'rfc822', address: '"a b"@example.com' },
      notify: ['DELAY'],
    });
    for (const v of ['rfc822', ';a@example.com', 'rfc822;', 'rfc822;a+ZZ', 'rfc 822;a', `rfc822;${'a'.repeat(500)}`]) {
      rejects(`RCPT TO:<a@example.com> ORCPT=${v}`, 501, '5.5.4');
    }
  });

  test('RFC 6533 3: ORCPT=utf-8 with \\x{HEX} escapes, raw UTF-8 only with SMTPUTF8', () => {
    assert.deepEqual(rcpt('RCPT TO:<a@example.com> ORCPT=utf-8;j\\x{F6}rg\\x{2B}x@example.com').params.orcpt, {
      addrType: 'utf-8',
      address: 'j\u00f6rg+x@example.com',
    });
    assert.deepEqual(rcpt('RCPT TO:<a@example.com> ORCPT=UTF-8;j\u00f6rg@example.com', SMTP_UTF8).params.orcpt, {
      addrType: 'utf-8',
      address: 'j\u00f6rg@example.com',
    });
    rejects('RCPT TO:<a@example.com> ORCPT=rfc822;j\u00f6rg@example.com', 501, '5.5.4', SMTP_UTF8);
    rejects('RCPT TO:<a@example.com> ORCPT=utf-8;a\\x{D800}b', 501, '5.5.4');
    rejects('RCPT TO:<a@example.com> ORCPT=utf-8;a\\x{110000}b', 501, '5.5.4');
    rejects('RCPT TO:<a@example.com> ORCPT=utf-8;a\\x{41', 501, '5.5.4');
  });
});

describe('SMTPUTF8 and the UTF-8 of the command line', () => {
  test('RFC 6531 3.5: non-ASCII in MAIL/RCPT without SMTPUTF8 is 553 5.6.7', () => {
    rejects('MAIL FROM:<j\u00f6rg@example.com>', 553, '5.6.7');
    rejects('RCPT TO:<joe@b\u00fccher.de>', 553, '5.6.7');
    rejects('VRFY j\u00f6rg', 553, '5.6.7');
    rejects(Buffer.from('MAIL FROM:<j\u00f6rg@example.com>\r\n'), 553, '5.6.7');
  });

  test('RFC 6531 3.4: a non-ASCII reverse-path needs the SMTPUTF8 parameter (553 5.6.7)', () => {
    rejects('MAIL FROM:<j\u00f6rg@example.com>', 553, '5.6.7', SMTP_UTF8);
    const m = mail('MAIL FROM:<J\u00f6rg@B\u00fccher.de> SMTPUTF8 BODY=8BITMIME', SMTP_UTF8);
    assert.deepEqual(m.params, { smtputf8: true, body: '8BITMIME' });
    assert.deepEqual(
      [m.reversePath?.local, m.reversePath?.domain, m.reversePath?.utf8],
      ['J\u00f6rg', 'xn--bcher-kva.de', true],
    );
    assert.equal(mail('MAIL FROM:<joe@example.com> SMTPUTF8', SMTP_UTF8).reversePath?.utf8, false);
  });

  test('RFC 6531 3.3: UTF-8 recipients parse with SMTPUTF8, flagged for the session to check its transaction', () => {
    const box = recipient('RCPT TO:<\u7528\u6237@\u4f8b\u3048.jp>', SMTP_UTF8);
    assert.deepEqual([box.local, box.domain, box.utf8], ['\u7528\u6237', 'xn--r8jz45g.jp', true]);
    assert.equal(recipient(Buffer.from('RCPT TO:<"j\u00f6rg x"@example.com>'), SMTP_UTF8).quoted, true);
  });

  test('RFC 6531 3.4: the SMTPUTF8 parameter is unrecognized (555) where the extension is not in effect', () => {
    rejects('MAIL FROM:<joe@example.com> SMTPUTF8', 555, '5.5.4');
    rejects('MAIL FROM:<joe@example.com> SMTPUTF8=yes', 501, '5.5.4', SMTP_UTF8);
  });

  test('RFC 3629: invalid UTF-8 is 501 5.5.2 (553 first for an address command without SMTPUTF8)', () => {
    const invalid = [
      Buffer.from([0xff, 0xfe]),
      Buffer.from([0xc3]), // truncated sequence
      Buffer.from([0xc0, 0xaf]), // overlong "/"
      Buffer.from([0xed, 0xa0, 0x80]), // encoded surrogate
    ];
    for (const bad of invalid) {
      rejects(Buffer.concat([Buffer.from('MAIL FROM:<a'), bad, Buffer.from('@example.com>')]), 501, '5.5.2', SMTP_UTF8);
      rejects(Buffer.concat([Buffer.from('MAIL FROM:<a'), bad, Buffer.from('@example.com>')]), 553, '5.6.7', SMTP);
      rejects(Buffer.concat([Buffer.from('EHLO a'), bad]), 501, '5.5.2', SMTP);
      rejects(Buffer.concat([Buffer.from('DA'), bad]), 500, '5.5.1', SMTP);
    }
    rejects('RCPT TO:<a\ud800@example.com>', 501, '5.5.2', SMTP_UTF8); // a lone surrogate in a string
  });

  test('RFC 5321 4.1.2: control characters in a command are 501 5.5.2', () => {
    rejects('MAIL FROM:<a\u0000@example.com>', 501, '5.5.2');
    rejects('EHLO a\rb', 501, '5.5.2');
    rejects('NOOP \u007f', 501, '5.5.2');
    rejects('RCPT TO:<a@example.com>\r\nRSET', 501, '5.5.2'); // no command smuggling
  });
});

describe('BDAT', () => {
  test('RFC 3030 2: BDAT chunk-size [LAST]', () => {
    assert.deepEqual(parses('BDAT 1000'), { verb: 'BDAT', size: 1000, last: false });
    assert.deepEqual(parses('BDAT 0 LAST'), { verb: 'BDAT', size: 0, last: true });
    assert.deepEqual(parses('bdat 007 last'), { verb: 'BDAT', size: 7, last: true });
    assert.deepEqual(parses(`BDAT ${Number.MAX_SAFE_INTEGER}`), { verb: 'BDAT', size: Number.MAX_SAFE_INTEGER, last: false });
  });

  test('RFC 3030 2: a bad or unrepresentable chunk size (beyond 2^53) is 501 5.5.4', () => {
    for (const line of ['BDAT', 'BDAT LAST', 'BDAT -1', 'BDAT 1.5', 'BDAT 10LAST', 'BDAT 10 FIRST', 'BDAT 10 LAST x', 'BDAT 0x10']) {
      rejects(line, 501, '5.5.4');
    }
    rejects('BDAT 9007199254740992', 501, '5.5.4');
    rejects('BDAT 99999999999999999999999999 LAST', 501, '5.5.4');
    // RFC 5321 2.4 case-insensitivity is ASCII only: 'ſ' (U+017F) upper-cases to 'S' in Unicode.
    rejects('BDAT 5 LA\u017fT', 501, '5.5.4');
    rejects('BDAT 5 LA\u017fT', 501, '5.5.4', SMTP_UTF8);
  });
});

describe('AUTH', () => {
  test('RFC 4954 4: AUTH mechanism, upper-cased, without initial response', () => {
    assert.deepEqual(parses('AUTH PLAIN'), { verb: 'AUTH', mechanism: 'PLAIN' });
    assert.deepEqual(parses('auth login'), { verb: 'AUTH', mechanism: 'LOGIN' });
    assert.deepEqual(parses('AUTH SCRAM-SHA-256'), { verb: 'AUTH', mechanism: 'SCRAM-SHA-256' });
  });

  test('RFC 4954 4: AUTH PLAIN with an initial response, and "=" for an empty one', () => {
    const ir = Buffer.from('\0joe\0secret').toString('base64');
    assert.deepEqual(parses(`AUTH PLAIN ${ir}`), { verb: 'AUTH', mechanism: 'PLAIN', initialResponse: ir });
    assert.deepEqual(parses('AUTH EXTERNAL ='), { verb: 'AUTH', mechanism: 'EXTERNAL', initialResponse: '' });
  });

  test('RFC 4954 4: an initial response that is no base64 is 501 5.5.2', () => {
    for (const ir of ['not-base64!', 'abc', 'a===', '*', '==', 'AGpvZQ== x']) rejects(`AUTH PLAIN ${ir}`, 501, '5.5.2');
  });

  test('RFC 4422 3.1: a bad mechanism name is 501 5.5.4', () => {
    for (const line of ['AUTH', 'AUTH PL@IN', `AUTH ${'A'.repeat(21)}`, 'AUTH PLAIN,LOGIN']) rejects(line, 501, '5.5.4');
  });
});

describe('fuzz: parseCommand never throws', () => {

  const CORPUS = [
    'EHLO mail.example.com',
    'LHLO [IPv6:2001:db8::1]',
    'MAIL FROM:<@a.example,@b.example:"q\\"x"@[192.0.2.1]> SIZE=100 BODY=8BITMIME RET=HDRS ENVID=a+2Bb AUTH=<> SMTPUTF8',
    'RCPT TO:<Postmaster> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;joe+40example.com',
    'RCPT TO:<j\u00f6rg@b\u00fccher.de> ORCPT=utf-8;j\\x{F6}rg@example.com',
    'BDAT 123 LAST',
    'AUTH PLAIN AGpvZQBzZWNyZXQ=',
    'VRFY joe SMTPUTF8',
  ];
  const SPECIAL = ['<', '>', '@', ':', '"', '\\', '[', ']', '=', '+', ',', ';', ' ', '.', '\u00ff', '\u00c3', '\u0000', '\r', '\n', '\\x{'];

  function randomLine(rand: () => number): Buffer {
    const int = (n: number) => Math.floor(rand() * n);
    const kind = int(3);
    if (kind === 0) {
      // random bytes
      return Buffer.from(Array.from({ length: int(200) }, () => int(256)));
    }
    const base = Buffer.from(CORPUS[int(CORPUS.length)] ?? '');
    const bytes = [...base];
    for (let i = 0, n = 1 + int(6); i < n; i++) {
      const at = int(bytes.length + 1);
      const op = int(4);
      if (op === 0) bytes.splice(at, 1 + int(5));
      else if (op === 1) bytes.splice(at, 0, ...Buffer.from(SPECIAL[int(SPECIAL.length)] ?? ''));
      else if (op === 2) bytes[at] = int(256);
      else bytes.splice(at, 0, ...Buffer.from(String(int(2) ? 10 ** int(30) : 'A'.repeat(int(300)))));
    }
    return Buffer.from(bytes.map((b) => b & 0xff));
  }

  test('seeded random and mutated lines: always a command or a 5xx reply with a matching enhanced code', () => {
    const rand = prng(5321);
    const optionSets = [SMTP, SMTP_UTF8, LMTP, { smtputf8Allowed: true, lmtp: true }];
    let accepted = 0;
    for (let i = 0; i < 5000; i++) {
      const line = randomLine(rand);
      for (const opts of optionSets) {
        for (const input of [line, line.toString('utf8'), line.toString('latin1')]) {
          let r;
          try {
            r = parseCommand(input, opts);
          } catch (err) {
            assert.fail(`threw on ${JSON.stringify(line.toString('latin1'))} (${JSON.stringify(opts)}): ${String(err)}`);
          }
          if (r.ok) {
            accepted++;
            continue;
          }
          assert.ok(r.reply.code >= 500 && r.reply.code <= 555, `code ${r.reply.code}`);
          assert.match(r.reply.enhanced ?? '', /^5\.\d{1,3}\.\d{1,3}$/);
          assert.match(formatReply(r.reply, { enhanced: true }), /^5\d\d 5\.[^\r\n]*\r\n$/);
        }
      }
    }
    assert.ok(accepted > 0, 'the mutations should leave some lines valid');
  });
});

describe('formatReply', () => {
  test('RFC 5321 4.2, RFC 2034 3: a single line with and without the enhanced code', () => {
    assert.equal(formatReply(replies.OK, { enhanced: true }), '250 2.0.0 OK\r\n');
    assert.equal(formatReply(replies.OK, { enhanced: false }), '250 OK\r\n');
    assert.equal(formatReply(withText(replies.NO_SUCH_USER, 'No such user here'), { enhanced: true }), '550 5.1.1 No such user here\r\n');
  });

  test('RFC 2034 3: the greeting and the EHLO reply carry no enhanced code', () => {
    assert.equal(formatReply(withText(replies.SERVICE_READY, 'mx.example ESMTP'), { enhanced: true }), '220 mx.example ESMTP\r\n');
    assert.equal(
      formatReply(withText(replies.HELLO, ['mx.example', 'PIPELINING', 'SIZE 10240000', 'ENHANCEDSTATUSCODES']), { enhanced: true }),
      '250-mx.example\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 ENHANCEDSTATUSCODES\r\n',
    );
  });

  test('RFC 5321 4.2.1, RFC 2034 3: multi-line with the enhanced code on every line', () => {
    assert.equal(
      formatReply(withText(replies.ACCESS_DENIED, ['first', 'second', 'third']), { enhanced: true }),
      '550-5.7.1 first\r\n550-5.7.1 second\r\n550 5.7.1 third\r\n',
    );
    assert.equal(formatReply(withText(replies.ACCESS_DENIED, ['first', 'last']), { enhanced: false }), '550-first\r\n550 last\r\n');
  });

  test('RFC 5321 4.2: CR, LF and other controls in the text cannot break or add lines', () => {
    const out = formatReply(withText(replies.OK, 'a\r\n250 injected\rb\nc\u0000d\u0085e'), { enhanced: true });
    assert.equal(out, '250 2.0.0 a  250 injected b c d e\r\n');
    assert.equal(out.split('\r\n').length, 2);
    assert.equal(formatReply(withText(replies.OK, 'tab\there'), { enhanced: false }), '250 tab\there\r\n');
  });

  test('RFC 4954 4 / RFC 5321 4.2.1: an empty text still sends "334 "', () => {
    assert.equal(formatReply(replies.AUTH_CONTINUE, { enhanced: true }), '334 \r\n');
    assert.equal(formatReply(withText(replies.OK, []), { enhanced: true }), '250 2.0.0 \r\n');
  });

  test('RFC 6531 3.7.4.1: non-ASCII text only when UTF-8 may be sent', () => {
    const r = withText(replies.RECIPIENT_OK, '<j\u00f6rg@example.com> OK');
    assert.equal(formatReply(r, { enhanced: true }), '250 2.1.5 <j?rg@example.com> OK\r\n');
    assert.equal(formatReply(r, { enhanced: true, utf8: true }), '250 2.1.5 <j\u00f6rg@example.com> OK\r\n');
  });

  test('RFC 5321 4.5.3.1.5: a reply line is at most 512 octets including CRLF', () => {
    const out = formatReply(withText(replies.OK, 'x'.repeat(1000)), { enhanced: true });
    assert.equal(out.length, 512);
    assert.ok(out.endsWith('x\r\n'));
    const utf8 = formatReply(withText(replies.OK, '\u00e9'.repeat(600)), { enhanced: true, utf8: true });
    assert.ok(Buffer.byteLength(utf8) <= 512);
    assert.ok(!utf8.includes('\ufffd'));
  });

  test('RFC 3463 2: every reply constant has an enhanced code of its own class', () => {
    let n = 0;
    for (const [name, value] of Object.entries(replies)) {
      if (typeof value !== 'object' || value === null || !('code' in value)) continue;
      const r = value as SmtpReply;
      n++;
      assert.ok(r.code >= 200 && r.code <= 555, name);
      assert.ok(Object.isFrozen(r), `${name} is frozen`);
      if (r.enhanced === undefined) {
        assert.ok([220, 250, 334, 354].includes(r.code), `${name}: only greeting, EHLO, 334 and 354 go without`);
        continue;
      }
      assert.match(r.enhanced, /^[245]\.\d{1,3}\.\d{1,3}$/, name);
      assert.equal(r.enhanced[0], String(r.code)[0], `${name}: ${r.code} ${r.enhanced}`);
    }
    assert.ok(n > 40);
  });
});
