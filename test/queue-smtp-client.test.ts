// The outbound SMTP client (src/queue/smtp-client.ts) against real remote
// servers on loopback: smtp-server for well-behaved ones (DSN, SIZE,
// STARTTLS, AUTH), small node:net servers for pipelining checks, garbage,
// hangs and 421s. Plus the reply reader at every split point.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession, type SMTPServerAddress } from 'smtp-server';
import { ensureTlsMaterial } from '../src/config/tls.ts';
import {
  SmtpClient,
  SmtpConnectionError,
  type OutboundEnvelope,
  type SmtpClientOptions,
} from '../src/queue/smtp-client.ts';
import { ReplyReader, MalformedReplyError, encodeXtext, parseEhloKeywords } from '../src/queue/smtp-client-reply.ts';

const HOST = '127.0.0.1';
const MX_NAME = 'mx.example.test';

interface Received {
  sessionId: string;
  secure: boolean;
  user: string | undefined;
  mailFrom: SMTPServerAddress | false;
  rcptTo: SMTPServerAddress[];
  dsn: { ret: string | null; envid: string | null } | undefined;
  data: Buffer;
}

interface RemoteServer {
  port: number;
  received: Received[];
  mailFroms: SMTPServerAddress[];
  rcpts: string[];
  close(): Promise<void>;
}

const servers: { close(): Promise<void> }[] = [];

/** A real SMTP server (smtp-server) on 127.0.0.1, port 0; records what it got. */
async function remote(opts: SMTPServerOptions = {}): Promise<RemoteServer> {
  const received: Received[] = [];
  const mailFroms: SMTPServerAddress[] = [];
  const rcpts: string[] = [];
  const server = new SMTPServer({
    logger: false,
    authOptional: true,
    disabledCommands: opts.key ? [] : ['STARTTLS'],
    ...opts,
    onMailFrom(address, session, cb) {
      mailFroms.push(address);
      if (opts.onMailFrom) opts.onMailFrom(address, session, cb);
      else cb();
    },
    onRcptTo(address, session, cb) {
      rcpts.push(address.address);
      if (opts.onRcptTo) opts.onRcptTo(address, session, cb);
      else cb();
    },
    onData(stream, session: SMTPServerSession, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({
          sessionId: session.id,
          secure: session.secure,
          user: typeof session.user === 'string' ? session.user : undefined,
          mailFrom: session.envelope.mailFrom,
          rcptTo: [...session.envelope.rcptTo],
          dsn: session.envelope.dsn ? { ...session.envelope.dsn } : undefined,
          data: Buffer.concat(chunks),
        });
        if (opts.onData) opts.onData(stream, session, cb);
        else cb(null, 'queued');
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const port = (server.server.address() as AddressInfo).port;
  const handle = { port, received, mailFroms, rcpts, close: () => new Promise<void>((r) => server.close(() => r())) };
  servers.push(handle);
  return handle;
}

/** A hand-written remote: `onConnection` drives the socket. Records every read. */
async function rawServer(onConnection: (socket: Socket, reads: string[]) => void): Promise<{ port: number; reads: string[]; sockets: Socket[] }> {
  const reads: string[] = [];
  const sockets: Socket[] = [];
  const server: Server = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined);
    socket.on('data', (d: Buffer) => reads.push(d.toString('latin1')));
    onConnection(socket, reads);
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const port = (server.address() as AddressInfo).port;
  servers.push({
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  });
  return { port, reads, sockets };
}

/**
 * A scripted remote: greets, then answers each command line with
 * `answer(line)` (undefined = say nothing); after a 354 it collects the
 * message up to CRLF.CRLF and answers '<DOT>'.
 */
function scripted(greeting: string, answer: (line: string) => string | undefined): (socket: Socket) => void {
  return (socket) => {
    let buf = '';
    let inData = false;
    socket.write(greeting);
    socket.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      for (;;) {
        if (inData) {
          const end = buf.indexOf('\r\n.\r\n');
          if (end < 0) return;
          buf = buf.slice(end + 5);
          inData = false;
          const r = answer('<DOT>');
          if (r !== undefined) socket.write(r);
          continue;
        }
        const nl = buf.indexOf('\r\n');
        if (nl < 0) return;
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        const r = answer(line);
        if (r !== undefined) socket.write(r);
        if (r?.startsWith('354')) inData = true;
      }
    });
  };
}

/** Answers like a plain ESMTP server with the given EHLO keywords. */
function basicAnswers(keywords: string[], overrides: (line: string) => string | undefined = () => undefined): (line: string) => string | undefined {
  return (line) => {
    const o = overrides(line);
    if (o !== undefined) return o;
    const verb = line.slice(0, 4).toUpperCase();
    if (verb === 'EHLO') return ['250-fake.example.test', ...keywords.map((k) => `250-${k}`)].join('\r\n').replace(/250-([^\r\n]*)$/, '250 $1') + '\r\n';
    if (verb === 'MAIL' || verb === 'RCPT' || verb === 'RSET') return '250 2.0.0 ok\r\n';
    if (verb === 'DATA') return '354 go on\r\n';
    if (line === '<DOT>') return '250 2.0.0 queued\r\n';
    if (verb === 'QUIT') return '221 2.0.0 bye\r\n';
    return '502 5.5.1 what\r\n';
  };
}

function options(port: number, extra: Partial<SmtpClientOptions> = {}): SmtpClientOptions {
  return { host: HOST, port, heloName: 'out.tegu.test', tls: 'none', ...extra };
}

function envelope(recipients: string[], extra: Partial<OutboundEnvelope> = {}): OutboundEnvelope {
  return { mailFrom: 'sender@tegu.test', recipients: recipients.map((address) => ({ address })), size: 100, ...extra };
}

const MESSAGE = Buffer.from('From: a@tegu.test\r\nTo: b@example.test\r\nSubject: hi\r\n\r\nline one\r\n.a line starting with a dot\r\n..two dots\r\nlast\r\n');

async function expectConnectionError(p: Promise<unknown>, check: (e: SmtpConnectionError) => void): Promise<SmtpConnectionError> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof SmtpConnectionError, `expected SmtpConnectionError, got ${String(caught)}`);
  check(caught);
  return caught;
}

let tlsDir: string;
let tlsKey: string;
let tlsCert: string;

before(async () => {
  tlsDir = await mkdtemp(join(tmpdir(), 'tegu-smtp-client-'));
  const m = await ensureTlsMaterial({ dataDir: tlsDir, hostname: MX_NAME });
  tlsKey = m.key;
  tlsCert = m.cert;
});

after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await rm(tlsDir, { recursive: true, force: true });
});

describe('reply reader (RFC 5321 4.2)', () => {
  const wire = Buffer.from('250-mx.example.test hello\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 ENHANCEDSTATUSCODES\r\n550-5.1.1 no such\r\n550 5.1.1 user here\r\n354 go\r\n');

  it('gives the same replies at every split point', () => {
    for (let at = 0; at <= wire.length; at++) {
      const reader = new ReplyReader();
      const got = [];
      for (const piece of [wire.subarray(0, at), wire.subarray(at)]) {
        reader.push(piece);
        for (let r = reader.next(); r; r = reader.next()) got.push(r);
      }
      assert.equal(got.length, 3, `split at ${at}`);
      assert.deepEqual(got[0]!.lines, ['mx.example.test hello', 'PIPELINING', 'SIZE 1000', 'ENHANCEDSTATUSCODES']);
      assert.deepEqual({ code: got[1]!.code, enhanced: got[1]!.enhanced, text: got[1]!.text }, { code: 550, enhanced: '5.1.1', text: 'no such user here' });
      assert.equal(got[2]!.code, 354);
      assert.equal(got[2]!.enhanced, undefined);
      assert.equal(reader.hasPendingBytes, false);
    }
  });

  it('parses EHLO keywords upper-case, with AUTH= as AUTH', () => {
    const reader = new ReplyReader();
    reader.push(Buffer.from('250-x\r\n250-size 500\r\n250-AUTH=LOGIN\r\n250 8bitmime\r\n'));
    const kw = parseEhloKeywords(reader.next()!);
    assert.deepEqual([...kw], [['SIZE', '500'], ['AUTH', 'LOGIN'], ['8BITMIME', '']]);
  });

  it('takes an enhanced code only of the reply class (RFC 3463 2)', () => {
    const reader = new ReplyReader();
    reader.push(Buffer.from('550 2.0.0 odd\r\n250 2.1.5 ok\r\n'));
    assert.equal(reader.next()!.enhanced, undefined);
    assert.equal(reader.next()!.enhanced, '2.1.5');
  });

  for (const [name, bytes] of [
    ['no code', 'hello\r\n'],
    ['mixed codes', '250-a\r\n251 b\r\n'],
    ['binary junk', '250 \x00\x01\x02\r\n'],
    ['two-digit code', '25 ok\r\n'],
    ['a line over 2,048 octets', `250 ${'x'.repeat(3000)}\r\n`],
  ] as const) {
    it(`rejects ${name}`, () => {
      const reader = new ReplyReader();
      reader.push(Buffer.from(bytes, 'latin1'));
      assert.throws(() => reader.next(), MalformedReplyError);
    });
  }

  it('rejects a reply over maxReplyBytes', () => {
    const reader = new ReplyReader({ maxReplyBytes: 1000 });
    reader.push(Buffer.from('250-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n'.repeat(30)));
    assert.throws(() => reader.next(), /over 1000 octets/);
  });

  it('xtext-encodes "+", "=" and non-printables (RFC 3461 4)', () => {
    assert.equal(encodeXtext('a+b=c d@x'), 'a+2Bb+3Dc+20d@x');
  });
});

describe('SmtpClient against smtp-server', () => {
  it('sends to 3 recipients: one accepted, one 550 5.1.1, one 450; exact bytes, dot-stuffed', async () => {
    const srv = await remote({
      onRcptTo(address, _s, cb) {
        if (address.address.startsWith('nobody')) return cb(Object.assign(new Error('5.1.1 No such user'), { responseCode: 550 }));
        if (address.address.startsWith('busy')) return cb(Object.assign(new Error('4.2.0 Mailbox busy'), { responseCode: 450 }));
        cb();
      },
    });
    const client = await SmtpClient.connect(options(srv.port));
    assert.equal(client.tls, false);
    assert.ok(client.extensions.has('PIPELINING'));
    const out = await client.send(envelope(['ok@example.test', 'nobody@example.test', 'busy@example.test'], { size: MESSAGE.length }), MESSAGE);
    await client.quit();
    assert.deepEqual(
      out.recipients.map((r) => [r.address, r.accepted, r.permanent, r.result.code, r.result.enhanced]),
      [
        ['ok@example.test', true, false, 250, undefined],
        ['nobody@example.test', false, true, 550, '5.1.1'],
        ['busy@example.test', false, false, 450, '4.2.0'],
      ],
    );
    assert.equal(out.recipients[1]!.result.text, 'No such user');
    assert.equal(out.data?.code, 250);
    assert.equal(srv.received.length, 1);
    assert.deepEqual(srv.received[0]!.data, MESSAGE); // smtp-server un-stuffs: what arrives is the original
    assert.deepEqual(srv.received[0]!.rcptTo.map((r) => r.address), ['ok@example.test']);
  });

  it('sends two messages over one connection', async () => {
    const srv = await remote();
    const client = await SmtpClient.connect(options(srv.port));
    const a = await client.send(envelope(['a@example.test']), Buffer.from('Subject: one\r\n\r\nfirst\r\n'));
    const b = await client.send(envelope(['b@example.test', 'c@example.test'], { mailFrom: '' }), Buffer.from('Subject: two\r\n\r\nsecond\r\n'));
    assert.equal(await client.rset(), true); // the check of an idle connection before reuse
    assert.equal(client.usable, true);
    await client.quit();
    assert.ok(a.recipients.every((r) => r.accepted));
    assert.ok(b.recipients.every((r) => r.accepted));
    assert.equal(srv.received.length, 2);
    assert.equal(srv.received[0]!.sessionId, srv.received[1]!.sessionId);
    assert.equal(srv.received[1]!.data.toString(), 'Subject: two\r\n\r\nsecond\r\n');
    assert.equal(srv.received[1]!.mailFrom && srv.received[1]!.mailFrom.address, '');
  });

  it('streams an async iterable message, split anywhere', async () => {
    const srv = await remote();
    const client = await SmtpClient.connect(options(srv.port));
    async function* pieces(): AsyncGenerator<Buffer> {
      for (let i = 0; i < MESSAGE.length; i += 7) yield MESSAGE.subarray(i, i + 7);
    }
    const out = await client.send(envelope(['a@example.test']), pieces());
    await client.quit();
    assert.equal(out.recipients[0]!.accepted, true);
    assert.deepEqual(srv.received[0]!.data, MESSAGE);
  });

  it('gives every recipient the MAIL FROM refusal, and the connection stays usable', async () => {
    const srv = await remote({
      onMailFrom(address, _s, cb) {
        if (address.address === 'bad@tegu.test') return cb(Object.assign(new Error('5.7.1 Sender refused'), { responseCode: 550 }));
        cb();
      },
    });
    const client = await SmtpClient.connect(options(srv.port));
    const out = await client.send(envelope(['a@example.test', 'b@example.test'], { mailFrom: 'bad@tegu.test' }), MESSAGE);
    assert.deepEqual(
      out.recipients.map((r) => [r.result.code, r.result.enhanced, r.permanent, r.accepted]),
      [
        [550, '5.7.1', true, false],
        [550, '5.7.1', true, false],
      ],
    );
    assert.equal(out.data, undefined);
    assert.equal(srv.received.length, 0);
    assert.equal(client.usable, true);
    const again = await client.send(envelope(['a@example.test']), MESSAGE);
    assert.equal(again.recipients[0]!.accepted, true);
    await client.quit();
  });

  it('applies a 554 to the final dot to every accepted recipient', async () => {
    const srv = await remote({
      onData(_stream, _s, cb) {
        cb(Object.assign(new Error('5.7.1 Looks like spam'), { responseCode: 554 }));
      },
    });
    const client = await SmtpClient.connect(options(srv.port));
    const out = await client.send(envelope(['a@example.test', 'b@example.test']), MESSAGE);
    assert.deepEqual(out.data, { code: 554, enhanced: '5.7.1', text: 'Looks like spam' });
    assert.ok(out.recipients.every((r) => !r.accepted && r.permanent && r.result.code === 554));
    // the transaction is over: the next message goes through on the same connection
    const again = await client.send(envelope(['c@example.test']), MESSAGE);
    assert.equal(again.recipients[0]!.result.code, 554);
    await client.quit();
  });

  it('sends RSET, not the message, when no recipient is accepted; works without PIPELINING too', async () => {
    for (const hidePIPELINING of [false, true]) {
      const srv = await remote({
        hidePIPELINING,
        onRcptTo(_a, _s, cb) {
          cb(Object.assign(new Error('5.1.1 No such user'), { responseCode: 550 }));
        },
      });
      const client = await SmtpClient.connect(options(srv.port));
      assert.equal(client.extensions.has('PIPELINING'), !hidePIPELINING);
      const out = await client.send(envelope(['x@example.test', 'y@example.test']), MESSAGE);
      assert.ok(out.recipients.every((r) => r.permanent && r.result.code === 550));
      assert.deepEqual(srv.rcpts, ['x@example.test', 'y@example.test']);
      assert.equal(srv.received.length, 0);
      assert.equal(client.usable, true);
      await client.quit();
    }
  });

  it('sends DSN parameters only when DSN is advertised (RFC 3461)', async () => {
    const env = envelope([], {
      ret: 'HDRS',
      envid: 'id+1=x',
      recipients: [{ address: 'a@example.test', notify: ['SUCCESS', 'FAILURE'], orcpt: 'Orig+1@example.test' }],
    });
    const withDsn = await remote({ hideDSN: false });
    const c1 = await SmtpClient.connect(options(withDsn.port));
    assert.ok(c1.extensions.has('DSN'));
    await c1.send(env, MESSAGE);
    await c1.quit();
    const got = withDsn.received[0]!;
    assert.deepEqual(got.dsn, { ret: 'HDRS', envid: 'id+1=x' }); // smtp-server decodes ENVID's xtext
    assert.deepEqual(got.rcptTo[0]!.dsn, { notify: ['SUCCESS', 'FAILURE'], orcpt: 'rfc822;Orig+1@example.test' }); // decoded too

    const without = await remote();
    const c2 = await SmtpClient.connect(options(without.port));
    assert.equal(c2.extensions.has('DSN'), false);
    await c2.send(env, MESSAGE);
    await c2.quit();
    const args = without.mailFroms[0]!.args;
    assert.ok(args === false || (!('RET' in args) && !('ENVID' in args)));
    const rargs = without.received[0]!.rcptTo[0]!.args;
    assert.ok(rargs === false || (!('NOTIFY' in rargs) && !('ORCPT' in rargs)));
  });

  it('sends SIZE= and BODY=8BITMIME when advertised', async () => {
    const srv = await remote({ size: 10_000 });
    const client = await SmtpClient.connect(options(srv.port));
    await client.send(envelope(['a@example.test'], { size: MESSAGE.length, eightBitMime: true }), MESSAGE);
    await client.quit();
    assert.deepEqual(srv.mailFroms[0]!.args, { SIZE: String(MESSAGE.length), BODY: '8BITMIME' });
  });

  it('fails every recipient with 5.3.4 without sending when the message exceeds SIZE (RFC 1870)', async () => {
    const srv = await remote({ size: 1000 });
    const client = await SmtpClient.connect(options(srv.port));
    assert.equal(client.extensions.get('SIZE'), '1000');
    const out = await client.send(envelope(['a@example.test', 'b@example.test'], { size: 5000 }), MESSAGE);
    assert.ok(out.recipients.every((r) => r.permanent && !r.accepted && r.result.code === 552 && r.result.enhanced === '5.3.4' && r.result.local));
    assert.equal(srv.mailFroms.length, 0);
    assert.equal(client.usable, true);
    await client.quit();
  });

  it('fails with 5.6.7 without sending when SMTPUTF8 is needed but not offered (RFC 6531)', async () => {
    const srv = await remote({ hideSMTPUTF8: true });
    const client = await SmtpClient.connect(options(srv.port));
    const flagged = await client.send(envelope(['a@example.test'], { smtputf8: true }), MESSAGE);
    const utf8Address = await client.send(envelope(['jörg@example.test']), MESSAGE);
    for (const out of [flagged, utf8Address]) {
      assert.equal(out.recipients[0]!.result.enhanced, '5.6.7');
      assert.equal(out.recipients[0]!.permanent, true);
    }
    assert.equal(srv.mailFroms.length, 0);
    await client.quit();

    const capable = await remote();
    const c2 = await SmtpClient.connect(options(capable.port));
    const ok = await c2.send(envelope(['jörg@example.test'], { smtputf8: true }), MESSAGE);
    await c2.quit();
    assert.equal(ok.recipients[0]!.accepted, true);
    assert.deepEqual(capable.mailFroms[0]!.args, { SMTPUTF8: true });
  });
});

describe('STARTTLS (RFC 3207) and AUTH (RFC 4954)', () => {
  it('takes opportunistic STARTTLS when offered, with any certificate (RFC 7435)', async () => {
    const srv = await remote({ key: tlsKey, cert: tlsCert });
    const client = await SmtpClient.connect(options(srv.port, { tls: 'opportunistic', serverName: 'other.example.test' }));
    assert.equal(client.tls, true);
    assert.equal(client.extensions.has('STARTTLS'), false); // the EHLO after TLS
    await client.send(envelope(['a@example.test']), MESSAGE);
    await client.quit();
    assert.equal(srv.received[0]!.secure, true);
  });

  it('stays plain when STARTTLS is not offered (opportunistic)', async () => {
    const srv = await remote();
    const client = await SmtpClient.connect(options(srv.port, { tls: 'opportunistic' }));
    assert.equal(client.tls, false);
    await client.send(envelope(['a@example.test']), MESSAGE);
    await client.quit();
    assert.equal(srv.received[0]!.secure, false);
  });

  it('fails temporarily when TLS is required and STARTTLS is not offered', async () => {
    const srv = await remote();
    await expectConnectionError(SmtpClient.connect(options(srv.port, { tls: 'required' })), (e) => {
      assert.equal(e.stage, 'starttls');
      assert.equal(e.temporary, true);
      assert.match(e.message, /TLS required/);
    });
  });

  it('verifies the certificate against serverName when required', async () => {
    const srv = await remote({ key: tlsKey, cert: tlsCert });
    const good = await SmtpClient.connect(options(srv.port, { tls: 'required', serverName: MX_NAME, ca: tlsCert }));
    assert.equal(good.tls, true);
    await good.quit();
    await expectConnectionError(SmtpClient.connect(options(srv.port, { tls: 'required', serverName: 'wrong.example.test', ca: tlsCert })), (e) => {
      assert.equal(e.stage, 'starttls');
      assert.equal(e.temporary, true);
    });
    await expectConnectionError(SmtpClient.connect(options(srv.port, { tls: 'required', serverName: MX_NAME })), (e) => assert.equal(e.stage, 'starttls'));
  });

  it('fails (does not continue in plain text) when an opportunistic handshake breaks', async () => {
    const { port } = await rawServer(
      scripted('220 fake ESMTP\r\n', (line) => {
        if (line.startsWith('EHLO')) return '250-fake\r\n250 STARTTLS\r\n';
        if (line === 'STARTTLS') return '220 go ahead\r\nthis is not TLS at all\r\n\r\n';
        return undefined;
      }),
    );
    await expectConnectionError(SmtpClient.connect(options(port, { tls: 'opportunistic', timeouts: { starttls: 2000 } })), (e) => {
      assert.equal(e.stage, 'starttls');
      assert.equal(e.temporary, true);
    });
  });

  it('authenticates with PLAIN to a smarthost over TLS; LOGIN when only that is offered', async () => {
    for (const authMethods of [['PLAIN', 'LOGIN'], ['LOGIN']]) {
      const srv = await remote({
        key: tlsKey,
        cert: tlsCert,
        authOptional: false,
        authMethods,
        onAuth(auth, _s, cb) {
          if (auth.username === 'relay' && auth.password === 's3cret pass') return cb(null, { user: `relay via ${auth.method}` });
          cb(new Error('bad credentials'));
        },
      });
      const client = await SmtpClient.connect(options(srv.port, { tls: 'opportunistic', auth: { user: 'relay', pass: 's3cret pass' } }));
      const out = await client.send(envelope(['a@example.test']), MESSAGE);
      await client.quit();
      assert.equal(out.recipients[0]!.accepted, true);
      assert.equal(srv.received[0]!.user, `relay via ${authMethods[0]}`);
    }
  });

  it('refuses credentials in plain text, and keeps secrets out of errors', async () => {
    const srv = await remote({
      authOptional: false,
      allowInsecureAuth: true,
      onAuth(_auth, _s, cb) {
        cb(Object.assign(new Error('5.7.8 Authentication credentials invalid'), { responseCode: 535 }));
      },
    });
    await expectConnectionError(SmtpClient.connect(options(srv.port, { tls: 'opportunistic', auth: { user: 'relay', pass: 'topsecret' } })), (e) => {
      assert.equal(e.stage, 'auth');
      assert.match(e.message, /without TLS/);
    });
    const e = await expectConnectionError(
      SmtpClient.connect(options(srv.port, { tls: 'opportunistic', auth: { user: 'relay', pass: 'topsecret' }, allowPlaintextAuth: true })),
      (err) => {
        assert.equal(err.stage, 'auth');
        assert.equal(err.temporary, true);
        assert.equal(err.result?.code, 535);
      },
    );
    const token = Buffer.from('\0relay\0topsecret').toString('base64');
    assert.ok(!e.message.includes('topsecret') && !e.message.includes(token));
  });
});

describe('pipelining and broken remotes', () => {
  it('sends MAIL, every RCPT and DATA in one write when PIPELINING is offered (RFC 2920)', async () => {
    const { port, reads } = await rawServer(scripted('220 fake ESMTP\r\n', basicAnswers(['PIPELINING', '8BITMIME'])));
    const client = await SmtpClient.connect(options(port));
    const out = await client.send(envelope(['a@example.test', 'b@example.test']), MESSAGE);
    await client.quit();
    assert.ok(out.recipients.every((r) => r.accepted));
    const group = reads.find((r) => r.startsWith('MAIL FROM:'));
    assert.equal(group, 'MAIL FROM:<sender@tegu.test>\r\nRCPT TO:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n');
    // RFC 5321 4.5.2: leading dots doubled on the wire, then CRLF.CRLF
    assert.ok(reads.join('').includes('\r\nline one\r\n..a line starting with a dot\r\n...two dots\r\nlast\r\n.\r\nQUIT\r\n'));
  });

  it('gives the refusal of DATA to the accepted recipients and resets', async () => {
    const { port, reads } = await rawServer(
      scripted('220 fake\r\n', basicAnswers(['PIPELINING'], (line) => (line === 'DATA' ? '554 5.5.1 no valid recipients\r\n' : undefined))),
    );
    const client = await SmtpClient.connect(options(port));
    const out = await client.send(envelope(['a@example.test']), MESSAGE);
    assert.deepEqual(out.data, { code: 554, enhanced: '5.5.1', text: 'no valid recipients' });
    assert.deepEqual(out.recipients.map((r) => [r.result.code, r.permanent, r.accepted]), [[554, true, false]]);
    await client.quit();
    assert.ok(reads.includes('RSET\r\n'));
  });

  it('never writes an address that would break the command line', async () => {
    const { port, reads } = await rawServer(scripted('220 fake\r\n', basicAnswers(['PIPELINING'])));
    const client = await SmtpClient.connect(options(port));
    const out = await client.send(envelope(['evil@example.test>\r\nRSET', 'a@example.test']), MESSAGE);
    assert.deepEqual(out.recipients.map((r) => [r.result.enhanced, r.accepted]), [['5.1.3', false], ['2.0.0', true]]);
    const bad = await client.send(envelope(['a@example.test'], { mailFrom: 'x\r\n@y' }), MESSAGE);
    assert.equal(bad.recipients[0]!.result.enhanced, '5.1.7');
    await client.quit();
    assert.ok(!reads.join('').includes('evil'));
  });

  it('drops the connection when the message source fails mid-DATA', async () => {
    const { port, sockets } = await rawServer(scripted('220 fake\r\n', basicAnswers(['PIPELINING'])));
    const client = await SmtpClient.connect(options(port));
    async function* broken(): AsyncGenerator<Buffer> {
      yield Buffer.from('Subject: half\r\n\r\n');
      throw new Error('spool read failed');
    }
    const e = await expectConnectionError(client.send(envelope(['a@example.test']), broken()), (err) => {
      assert.equal(err.stage, 'message');
      assert.equal(err.temporary, true);
      assert.match(err.message, /spool read failed/);
    });
    assert.deepEqual(e.outcome?.recipients.map((r) => [r.permanent, r.accepted]), [[false, false]]);
    assert.equal(client.usable, false);
    await new Promise<void>((r) => (sockets[0]!.closed ? r() : sockets[0]!.once('close', () => r())));
  });

  it('takes an unannounced 421 between messages as the end of the connection (RFC 5321 3.8)', async () => {
    const { port } = await rawServer(
      scripted('220 fake\r\n', basicAnswers(['PIPELINING'], (line) => (line === '<DOT>' ? '250 2.0.0 queued\r\n421 4.4.2 idle too long\r\n' : undefined))),
    );
    const client = await SmtpClient.connect(options(port));
    const first = await client.send(envelope(['a@example.test']), MESSAGE);
    assert.equal(first.recipients[0]!.accepted, true);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(client.usable, false);
    assert.equal(await client.rset(), false);
    const e = await expectConnectionError(client.send(envelope(['b@example.test']), MESSAGE), (err) => assert.equal(err.temporary, true));
    assert.equal(e.result?.code, 421);
    assert.equal(e.outcome?.recipients[0]!.result.code, 421);
    await client.quit();
  });

  it('writes DSN parameters xtext-encoded (RFC 3461 4)', async () => {
    const { port, reads } = await rawServer(scripted('220 fake ESMTP\r\n', basicAnswers(['DSN', 'SIZE'])));
    const client = await SmtpClient.connect(options(port));
    await client.send(
      envelope([], { ret: 'FULL', envid: 'q+1 x', recipients: [{ address: 'a@example.test', notify: ['NEVER'], orcpt: 'Orig+1=@example.test' }] }),
      MESSAGE,
    );
    await client.quit();
    assert.ok(reads.includes('MAIL FROM:<sender@tegu.test> SIZE=100 RET=FULL ENVID=q+2B1+20x\r\n'), reads.join('|'));
    assert.ok(reads.includes('RCPT TO:<a@example.test> NOTIFY=NEVER ORCPT=rfc822;Orig+2B1+3D@example.test\r\n'), reads.join('|'));
  });

  it('falls back to HELO when EHLO is refused', async () => {
    const { port, reads } = await rawServer(
      scripted('220 old\r\n', basicAnswers([], (line) => (line.startsWith('EHLO') ? '500 what\r\n' : line.startsWith('HELO') ? '250 old\r\n' : undefined))),
    );
    const client = await SmtpClient.connect(options(port));
    assert.equal(client.extensions.size, 0);
    const out = await client.send(envelope(['a@example.test']), MESSAGE);
    await client.quit();
    assert.equal(out.recipients[0]!.accepted, true);
    assert.ok(reads.some((r) => r === 'HELO out.tegu.test\r\n'));
    assert.ok(reads.some((r) => r === 'MAIL FROM:<sender@tegu.test>\r\n'));
  });

  it('ends the connection on a 421 mid-transaction; refused recipients keep their reply', async () => {
    let rcpt = 0;
    const { port } = await rawServer(
      scripted('220 fake\r\n', basicAnswers([], (line) => (line.startsWith('RCPT') ? (++rcpt === 1 ? '550 5.1.1 no\r\n' : '421 4.3.2 shutting down\r\n') : undefined))),
    );
    const client = await SmtpClient.connect(options(port));
    const e = await expectConnectionError(client.send(envelope(['a@example.test', 'b@example.test', 'c@example.test']), MESSAGE), (err) => {
      assert.equal(err.temporary, true);
      assert.equal(err.result?.code, 421);
    });
    assert.deepEqual(
      e.outcome?.recipients.map((r) => [r.result.code, r.permanent, r.accepted]),
      [
        [550, true, false],
        [421, false, false],
        [421, false, false],
      ],
    );
    assert.equal(client.usable, false);
    await expectConnectionError(client.send(envelope(['a@example.test']), MESSAGE), (err) => assert.equal(err.temporary, true));
    client.close();
  });

  it('fails temporarily on a 421 greeting, and on a 554 greeting with the reply', async () => {
    for (const [greeting, code] of [['421 4.3.2 busy\r\n', 421], ['554 no SMTP here\r\n', 554]] as const) {
      const { port } = await rawServer((s) => s.write(greeting));
      await expectConnectionError(SmtpClient.connect(options(port)), (e) => {
        assert.equal(e.stage, 'greeting');
        assert.equal(e.temporary, true);
        assert.equal(e.result?.code, code);
      });
    }
  });

  it('fails on a refused connection', async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, HOST, r));
    const port = (srv.address() as AddressInfo).port;
    await new Promise<void>((r) => srv.close(() => r()));
    await expectConnectionError(SmtpClient.connect(options(port)), (e) => {
      assert.equal(e.stage, 'connect');
      assert.equal(e.temporary, true);
    });
  });

  for (const [name, greeting] of [
    ['garbage', 'HTTP/1.1 400 Bad Request\r\n\r\n'],
    ['binary junk', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n'],
    ['mixed codes', '220-fake\r\n250 fake\r\n'],
  ]) {
    it(`drops a remote that sends ${name}`, async () => {
      const { port, sockets } = await rawServer((s) => s.write(greeting!, 'latin1'));
      await expectConnectionError(SmtpClient.connect(options(port)), (e) => {
        assert.equal(e.stage, 'greeting');
        assert.equal(e.temporary, true);
        assert.match(e.message, /garbage/);
      });
      await new Promise<void>((r) => (sockets[0]!.closed ? r() : sockets[0]!.once('close', () => r())));
    });
  }

  it('times out on a remote that greets then hangs', async () => {
    const { port } = await rawServer((s) => s.write('220 fake\r\n'));
    const started = Date.now();
    await expectConnectionError(SmtpClient.connect(options(port, { timeouts: { ehlo: 300 } })), (e) => {
      assert.equal(e.stage, 'ehlo');
      assert.equal(e.temporary, true);
    });
    const took = Date.now() - started;
    assert.ok(took >= 250 && took < 2000, `took ${took} ms`);
  });

  it('times out on the final dot, temporarily (RFC 5321 4.5.3.2.6)', async () => {
    const { port } = await rawServer(scripted('220 fake\r\n', basicAnswers(['PIPELINING'], (line) => (line === '<DOT>' ? '' : undefined))));
    const client = await SmtpClient.connect(options(port, { timeouts: { dataTermination: 300 } }));
    const e = await expectConnectionError(client.send(envelope(['a@example.test']), MESSAGE), (err) => {
      assert.equal(err.stage, 'dot');
      assert.equal(err.temporary, true);
    });
    assert.deepEqual(e.outcome?.recipients.map((r) => [r.permanent, r.accepted, r.result.local]), [[false, false, true]]);
  });

  for (const [name, prefix, unit] of [
    ['an endless reply line', '220 ', 'x'.repeat(16 * 1024)],
    ['an endless multi-line reply', '', '220-more text to come, always more text to come\r\n'.repeat(300)],
  ] as const) {
    it(`drops a remote that sends ${name}, with bounded memory`, async () => {
      let sent = 0;
      const { port, sockets } = await rawServer((s) => {
        s.write(prefix);
        const pump = (): void => {
          while (!s.destroyed && sent < 64 * 1024 * 1024) {
            sent += unit.length;
            if (!s.write(unit)) return void s.once('drain', pump);
          }
        };
        pump();
      });
      const started = Date.now();
      await expectConnectionError(SmtpClient.connect(options(port, { maxReplyBytes: 32 * 1024 })), (e) => {
        assert.equal(e.stage, 'greeting');
        assert.match(e.message, /garbage/);
      });
      await new Promise<void>((r) => (sockets[0]!.closed ? r() : sockets[0]!.once('close', () => r())));
      assert.ok(Date.now() - started < 5000);
      assert.ok(sent < 8 * 1024 * 1024, `the client read ${sent} octets before dropping`);
    });
  }

  it('refuses bytes injected after the STARTTLS reply (RFC 3207 5)', async () => {
    const { port } = await rawServer(
      scripted('220 fake\r\n', (line) => {
        if (line.startsWith('EHLO')) return '250-fake\r\n250 STARTTLS\r\n';
        if (line === 'STARTTLS') return '220 go\r\n250 injected\r\n';
        return undefined;
      }),
    );
    const started = Date.now();
    await expectConnectionError(SmtpClient.connect(options(port, { tls: 'opportunistic', timeouts: { starttls: 5000 } })), (e) => assert.equal(e.stage, 'starttls'));
    assert.ok(Date.now() - started < 2000);
  });
});
