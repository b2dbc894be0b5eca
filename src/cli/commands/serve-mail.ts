/** The mail listeners of `tegu serve`: SMTP (MX), submission, submissions, LMTP. */
import { parseListenAddress, type BootstrapConfig } from '../../config/bootstrap.ts';
import type { TlsMaterial } from '../../config/tls.ts';
import { createMailServices } from '../../core/mail-services.ts';
import type { SettingsSnapshot } from '../../core/settings.ts';
import { localDirectory } from '../../directory/local.ts';
import { systemResolver } from '../../mail/dns.ts';
import { cachingResolver } from '../../mail/dns-cache.ts';
import type { Logger } from '../../lib/log.ts';
import { startSmtpServer, type RunningSmtpServer } from '../../protocols/smtp/server.ts';
import type { ListenerMode } from '../../protocols/smtp/state.ts';
import type { Database } from '../../store/db.ts';
import { hostPort, type StartedListener } from './serve-banner.ts';

const MODES: { kind: 'smtp' | 'submission' | 'submissions' | 'lmtp'; mode: ListenerMode; note: string }[] = [
  { kind: 'smtp', mode: 'mx', note: 'incoming mail' },
  { kind: 'submission', mode: 'submission', note: 'STARTTLS, AUTH' },
  { kind: 'submissions', mode: 'submissions', note: 'implicit TLS, AUTH' },
  { kind: 'lmtp', mode: 'lmtp', note: 'local delivery' },
];

export async function startMailListeners(opts: {
  db: Database;
  config: BootstrapConfig;
  tls: TlsMaterial;
  settings: () => SettingsSnapshot;
  log: Logger;
  onStarted: (listener: StartedListener, server: RunningSmtpServer) => void;
}): Promise<void> {
  const { settings } = opts;
  const directory = localDirectory(opts.db, { subaddressSeparator: () => settings().values['addressing.subaddressSeparator'] });
  const services = {
    ...createMailServices(opts.db, directory, {
      // One cache per node for all sessions: SPF/DKIM/DMARC lookups repeat from message to message.
      resolver: cachingResolver(systemResolver()),
      verifyInbound: () => settings().values['smtp.verifyInbound'],
      defaultQuotaBytes: () => settings().values['mailbox.defaultQuotaBytes'],
      senderPolicy: () => settings().values['submission.senderPolicy'] as 'own' | 'domain' | 'any',
      subaddressSeparator: () => settings().values['addressing.subaddressSeparator'],
    }),
    limits: () => {
      const v = settings().values;
      return {
        maxMessageBytes: v['smtp.maxMessageBytes'],
        maxRecipients: v['smtp.maxRecipients'],
        allowPlaintextAuth: v['auth.allowPlaintext'],
        authFailuresPerIpPerMinute: v['limits.authFailuresPerIpPerMinute'],
        messagesPerIpPerMinute: v['limits.messagesPerIpPerMinute'],
        overQuotaReply: v['smtp.overQuotaReply'],
        queueLifetimeHours: v['queue.maxAttemptsHours'],
      };
    },
  };
  for (const { kind, mode, note } of MODES) {
    for (const addr of opts.config.listen[kind]) {
      const v = settings().values;
      const server = await startSmtpServer({
        mode,
        listen: parseListenAddress(addr),
        hostname: v['server.hostname'] || opts.config.nodeName,
        tls: { cert: opts.tls.cert, key: opts.tls.key },
        services,
        log: opts.log,
        // Read at every connection: a settings change applies without a restart.
        maxConnectionsPerIp: () => settings().values['limits.maxConnectionsPerIp'],
        maxConnectsPerMinutePerIp: () => settings().values['limits.connectionsPerIpPerMinute'],
      });
      opts.onStarted({ proto: kind, address: hostPort(server.address.host, server.address.port), note }, server);
    }
  }
}
