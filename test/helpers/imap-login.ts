/**
 * A raw IMAP session logged in the way a careful client does it on the
 * `imap` listener: greeting, STARTTLS (RFC 9051 6.2.1), LOGIN over TLS
 * (passwords only over TLS unless auth.allowPlaintext), optionally SELECT.
 * For tests that need to see and time every untagged line (IDLE updates).
 */
import assert from 'node:assert/strict';
import { RawImap } from './imap-raw.ts';

/** An IMAP quoted string (RFC 9051 4.3): backslash and double quote escaped. */
export function quoted(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

export async function rawLogin(port: number, user: string, password: string, mailbox?: string): Promise<RawImap> {
  const c = await RawImap.open(port);
  const greeting = await c.line();
  assert.match(greeting, /^\* OK /, 'greeting');
  const tls = await c.command('t1', 'STARTTLS');
  assert.match(tls.done, /^t1 OK/, tls.done);
  await c.upgrade();
  const login = await c.command('t2', `LOGIN ${quoted(user)} ${quoted(password)}`);
  assert.match(login.done, /^t2 OK/, login.done);
  if (mailbox !== undefined) {
    const sel = await c.command('t3', `SELECT ${quoted(mailbox)}`);
    assert.match(sel.done, /^t3 OK/, sel.done);
  }
  return c;
}

/**
 * Reads lines until one matches `re`; resolves with the match and the
 * Date.now() at which the line was read. Lines before it are returned too.
 */
export async function awaitLine(c: RawImap, re: RegExp, timeoutMs = 10_000): Promise<{ match: RegExpExecArray; at: number; before: string[] }> {
  const deadline = Date.now() + timeoutMs;
  const before: string[] = [];
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`no line matching ${re} within ${timeoutMs} ms; got: ${JSON.stringify(before)}`);
    const l = await c.line(left);
    const at = Date.now();
    const m = re.exec(l);
    if (m) return { match: m, at, before };
    before.push(l);
  }
}
