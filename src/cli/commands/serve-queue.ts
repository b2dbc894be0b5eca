/** The outbound queue worker of `tegu serve` (docs/queue.md): every node runs one. */
import type { BootstrapConfig } from '../../config/bootstrap.ts';
import { deliverReport } from '../../core/outbound.ts';
import { createMailServices } from '../../core/mail-services.ts';
import type { SettingsSnapshot } from '../../core/settings.ts';
import { localDirectory } from '../../directory/local.ts';
import type { Logger } from '../../lib/log.ts';
import { systemResolver, type DnsResolver } from '../../mail/dns.ts';
import { cachingResolver } from '../../mail/dns-cache.ts';
import { startQueueWorker, type QueueLimits, type QueueWorker } from '../../queue/worker.ts';
import type { Database } from '../../store/db.ts';

/** queue.routes entries (domain=host:port) as the route table. */
export function staticRoutes(entries: readonly string[]): Map<string, string> {
  const routes = new Map<string, string>();
  for (const e of entries) {
    const eq = e.indexOf('=');
    if (eq > 0) routes.set(e.slice(0, eq).toLowerCase(), e.slice(eq + 1));
  }
  return routes;
}

export function queueLimits(s: SettingsSnapshot['values']): QueueLimits {
  const requireTls = new Set(s['queue.requireTlsDomains'].map((d) => d.toLowerCase()));
  return {
    concurrency: s['queue.concurrency'],
    domainConcurrency: s['queue.domainConcurrency'],
    delayWarningMs: s['queue.delayWarningHours'] * 3_600_000,
    leaseSeconds: s['queue.leaseSeconds'],
    route: {
      staticRoutes: staticRoutes(s['queue.routes']),
      ...(s['queue.smarthost'] ? { smarthost: s['queue.smarthost'] } : {}),
      ...(s['queue.smarthost'] && s['queue.smarthostUser']
        ? { smarthostAuth: { user: s['queue.smarthostUser'], pass: s['queue.smarthostPassword'] } }
        : {}),
    },
    requireTls: (domain) => requireTls.has(domain),
  };
}

export async function startQueue(opts: {
  db: Database;
  config: BootstrapConfig;
  settings: () => SettingsSnapshot;
  log: Logger;
  resolver?: DnsResolver;
}): Promise<QueueWorker> {
  const { db, settings } = opts;
  const directory = localDirectory(db, { subaddressSeparator: () => settings().values['addressing.subaddressSeparator'] });
  const services = createMailServices(db, directory);
  let cached: { values: SettingsSnapshot['values']; limits: QueueLimits } | undefined;
  const hostname = (): string => settings().values['server.hostname'] || opts.config.nodeName;
  return startQueueWorker({
    db,
    node: opts.config.nodeName,
    hostname: hostname(),
    resolver: opts.resolver ?? cachingResolver(systemResolver()),
    // Rebuilt only when the settings snapshot changes (it is read at every claim).
    limits: () => {
      const values = settings().values;
      if (cached?.values !== values) cached = { values, limits: queueLimits(values) };
      return cached.limits;
    },
    deliverReport: async (message, to, eightBit) => {
      const where = await deliverReport(db, services, message, to, { lifetimeHours: settings().values['queue.maxAttemptsHours'], eightBit });
      opts.log.info({ to, where }, 'delivery status notification');
    },
    log: opts.log.child({ component: 'queue' }),
  });
}
