/**
 * An IMAP server for tests, in process: the core's IMAP services over a test
 * database (local directory, one change feed), listening on an ephemeral
 * loopback port once the fixture is in place.
 */
import { createImapCoreServices } from '../../src/core/imap-services.ts';
import { MailboxChangeFeed } from '../../src/core/mailbox-change-feed.ts';
import { localDirectory } from '../../src/directory/local.ts';
import { createLogger } from '../../src/lib/log.ts';
import { startImapServer, type RunningImapServer } from '../../src/protocols/imap/server.ts';
import type { ImapLimits, ImapServices } from '../../src/protocols/imap/services.ts';
import type { TestDb } from './db.ts';

export class TestImapServer {
  readonly feed: MailboxChangeFeed;
  readonly services: ImapServices;
  private server: RunningImapServer | undefined;

  constructor(t: TestDb, limits: ImapLimits) {
    this.feed = new MailboxChangeFeed(t.db);
    const directory = localDirectory(t.db, { subaddressSeparator: () => '+' });
    this.services = { ...createImapCoreServices(t.db, directory, { node: 'test', feed: this.feed }), limits: () => limits };
  }

  /** Starts listening (plain IMAP, no TLS) and returns the port, once the change feed listens. */
  async listen(hostname: string): Promise<number> {
    this.server = await startImapServer({
      mode: 'imap',
      listen: { host: '127.0.0.1', port: 0 },
      hostname,
      serverInfo: { name: 'TEGU', version: 'test' },
      tls: undefined,
      services: this.services,
      log: createLogger({ level: 'fatal' }),
    });
    await this.feed.ready();
    return this.server.address.port;
  }

  async close(): Promise<void> {
    await this.server?.close();
    await this.feed.close();
  }
}
