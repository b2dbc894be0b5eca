/** Benchmark messages: deterministic plain text, exact sizes, distinct headers. */

const WORDS = (
  'mail server store postgres embedded message mailbox append quota sieve folder inbox archive ' +
  'invoice meeting project report review draft budget quarter schedule customer release notes ' +
  'the a of to and in for on with is be this that from at by as are was will'
).split(' ');

/** Plain text in CRLF lines of at most 72 characters, deterministic, at least `bytes` long. */
export function filler(bytes: number): Buffer {
  let seed = 0x2545f491;
  const rand = (k: number): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % k;
  };
  const lines: string[] = [];
  let total = 0;
  while (total < bytes) {
    let line = '';
    for (;;) {
      const w = WORDS[rand(WORDS.length)]!;
      if (line.length + w.length + 1 > 72) break;
      line += line ? ` ${w}` : w;
    }
    lines.push(line);
    total += line.length + 2;
  }
  return Buffer.from(lines.join('\r\n') + '\r\n');
}

/** A 32-bit integer hash (murmur3 finalizer): recipient choice that is random-looking but the same on every target. */
export function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * The header of a plain-text benchmark message, ending in the empty line:
 * From, To and Subject as given, Message-ID <`id`@bench.example>, a fixed
 * Date, MIME-Version and a US-ASCII text/plain Content-Type (RFC 5322 3.6,
 * RFC 2045).
 */
export function plainHead(from: string, to: string, subject: string, id: string): Buffer {
  return Buffer.from(
    `From: ${from}\r\n` +
      `To: ${to}\r\n` +
      `Subject: ${subject}\r\n` +
      `Message-ID: <${id}@bench.example>\r\n` +
      'Date: Mon, 02 Nov 2026 10:00:00 +0000\r\n' +
      'MIME-Version: 1.0\r\n' +
      'Content-Type: text/plain; charset=us-ascii\r\n' +
      '\r\n',
  );
}

/**
 * Message `i` of the run as SMTP DATA bytes: the message is exactly `size`
 * bytes (unless the header alone is longer), every line ends in CRLF and is
 * shorter than 80 characters, lines starting with "." are dot-stuffed, and
 * the terminating ".\r\n" is appended. Distinct by Message-ID and Subject.
 */
export function smtpMessageMaker(size: number, runId: string): (i: number, from: string, to: string) => Buffer {
  const text = filler(size + 100);
  return (i, from, to) => {
    const head = plainHead(`Bench Sender <${from}>`, `<${to}>`, `smtp benchmark message ${i}`, `${runId}.${i}`);
    const want = Math.max(0, size - head.length);
    // Cut the text at a line end, then pad with one short line to the exact size.
    let end = text.lastIndexOf('\r\n', want - 2);
    end = end < 0 ? 0 : end + 2;
    let body = text.subarray(0, end);
    const rest = want - end;
    if (rest >= 2) body = Buffer.concat([body, Buffer.from(`${'x'.repeat(rest - 2)}\r\n`)]);
    else if (rest === 1) body = Buffer.concat([body.subarray(0, body.length - 2), Buffer.from('x\r\n')]);
    const stuffed = dotStuff(Buffer.concat([head, body]));
    return Buffer.concat([stuffed, Buffer.from('.\r\n')]);
  };
}

/** RFC 5321 4.5.2: a line starting with "." gets another one. Input ends with CRLF. */
export function dotStuff(msg: Buffer): Buffer {
  const s = msg.toString('latin1');
  if (!s.startsWith('.') && !s.includes('\r\n.')) return msg;
  return Buffer.from(s.replace(/^\./, '..').replace(/\r\n\./g, '\r\n..'), 'latin1');
}
