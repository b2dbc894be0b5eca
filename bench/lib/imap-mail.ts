/**
 * The IMAP benchmark's mailbox contents: deterministic messages of realistic
 * mixed sizes and shapes, the same bytes for every target of a run.
 *
 * Message j of a mailbox (j = 0, 1, ...) gets a size class from a hash of j:
 *
 * | share | size | shape |
 * |---|---|---|
 * | 45% | 1-4 KB | text/plain |
 * | 30% | 4-16 KB | text/plain |
 * | 15% | 16-64 KB | multipart/alternative (text + HTML) |
 * | 8% | 64-256 KB | multipart/mixed (text + base64 attachment) |
 * | 2% | 256 KB-1 MB | multipart/mixed (text + base64 attachment) |
 *
 * (mean about 39 KB, median about 8 KB), a Subject of two words from
 * SUBJECT_WORDS, a sender from a small set, dates one hour and 43 minutes
 * apart from 2026-10-01 on (the internal date is the Date header), and flags:
 * 75% \Seen, 5% \Flagged.
 */
import { filler, mix32 } from './mail.ts';

/** Words the subjects are made of (a SUBJECT search for one matches roughly a fifth of the mailbox). */
export const SUBJECT_WORDS = ['budget', 'meeting', 'invoice', 'release', 'report', 'schedule', 'customer', 'project', 'review', 'travel'] as const;

const SENDERS = [
  'Alice Martin <alice.martin@partner.example>',
  'Bob Schmidt <bob@supplier.example>',
  'Carla Rossi <c.rossi@customer.example>',
  'Dev Team <dev-team@lists.example>',
  'Billing <billing@vendor.example>',
  'Eve Dubois <eve.dubois@example.org>',
  'Frank Li <frank.li@example.net>',
  'Newsletter <news@letters.example>',
];

const FIRST_DATE = Date.UTC(2026, 9, 1, 8, 0, 0);
const STEP_MS = 103 * 60 * 1000;
const TEXT = filler(1_200_000);
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

export interface CorpusMessage {
  raw: Buffer;
  date: Date;
  seen: boolean;
  flagged: boolean;
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** RFC 5322 date-time, in UTC. */
export function rfc5322Date(d: Date): string {
  return `${DAYS[d.getUTCDay()]}, ${pad2(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} +0000`;
}

/** IMAP date-time (APPEND's internal date): "01-Oct-2026 08:00:00 +0000". */
export function imapDateTime(d: Date): string {
  return `"${pad2(d.getUTCDate())}-${MONTHS[d.getUTCMonth()]}-${d.getUTCFullYear()} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} +0000"`;
}

/** IMAP date (SEARCH SINCE): "1-Oct-2026". */
export function imapDate(d: Date): string {
  return `${d.getUTCDate()}-${MONTHS[d.getUTCMonth()]}-${d.getUTCFullYear()}`;
}

/** The internal date of message j. */
export function messageDate(j: number): Date {
  return new Date(FIRST_DATE + j * STEP_MS);
}

/** `bytes` of plain text (CRLF lines), taken from the shared filler at an offset chosen by `seed`. */
function text(bytes: number, seed: number): string {
  const room = TEXT.length - bytes - 2;
  let start = room > 0 ? mix32(seed) % room : 0;
  const nl = TEXT.indexOf('\r\n', start);
  start = nl < 0 ? 0 : nl + 2;
  let end = TEXT.lastIndexOf('\r\n', start + bytes - 2);
  if (end <= start) end = Math.min(TEXT.length, start + bytes);
  else end += 2;
  return TEXT.toString('latin1', start, end);
}

/** Deterministic pseudo-random bytes as base64 in 76-character lines. */
function base64Lines(bytes: number, seed: number): string {
  const b = Buffer.alloc(bytes);
  let x = mix32(seed) | 1;
  for (let i = 0; i + 4 <= bytes; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b.writeInt32LE(x | 0, i);
  }
  const s = b.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < s.length; i += 76) lines.push(s.slice(i, i + 76));
  return `${lines.join('\r\n')}\r\n`;
}

function sizeOf(j: number): { size: number; shape: 'plain' | 'alternative' | 'mixed' } {
  const h = mix32(j * 2 + 1);
  const r = h % 100;
  const within = (lo: number, hi: number): number => lo + (mix32(h) % (hi - lo));
  if (r < 45) return { size: within(1024, 4096), shape: 'plain' };
  if (r < 75) return { size: within(4096, 16_384), shape: 'plain' };
  if (r < 90) return { size: within(16_384, 65_536), shape: 'alternative' };
  if (r < 98) return { size: within(65_536, 262_144), shape: 'mixed' };
  return { size: within(262_144, 1_048_576), shape: 'mixed' };
}

function headerBlock(j: number, to: string, msgId: string, date: Date, subject: string, contentType: string): string {
  const from = SENDERS[mix32(j * 3 + 7) % SENDERS.length]!;
  return (
    `Return-Path: <${/<([^>]+)>/.exec(from)![1]}>\r\n` +
    `Received: from mail.partner.example (mail.partner.example [192.0.2.${1 + (j % 250)}])\r\n` +
    `\tby mx.example.test with ESMTPS id ${msgId.slice(0, 12)}\r\n` +
    `\tfor <${to}>; ${rfc5322Date(date)}\r\n` +
    `From: ${from}\r\n` +
    `To: <${to}>\r\n` +
    `Subject: ${subject}\r\n` +
    `Date: ${rfc5322Date(date)}\r\n` +
    `Message-ID: <${msgId}@bench.example>\r\n` +
    'MIME-Version: 1.0\r\n' +
    `Content-Type: ${contentType}\r\n` +
    'X-Mailer: bench-imap\r\n'
  );
}

/** Message j of the mailbox of `to`. */
export function corpusMessage(j: number, to: string, runId: string): CorpusMessage {
  const date = messageDate(j);
  const { size, shape } = sizeOf(j);
  const w1 = SUBJECT_WORDS[mix32(j * 5 + 2) % SUBJECT_WORDS.length]!;
  const w2 = SUBJECT_WORDS[mix32(j * 5 + 3) % SUBJECT_WORDS.length]!;
  const subject = `Re: ${w1} ${w2} notes #${j}`;
  const msgId = `${runId}.${j}.${to.replace(/@.*/, '')}`;
  const boundary = `=_bench_${j}_${runId}`;
  let raw: string;
  if (shape === 'plain') {
    const head = headerBlock(j, to, msgId, date, subject, 'text/plain; charset=us-ascii') + '\r\n';
    raw = head + text(Math.max(100, size - head.length), j);
  } else if (shape === 'alternative') {
    const head = headerBlock(j, to, msgId, date, subject, `multipart/alternative; boundary="${boundary}"`) + '\r\n';
    const part = Math.max(200, Math.floor((size - head.length) / 2) - 120);
    const plain = text(part, j);
    const html = `<html><body><p>${text(part - 30, j + 1).replace(/\r\n/g, '</p>\r\n<p>')}</p></body></html>\r\n`;
    raw =
      head +
      `--${boundary}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n${plain}` +
      `--${boundary}\r\nContent-Type: text/html; charset=us-ascii\r\n\r\n${html}` +
      `--${boundary}--\r\n`;
  } else {
    const head = headerBlock(j, to, msgId, date, subject, `multipart/mixed; boundary="${boundary}"`) + '\r\n';
    const plain = text(1500, j);
    const attachment = Math.max(1000, Math.floor(((size - head.length - 1800) * 3) / 4 / 4) * 4);
    raw =
      head +
      `--${boundary}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n${plain}` +
      `--${boundary}\r\nContent-Type: application/pdf; name="report-${j}.pdf"\r\n` +
      `Content-Disposition: attachment; filename="report-${j}.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n` +
      base64Lines(attachment, j) +
      `--${boundary}--\r\n`;
  }
  const f = mix32(j * 7 + 5) % 100;
  return { raw: Buffer.from(raw, 'latin1'), date, seen: f < 75, flagged: f >= 95 };
}

/** A 4 KB plain text message appended by the workload (distinct by `id`). */
export function appendedMessage(id: string, to: string, size = 4096): Buffer {
  const date = new Date(Date.UTC(2026, 10, 30, 12, 0, 0));
  const head =
    'From: Bench Client <client@bench.example>\r\n' +
    `To: <${to}>\r\n` +
    `Subject: draft ${id}\r\n` +
    `Date: ${rfc5322Date(date)}\r\n` +
    `Message-ID: <${id}@bench.example>\r\n` +
    'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n';
  const want = Math.max(4, size - head.length);
  let body = text(want, mix32(id.length * 31 + size));
  const rest = want - body.length;
  if (rest >= 2) body += `${'x'.repeat(rest - 2)}\r\n`;
  else if (rest === 1) body = `${body.slice(0, -2)}x\r\n`;
  return Buffer.from(head + body, 'latin1');
}
