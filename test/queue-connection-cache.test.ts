/**
 * The idle-connection cache of the queue workers (queue/connection-cache.ts):
 * what comes back, what is closed, and when. The connections are stand-ins
 * with the two things the cache looks at (usable, quit/close).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConnectionCache } from '../src/queue/connection-cache.ts';
import type { SmtpClient } from '../src/queue/smtp-client.ts';

class Conn {
  usable = true;
  quits = 0;
  closes = 0;
  async quit(): Promise<void> {
    this.quits++;
    this.usable = false;
  }
  close(): void {
    this.closes++;
    this.usable = false;
  }
}
const asClient = (c: Conn): SmtpClient => c as unknown as SmtpClient;

describe('queue connection cache', () => {
  it('gives back an idle connection for the same key only, once', async () => {
    const cache = new ConnectionCache(10_000, 2);
    const a = new Conn();
    cache.give('mx1', asClient(a));
    assert.equal(cache.take('mx2'), undefined);
    assert.equal(cache.take('mx1'), asClient(a));
    assert.equal(cache.take('mx1'), undefined);
    await cache.close();
  });

  it('drops connections that went unusable while idle, and closes what is over the limit', async () => {
    const cache = new ConnectionCache(10_000, 2);
    const [a, b, c] = [new Conn(), new Conn(), new Conn()];
    for (const x of [a, b, c]) cache.give('mx', asClient(x));
    assert.equal(c.quits, 1, 'the third is over maxPerKey: QUIT at once');
    assert.equal(cache.size, 2);
    b.usable = false; // the server hung up
    assert.equal(cache.take('mx'), asClient(a), 'b is skipped and closed');
    assert.equal(b.closes, 1);
    assert.equal(cache.size, 0);
    await cache.close();
  });

  it('QUITs an idle connection after maxIdleMs, and everything on close()', async () => {
    const cache = new ConnectionCache(50, 4);
    const [a, b] = [new Conn(), new Conn()];
    cache.give('mx', asClient(a));
    await new Promise((r) => setTimeout(r, 120));
    assert.equal(a.quits, 1);
    assert.equal(cache.take('mx'), undefined);
    cache.give('mx', asClient(b));
    await cache.close();
    assert.equal(b.quits, 1);
    const late = new Conn();
    cache.give('mx', asClient(late));
    assert.equal(late.quits, 1, 'a closed cache keeps nothing');
  });
});
