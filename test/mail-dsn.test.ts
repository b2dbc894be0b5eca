import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import PostalMime, { type Attachment, type Email } from 'postal-mime';
import {
  DEFAULT_MAX_ORIGINAL_BYTES,
  MAX_DIAGNOSTIC_OCTETS,
  buildDsn,
  buildDsnMessage,
  type DsnInput,
  type DsnRecipient,
} from '../src/mail/dsn.ts';

const ARRIVAL = new Date('2026-11-29T08:00:00Z');
const NOW = new Date('2026-11-29T09:00:00Z');

const ORIGINAL = Buffer.from(
  [
    'From: Alice <alice@tegu.test>',
    'To: bob@example.org, carol@example.net',
    'Subject: quarterly numbers',
    'Message-ID: <orig-1@tegu.test>',
    'Date: Sun, 29 Nov 2026 07:59:00 +0000',
    '',
    'Hello Bob and Carol,',
    '',
    'the numbers are in.',
    '',
  ].join('\r\n'),
);

const BOB_FAILED: DsnRecipient = {
  address: 'bob@example.org',
  orcpt: 'rfc822;bob@example.org',
  action: 'failed',
  status: '5.1.1',
  remoteMta: 'mx.example.org',
  diagnostic: { code: 550, text: '5.1.1 <bob@example.org>: Recipient address rejected: User unknown' },
  lastAttempt: new Date('2026-11-29T08:59:00Z'),
};

const CAROL_DELAYED: DsnRecipient = {
  address: 'carol@example.net',
  action: 'delayed',
  status: '4.4.1',
  remoteMta: '[192.0.2.25]',
  diagnostic: { code: 421, text: '4.4.1 try again later' },
  lastAttempt: new Date('2026-11-29T08:58:00Z'),
  willRetryUntil: new Date('2026-12-04T08:00:00Z'),
};

function input(over: Partial<DsnInput> = {}): DsnInput {
  return {
    reportingMta: 'mx.tegu.test',
    from: 'MAILER-DAEMON@mx.tegu.test',
    to: 'alice@tegu.test',
    envid: 'QQ314159',
    arrivalDate: ARRIVAL,
    recipients: [BOB_FAILED, CAROL_DELAYED],
    original: ORIGINAL,
    ret: 'FULL',
    now: NOW,
    ...over,
  };
}

// ---------------------------------------------------------------------------
// Reading the result back

/** RFC 5322 2.1.1 and 2.3: CRLF only, no bare CR or LF, no line over 998 octets. */
function assertWireSafe(msg: Buffer): void {
  for (let i = 0; i < msg.length; i++) {
    if (msg[i] === 0x0a) assert.equal(msg[i - 1], 0x0d, `bare LF at ${i}`);
    if (msg[i] === 0x0d) assert.equal(msg[i + 1], 0x0a, `bare CR at ${i}`);
  }
  let start = 0;
  for (let i = msg.indexOf('\r\n'); i >= 0; i = msg.indexOf('\r\n', start)) {
    assert.ok(i - start <= 998, `line of ${i - start} octets at ${start}`);
    start = i + 2;
  }
  assert.ok(msg.length - start <= 998);
  assert.ok(msg.subarray(-2).equals(Buffer.from('\r\n')), 'ends with CRLF');
}

interface RawPart {
  headers: Map<string, string>;
  body: Buffer;
}

/** Header fields of a section (unfolded, names lower case). */
function headerFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.replace(/\r\n[ \t]/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  return fields;
}

/** The top-level header and the parts of the multipart, split by hand (independent of postal-mime). */
function rawParts(msg: Buffer): { headers: Map<string, string>; boundary: string; parts: RawPart[] } {
  const end = msg.indexOf('\r\n\r\n');
  const headers = headerFields(msg.subarray(0, end).toString('utf8'));
  const boundary = /boundary="([^"]+)"/.exec(headers.get('content-type') ?? '')?.[1];
  assert.ok(boundary, 'boundary parameter');
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  const parts: RawPart[] = [];
  let pos = msg.indexOf(delimiter, end);
  while (pos >= 0) {
    const lineEnd = msg.indexOf('\r\n', pos + delimiter.length);
    if (msg.subarray(pos + delimiter.length, lineEnd).toString() === '--') break;
    const next = msg.indexOf(delimiter, lineEnd);
    const part = msg.subarray(lineEnd + 2, next);
    const hEnd = part.indexOf('\r\n\r\n');
    parts.push({ headers: headerFields(part.subarray(0, hEnd).toString('utf8')), body: part.subarray(hEnd + 4) });
    pos = next;
  }
  return { headers, boundary, parts };
}

interface StatusGroups {
  message: Map<string, string>;
  recipients: Map<string, string>[];
}

/** RFC 3464 2.1: groups of fields separated by empty lines; the first is per-message. */
function statusGroups(text: string): StatusGroups {
  const groups = text
    .replace(/\r?\n[ \t]/g, ' ')
    .split(/\r?\n\r?\n/)
    .map((g) => g.trim())
    .filter((g) => g !== '')
    .map((g) => headerFields(g.replace(/\r?\n/g, '\r\n')));
  const [message, ...recipients] = groups;
  assert.ok(message);
  return { message, recipients };
}

function contentOf(a: Attachment | undefined): string {
  assert.ok(a);
  return typeof a.content === 'string' ? a.content : Buffer.from(a.content as ArrayBuffer).toString('utf8');
}

async function parse(msg: Buffer): Promise<Email> {
  return PostalMime.parse(msg);
}

// ---------------------------------------------------------------------------

describe('buildDsn: structure (RFC 6522, RFC 3464)', () => {
  it('multipart/report; report-type=delivery-status with text, delivery-status and the message; RFC 3834 Auto-Submitted', async () => {
    const msg = buildDsn(input());
    assertWireSafe(msg);
    const email = await parse(msg);
    const ct = email.headers.find((h) => h.key === 'content-type')?.value ?? '';
    assert.match(ct, /^multipart\/report;/);
    assert.match(ct, /report-type=delivery-status/);
    assert.equal(email.headers.find((h) => h.key === 'auto-submitted')?.value, 'auto-replied');
    assert.equal(email.headers.find((h) => h.key === 'mime-version')?.value, '1.0');
    assert.equal(email.subject, 'Undelivered Mail Returned to Sender');
    assert.deepEqual(email.to?.map((a) => a.address), ['alice@tegu.test']);
    assert.equal(email.from?.address, 'MAILER-DAEMON@mx.tegu.test');
    assert.match(email.messageId ?? '', /^<[0-9a-f]+@mx\.tegu\.test>$/);
    assert.equal(email.date, NOW.toISOString());

    // Three parts: the explanation (text), the report, the returned message.
    assert.ok(email.text);
    assert.deepEqual(
      email.attachments.map((a) => a.mimeType),
      ['message/delivery-status', 'message/rfc822'],
    );
    const raw = rawParts(msg);
    assert.equal(raw.parts.length, 3);
    assert.deepEqual(
      raw.parts.map((p) => p.headers.get('content-type')),
      ['text/plain; charset=utf-8', 'message/delivery-status', 'message/rfc822'],
    );
    // The explanation names each recipient with the remote reply.
    assert.match(email.text, /<bob@example\.org>: mx\.example\.org said: 550 5\.1\.1/);
    assert.match(email.text, /<carol@example\.net>: \[192\.0\.2\.25\] said: 421 4\.4\.1 try again later/);
    assert.match(email.text, /will keep trying until Fri, 4 Dec 2026/);
  });

  it('RFC 3464 2.2/2.3: per-message fields, then one group per recipient', async () => {
    const email = await parse(buildDsn(input()));
    const { message, recipients } = statusGroups(contentOf(email.attachments[0]));
    assert.equal(message.get('reporting-mta'), 'dns; mx.tegu.test');
    assert.equal(message.get('original-envelope-id'), 'QQ314159');
    assert.equal(message.get('arrival-date'), 'Sun, 29 Nov 2026 08:00:00 +0000');
    assert.equal(recipients.length, 2);
    const [bob, carol] = recipients;
    assert.deepEqual(Object.fromEntries(bob ?? []), {
      'original-recipient': 'rfc822; bob@example.org',
      'final-recipient': 'rfc822; bob@example.org',
      action: 'failed',
      status: '5.1.1',
      'remote-mta': 'dns; mx.example.org',
      'diagnostic-code': 'smtp; 550 5.1.1 <bob@example.org>: Recipient address rejected: User unknown',
      'last-attempt-date': 'Sun, 29 Nov 2026 08:59:00 +0000',
    });
    assert.deepEqual(Object.fromEntries(carol ?? []), {
      'final-recipient': 'rfc822; carol@example.net',
      action: 'delayed',
      status: '4.4.1',
      'remote-mta': 'dns; [192.0.2.25]',
      'diagnostic-code': 'smtp; 421 4.4.1 try again later',
      'last-attempt-date': 'Sun, 29 Nov 2026 08:58:00 +0000',
      'will-retry-until': 'Fri, 4 Dec 2026 08:00:00 +0000',
    });
  });

  it('subjects: delayed only, success (NOTIFY=SUCCESS), and the failure wins when mixed', async () => {
    const delayed = await parse(buildDsn(input({ recipients: [CAROL_DELAYED] })));
    assert.equal(delayed.subject, 'Delayed Mail (still being retried)');
    const delivered = buildDsn(
      input({ recipients: [{ address: 'dave@example.com', action: 'delivered', status: '2.0.0', remoteMta: 'mx.example.com' }], ret: 'HDRS' }),
    );
    const d = await parse(delivered);
    assert.equal(d.subject, 'Successful Mail Delivery Report');
    const { recipients } = statusGroups(contentOf(d.attachments[0]));
    assert.equal(recipients[0]?.get('action'), 'delivered');
    assert.equal(recipients[0]?.get('status'), '2.0.0');
    const mixed = await parse(buildDsn(input({ recipients: [CAROL_DELAYED, { ...BOB_FAILED, action: 'failed' }] })));
    assert.equal(mixed.subject, 'Undelivered Mail Returned to Sender');
  });

  it('a malformed status is replaced by the class of the action (RFC 3464 2.3.4)', async () => {
    const email = await parse(buildDsn(input({ recipients: [{ ...BOB_FAILED, status: '550' }, { ...CAROL_DELAYED, status: 'x\r\ny' }] })));
    const { recipients } = statusGroups(contentOf(email.attachments[0]));
    assert.deepEqual(
      recipients.map((r) => r.get('status')),
      ['5.0.0', '4.0.0'],
    );
  });

  it('messageId as given (brackets added); a bad one throws', () => {
    const raw = rawParts(buildDsn(input({ messageId: 'dsn-1@mx.tegu.test' })));
    assert.equal(raw.headers.get('message-id'), '<dsn-1@mx.tegu.test>');
    assert.throws(() => buildDsn(input({ messageId: 'no at sign' })), /Message-ID/);
  });
});

describe('buildDsn: the returned message (RFC 3461 4.3, RFC 6522)', () => {
  it('RET=FULL: message/rfc822 holding the whole original', async () => {
    const built = buildDsnMessage(input({ ret: 'FULL' }));
    assert.equal(built.returned, 'full');
    const part = rawParts(built.message).parts[2];
    assert.equal(part?.headers.get('content-type'), 'message/rfc822');
    assert.equal(part?.headers.get('content-transfer-encoding'), '7bit');
    assert.equal(part?.body.toString(), ORIGINAL.toString());
    const email = await parse(built.message);
    assert.match(contentOf(email.attachments[1]), /the numbers are in\./);
    assert.match(email.text ?? '', /Your message is attached\./);
  });

  it('RET=HDRS: text/rfc822-headers with the header section only', async () => {
    const built = buildDsnMessage(input({ ret: 'HDRS' }));
    assert.equal(built.returned, 'headers');
    const part = rawParts(built.message).parts[2];
    assert.match(part?.headers.get('content-type') ?? '', /^text\/rfc822-headers/);
    const headers = part?.body.toString() ?? '';
    assert.match(headers, /^From: Alice <alice@tegu\.test>\r\n/);
    assert.match(headers, /Subject: quarterly numbers\r\n/);
    assert.doesNotMatch(headers, /numbers are in/);
    const email = await parse(built.message);
    assert.equal(email.attachments[1]?.mimeType, 'text/rfc822-headers');
    assert.match(email.text ?? '', /The header of your message is attached\./);
  });

  it('RET=FULL over maxOriginalBytes: the header section only, and the text says why', async () => {
    const built = buildDsnMessage(input({ ret: 'FULL', maxOriginalBytes: 100 }));
    assert.equal(built.returned, 'headers');
    const part = rawParts(built.message).parts[2];
    assert.match(part?.headers.get('content-type') ?? '', /^text\/rfc822-headers/);
    assert.ok((part?.body.length ?? 0) <= 100, 'the header section is capped too, at whole lines');
    assert.match(part?.body.toString() ?? '', /^From: Alice <alice@tegu\.test>\r\n/);
    const email = await parse(built.message);
    assert.match(email.text ?? '', /too large to return in full \(\d+ octets, the limit is 100\)/);
    assert.equal(DEFAULT_MAX_ORIGINAL_BYTES, 10 * 1024 * 1024);
  });

  it('the default cap: a message over 10 MB comes back as its header section', () => {
    const big = Buffer.concat([ORIGINAL, Buffer.alloc(DEFAULT_MAX_ORIGINAL_BYTES, 'a\r\n')]);
    const built = buildDsnMessage(input({ original: big }));
    assert.equal(built.returned, 'headers');
    assert.ok(built.message.length < 10_000);
  });

  it('an original with bare LF / bare CR is returned with CRLF; lines over 998 octets fall back to headers', async () => {
    const lf = Buffer.from('From: alice@tegu.test\nSubject: lf\n\nline one\rline two\n');
    const built = buildDsnMessage(input({ original: lf }));
    assertWireSafe(built.message);
    assert.equal(rawParts(built.message).parts[2]?.body.toString(), 'From: alice@tegu.test\r\nSubject: lf\r\n\r\nline one\r\nline two\r\n');

    const long = Buffer.from(`From: alice@tegu.test\r\nSubject: long\r\n\r\n${'x'.repeat(5000)}\r\n`);
    const l = buildDsnMessage(input({ original: long }));
    assertWireSafe(l.message);
    assert.equal(l.returned, 'headers');
    assert.match((await parse(l.message)).text ?? '', /lines longer than 998 octets/);

    // A header field over 998 octets cannot go as 7bit either: base64.
    const longHeader = Buffer.from(`From: alice@tegu.test\r\nX-Long: ${'y'.repeat(3000)}\r\n\r\nbody\r\n`);
    const h = buildDsnMessage(input({ original: longHeader, ret: 'HDRS' }));
    assertWireSafe(h.message);
    const part = rawParts(h.message).parts[2];
    assert.equal(part?.headers.get('content-transfer-encoding'), 'base64');
    assert.match(Buffer.from(part?.body.toString() ?? '', 'base64').toString(), /^From: alice@tegu\.test\r\nX-Long: y{3000}\r\n$/);
  });

  it('8-bit originals: message/rfc822 8bit for an 8-bit body, message/global (RFC 6533) for a UTF-8 header', () => {
    const body8 = Buffer.from('From: alice@tegu.test\r\nSubject: plain\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nGrüße\r\n');
    const a = buildDsnMessage(input({ original: body8 }));
    const pa = rawParts(a.message).parts[2];
    assert.equal(pa?.headers.get('content-type'), 'message/rfc822');
    assert.equal(pa?.headers.get('content-transfer-encoding'), '8bit');
    assert.deepEqual([a.eightBit, a.smtpUtf8], [true, false]);

    const header8 = Buffer.from('From: jösé@tegu.test\r\nSubject: Grüße\r\n\r\nhi\r\n');
    const b = buildDsnMessage(input({ original: header8 }));
    assert.equal(rawParts(b.message).parts[2]?.headers.get('content-type'), 'message/global');
    assert.deepEqual([b.eightBit, b.smtpUtf8], [true, true]);
    const c = buildDsnMessage(input({ original: header8, ret: 'HDRS' }));
    assert.equal(rawParts(c.message).parts[2]?.headers.get('content-type'), 'message/global-headers');

    const ascii = buildDsnMessage(input());
    assert.deepEqual([ascii.eightBit, ascii.smtpUtf8], [false, false]);
  });

  it('the boundary does not occur in the original; an empty original gives two parts', async () => {
    const tricky = Buffer.from(
      `From: alice@tegu.test\r\nSubject: x\r\n\r\n${Array.from({ length: 50 }, (_, i) => `--=_dsn_${i}\r\n=_dsn_`).join('')}\r\n`,
    );
    const built = buildDsnMessage(input({ original: tricky }));
    const { boundary, parts } = rawParts(built.message);
    assert.ok(!tricky.includes(boundary));
    assert.equal(parts.length, 3);
    assert.equal(parts[2]?.body.toString(), tricky.toString());

    const empty = buildDsnMessage(input({ original: Buffer.alloc(0) }));
    assert.equal(empty.returned, 'none');
    assert.equal(rawParts(empty.message).parts.length, 2);
    assert.equal((await parse(empty.message)).attachments.length, 1);
  });
});

describe('buildDsn: untrusted text and addresses', () => {
  it('throws on an empty or null To (RFC 5321 4.5.5: nothing is sent to <>), and on bad From / MTA / recipients', () => {
    for (const to of ['', '   ', '<>']) assert.throws(() => buildDsn(input({ to })), /empty/);
    assert.throws(() => buildDsn(input({ to: 'alice@tegu.test\r\nBcc: x@evil.test' })), /not a mail address/);
    assert.throws(() => buildDsn(input({ from: '' })), /empty/);
    assert.throws(() => buildDsn(input({ reportingMta: '' })), /Reporting-MTA/);
    assert.throws(() => buildDsn(input({ recipients: [] })), /recipients/);
    assert.throws(() => buildDsn(input({ arrivalDate: new Date(NaN) })), /Arrival-Date/);
  });

  it('a diagnostic with injected CRLF, NUL, ESC and bidi controls is one folded field; it is capped', async () => {
    const evil = '5.7.1 rejected\r\nX-Injected: yes\r\n\r\nFake body\u0000\u001b[31m\u202Eevil\nBcc: x@evil.test';
    const msg = buildDsn(input({ recipients: [{ ...BOB_FAILED, diagnostic: { code: 554, text: evil } }] }));
    assertWireSafe(msg);
    const email = await parse(msg);
    assert.ok(!email.headers.some((h) => h.key === 'x-injected' || h.key === 'bcc'));
    const status = contentOf(email.attachments[0]);
    assert.doesNotMatch(status, /^(X-Injected|Bcc|Fake body)/m);
    assert.doesNotMatch(status, /[\u0000-\u0008\u000b-\u001f\u202e]/);
    const { recipients } = statusGroups(status);
    assert.equal(recipients.length, 1, 'no extra group from the injected empty line');
    assert.equal(recipients[0]?.get('diagnostic-code'), 'smtp; 554 5.7.1 rejected X-Injected: yes Fake body [31m evil Bcc: x@evil.test');
    assert.doesNotMatch(email.text ?? '', /^X-Injected/m);

    const huge = buildDsn(input({ recipients: [{ ...BOB_FAILED, diagnostic: { code: 550, text: 'z'.repeat(100_000) } }] }));
    assertWireSafe(huge);
    const diag = statusGroups(contentOf((await parse(huge)).attachments[0])).recipients[0]?.get('diagnostic-code') ?? '';
    assert.ok(diag.length <= MAX_DIAGNOSTIC_OCTETS + 'smtp; 550 '.length, `${diag.length}`);
    assert.match(diag, /\.\.\.$/);
  });

  it('a non-ASCII diagnostic becomes "?" in the ASCII report', async () => {
    const msg = buildDsn(input({ recipients: [{ ...BOB_FAILED, diagnostic: { code: 550, text: 'Benutzer unbekannt – ünknown' } }] }));
    const { recipients } = statusGroups(contentOf((await parse(msg)).attachments[0]));
    assert.equal(recipients[0]?.get('diagnostic-code'), 'smtp; 550 Benutzer unbekannt ? ?nknown');
    assert.ok(!/[\x80-\xff]/.test(msg.toString('latin1')), '7-bit clean');
  });

  it('RFC 6533: a non-ASCII recipient gives message/global-delivery-status with utf-8 address types, 8bit', async () => {
    const built = buildDsnMessage(
      input({
        recipients: [
          { address: 'δοκιμή@παράδειγμα.δοκιμή', orcpt: 'utf-8;δοκιμή@παράδειγμα.δοκιμή', action: 'failed', status: '5.1.1', diagnostic: { code: 550, text: 'χρήστης άγνωστος' } },
          { ...BOB_FAILED },
        ],
      }),
    );
    assertWireSafe(built.message);
    assert.deepEqual([built.eightBit, built.smtpUtf8], [true, true]);
    const raw = rawParts(built.message);
    assert.equal(raw.parts[1]?.headers.get('content-type'), 'message/global-delivery-status');
    assert.equal(raw.parts[1]?.headers.get('content-transfer-encoding'), '8bit');
    // The explanation is not ASCII either: base64, decoded by the parser.
    assert.equal(raw.parts[0]?.headers.get('content-transfer-encoding'), 'base64');
    const email = await parse(built.message);
    assert.match(email.text ?? '', /<δοκιμή@παράδειγμα\.δοκιμή>: 550 χρήστης άγνωστος/);
    const { recipients } = statusGroups(contentOf(email.attachments[0]));
    assert.equal(recipients[0]?.get('original-recipient'), 'utf-8; δοκιμή@παράδειγμα.δοκιμή');
    assert.equal(recipients[0]?.get('final-recipient'), 'utf-8; δοκιμή@παράδειγμα.δοκιμή');
    assert.equal(recipients[0]?.get('diagnostic-code'), 'smtp; 550 χρήστης άγνωστος');
    // ASCII addresses keep the rfc822 type in the global report.
    assert.equal(recipients[1]?.get('final-recipient'), 'rfc822; bob@example.org');
  });

  it('a non-ASCII sender gets a UTF-8 To (RFC 6532), flagged smtpUtf8', async () => {
    const built = buildDsnMessage(input({ to: 'jösé@tegu.test' }));
    assertWireSafe(built.message);
    assert.equal(built.smtpUtf8, true);
    assert.equal(rawParts(built.message).headers.get('to'), '<jösé@tegu.test>');
  });

  it('recipient fields with controls are cleaned, a non-ASCII Remote-MTA becomes an A-label', async () => {
    const msg = buildDsn(
      input({ recipients: [{ ...BOB_FAILED, address: '<bob@example.org\r\nX: y>', orcpt: 'bob@example.org', remoteMta: 'mx.bücher.example' }] }),
    );
    assertWireSafe(msg);
    const { recipients } = statusGroups(contentOf((await parse(msg)).attachments[0]));
    assert.equal(recipients[0]?.get('final-recipient'), 'rfc822; bob@example.org X: y');
    assert.equal(recipients[0]?.get('original-recipient'), 'rfc822; bob@example.org');
    assert.equal(recipients[0]?.get('remote-mta'), 'dns; mx.xn--bcher-kva.example');
  });
});
