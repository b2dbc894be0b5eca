/** The IMAP listeners of `tegu serve`: imap (STARTTLS, usually :143) and imaps (implicit TLS, usually :993). */
import { parseListenAddress, type BootstrapConfig } from '../../config/bootstrap.ts';
import type { TlsMaterial } from '../../config/tls.ts';
import { createImapCoreServices } from '../../core/imap-services.ts';
import { MessageCache } from '../../core/message-cache.ts';
import { MailboxChangeFeed } from '../../core/mailbox-change-feed.ts';
import type { SettingsSnapshot } from '../../core/settings.ts';
import { localDirectory } from '../../directory/local.ts';
import { IpMinuteCounter } from '../../lib/ip-limits.ts';
import type { Logger } from '../../lib/log.ts';
import { startImapServer, type RunningImapServer } from '../../protocols/imap/server.ts';
import type { ImapServices } from '../../protocols/imap/services.ts';
import type { ListenerMode } from '../../protocols/imap/state.ts';
import type { Database } from '../../store/db.ts';
import { VERSION } from '../version.ts';
import { hostPort, type StartedListener } from './serve-banner.ts';

const MODES: { kind: ListenerMode; note: string }[] = [
  { kind: 'imap', note: 'STARTTLS' },
  { kind: 'imaps', note: 'implicit TLS' },
];

export async function startImapListeners(opts: {
  db: Database;
  config: BootstrapConfig;
  tls: TlsMaterial;
  settings: () => SettingsSnapshot;
  log: Logger;
  onStarted: (listener: StartedListener, server: RunningImapServer) => void;
  /** Things to stop at shutdown besides the listeners (the change feed). */
  onCleanup: (what: string, run: () => Promise<void>) => void;
}): Promise<void> {
  if (MODES.every(({ kind }) => opts.config.listen[kind].length === 0)) return;
  const { settings } = opts;
  const directory = localDirectory(opts.db, { subaddressSeparator: () => settings().values['addressing.subaddressSeparator'] });
  // One LISTEN for mailbox change hints serves every session of this node.
  const feed = new MailboxChangeFeed(opts.db, (err) => opts.log.warn({ err }, 'mailbox change feed'));
  opts.onCleanup('mailbox change feed', () => feed.close());
  const services: ImapServices = {
    ...createImapCoreServices(opts.db, directory, {
      node: opts.config.nodeName,
      feed,
      defaultQuotaBytes: () => settings().values['mailbox.defaultQuotaBytes'],
      messageCache: new MessageCache(opts.config.messageCacheMb * 1024 * 1024),
    }),
    limits: () => {
      const v = settings().values;
      return {
        appendLimit: v['imap.maxLiteralBytes'],
        allowPlaintextAuth: v['auth.allowPlaintext'],
        authFailuresPerIpPerMinute: v['limits.authFailuresPerIpPerMinute'],
        idleTimeoutSeconds: v['imap.idleTimeoutSeconds'],
      };
    },
  };
  // Failed logins per IP count across both listeners.
  const authFailures = new IpMinuteCounter(() => settings().values['limits.authFailuresPerIpPerMinute']);
  for (const { kind, note } of MODES) {
    for (const addr of opts.config.listen[kind]) {
      const v = settings().values;
      const server = await startImapServer({
        mode: kind,
        listen: parseListenAddress(addr),
        hostname: v['server.hostname'] || opts.config.nodeName,
        serverInfo: { name: 'TEGU', version: VERSION },
        tls: { cert: opts.tls.cert, key: opts.tls.key, minVersion: v['tls.minVersion'] },
        services,
        log: opts.log,
        maxConnectionsPerIp: v['limits.maxConnectionsPerIp'],
        maxConnectsPerMinutePerIp: v['limits.connectionsPerIpPerMinute'],
        authFailures,
      });
      opts.onStarted({ proto: kind, address: hostPort(server.address.host, server.address.port), note }, server);
    }
  }
}
