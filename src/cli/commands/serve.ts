/**
 * tegu serve: the composition root of a running node. Opens the database
 * (the embedded one locks its data directory), migrates, loads settings,
 * makes sure TLS material exists, starts the listeners, registers the node,
 * prints the banner, then waits for SIGINT/SIGTERM and stops in reverse:
 * not ready, listeners closed, node deregistered, database closed (which
 * releases the data-directory lock). A second signal exits at once with 1.
 */
import { LISTENER_KINDS, parseListenAddress } from '../../config/bootstrap.ts';
import { ensureTlsMaterial, type TlsMaterial } from '../../config/tls.ts';
import { registerNode } from '../../core/nodes.ts';
import { startSearchIndexer } from '../../core/search-indexer.ts';
import { startJanitor } from '../../core/janitor.ts';
import { loadSettings, SETTINGS_CHANNEL, type SettingsSnapshot } from '../../core/settings.ts';
import { createLogger, type Logger } from '../../lib/log.ts';
import type { Database } from '../../store/db.ts';
import { shareEmbedded } from '../../store/embedded-share.ts';
import { migrate } from '../../store/migrate.ts';
import { controlSocketPath } from '../../store/open.ts';
import { ping } from '../../store/ops.ts';
import { startHealthServer } from '../../web/health.ts';
import { openConfigured } from '../database.ts';
import { writeLine } from '../output.ts';
import type { Command, Invocation } from '../types.ts';
import { VERSION } from '../version.ts';
import { bannerJson, bannerLines, hostPort, type StartedListener } from './serve-banner.ts';
import { startImapListeners } from './serve-imap.ts';
import { startMailListeners } from './serve-mail.ts';
import { startQueue } from './serve-queue.ts';

/** After the first signal, how long a clean stop may take before we give up. */
const STOP_TIMEOUT_MS = 15_000;

interface SignalWatch {
  /** Resolves with the first SIGINT/SIGTERM (possibly already during start-up). */
  first: Promise<NodeJS.Signals>;
  dispose(): void;
}

function watchSignals(log: Logger): SignalWatch {
  let count = 0;
  let resolveFirst: (s: NodeJS.Signals) => void = () => undefined;
  const first = new Promise<NodeJS.Signals>((r) => (resolveFirst = r));
  const on = (signal: NodeJS.Signals): void => {
    count++;
    if (count === 1) {
      log.info({ signal }, 'stopping');
      resolveFirst(signal);
      return;
    }
    log.warn({ signal }, 'second signal: exiting without a clean stop');
    process.exit(1);
  };
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  return {
    first,
    dispose() {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
    },
  };
}

interface Running {
  listeners: StartedListener[];
  /** Undo steps, run in reverse order of registration. */
  cleanups: { what: string; run: () => Promise<void> }[];
  ready: boolean;
}

/** Listener kinds that exist; the others are only logged as not implemented yet. */
const BUILT = new Set<string>(['http', 'smtp', 'submission', 'submissions', 'lmtp', 'imap', 'imaps']);

async function startListeners(
  db: Database,
  state: Running,
  inv: Invocation,
  log: Logger,
  tls: TlsMaterial,
  settings: () => SettingsSnapshot,
): Promise<void> {
  for (const addr of inv.config.listen.http) {
    const health = await startHealthServer({
      listen: parseListenAddress(addr),
      log,
      ready: async () => {
        if (!state.ready) return false;
        await ping(db);
        return true;
      },
    });
    state.cleanups.push({ what: 'http listener', run: () => health.close() });
    state.listeners.push({
      proto: 'http',
      address: hostPort(health.address.host, health.address.port),
      note: '/healthz, /readyz',
    });
  }
  await startMailListeners({
    db,
    config: inv.config,
    tls,
    settings,
    log,
    onStarted: (listener, server) => {
      state.cleanups.push({ what: `${listener.proto} listener`, run: () => server.close() });
      state.listeners.push(listener);
    },
  });
  await startImapListeners({
    db,
    config: inv.config,
    tls,
    settings,
    log,
    onStarted: (listener, server) => {
      state.cleanups.push({ what: `${listener.proto} listener`, run: () => server.close() });
      state.listeners.push(listener);
    },
    onCleanup: (what, run) => state.cleanups.push({ what, run }),
  });
  // Protocol servers start here as they are built; until then say so in the log.
  for (const kind of LISTENER_KINDS) {
    if (!BUILT.has(kind) && inv.config.listen[kind].length > 0) {
      log.warn({ proto: kind, listen: inv.config.listen[kind] }, `${kind} is not implemented yet; listener not started`);
    }
  }
}

async function start(db: Database, state: Running, inv: Invocation, log: Logger): Promise<void> {
  const { config } = inv;
  const migration = await migrate(db);
  if (migration.applied.length > 0) log.info({ from: migration.from, to: migration.to }, 'database schema migrated');
  const onInvalid = (key: string, err: unknown): void => log.warn({ key, err }, 'ignoring an invalid stored setting');
  let settings = await loadSettings(db, onInvalid);
  // Every node reloads on NOTIFY; services that read settings will take `settings` from here.
  const unlisten = await db.listen(SETTINGS_CHANNEL, (key) => {
    loadSettings(db, onInvalid).then(
      (s) => {
        settings = s;
        log.info({ key }, 'settings reloaded');
      },
      (err: unknown) => log.error({ err }, 'reloading settings failed'),
    );
  });
  state.cleanups.push({ what: 'settings listener', run: unlisten });

  const tls = await ensureTlsMaterial({
    dataDir: config.dataDir,
    ...config.tls,
    hostname: settings.values['server.hostname'] || config.nodeName,
  });
  if (tls.generated) log.info({ certPath: tls.certPath }, 'generated a self-signed TLS certificate');

  await startListeners(db, state, inv, log, tls, () => settings);
  const registration = await registerNode(
    db,
    { name: config.nodeName, version: VERSION, listeners: state.listeners.map((l) => ({ proto: l.proto, address: l.address })) },
    (err) => log.warn({ err }, 'node heartbeat failed'),
  );
  state.cleanups.push({ what: 'node registration', run: () => registration.stop() });
  const stopJanitor = startJanitor(db, (job, err) => log.warn({ err, job }, 'housekeeping failed'));
  state.cleanups.push({ what: 'janitor', run: stopJanitor });
  const indexer = await startSearchIndexer(db, (err) => log.warn({ err }, 'search indexing failed'));
  state.cleanups.push({ what: 'search indexer', run: () => indexer.stop() });
  const queue = await startQueue({ db, config, settings: () => settings, log });
  state.cleanups.push({ what: 'outbound queue', run: () => queue.stop() });
  state.ready = true;

  const info = { config, cwd: inv.io.cwd, migration, tls, listeners: state.listeners };
  if (inv.json) writeLine(inv.io.stdout, JSON.stringify(bannerJson(info)));
  else for (const line of bannerLines(info)) writeLine(inv.io.stdout, line);
  log.info({ node: config.nodeName, listeners: state.listeners.map((l) => `${l.proto} ${l.address}`) }, 'ready');
}

/** Runs the cleanups newest first; a failing step is logged and the rest still run. */
async function stop(state: Running, log: Logger): Promise<boolean> {
  state.ready = false;
  let ok = true;
  for (const c of [...state.cleanups].reverse()) {
    try {
      await c.run();
    } catch (err) {
      ok = false;
      log.error({ err }, `stopping: ${c.what} failed`);
    }
  }
  state.cleanups = [];
  return ok;
}

async function serve(inv: Invocation): Promise<number> {
  const log = createLogger({ level: inv.config.logLevel, destination: 2 });
  const signals = watchSignals(log);
  const state: Running = { listeners: [], cleanups: [], ready: false };
  try {
    // 6 + 4 connections per node (10, as before the scheduler): a pool for transactions (deliveries to
    // several recipients, MULTIAPPEND, COPY/MOVE, admin changes), and 4 that single statements are
    // pipelined onto (store/postgres.ts, store/pg-scheduler.ts).
    const db = await openConfigured(inv.config, { applicationName: `tegu ${inv.config.nodeName}`, poolSize: 6, statementConnections: 4 });
    // Registered first, so it runs last: the lock is released only after everything else stopped.
    state.cleanups.push({ what: 'database', run: () => db.close() });
    if (db.kind === 'embedded') {
      // Admin commands (tegu user add ...) reach the locked embedded database through this node.
      const shared = await shareEmbedded(db, controlSocketPath(inv.config.dataDir));
      state.cleanups.push({ what: 'control socket', run: () => shared.close() });
    }
    await start(db, state, inv, log);
  } catch (err) {
    await stop(state, log);
    signals.dispose();
    throw err;
  }
  await signals.first;
  const timer = setTimeout(() => {
    log.error({ timeoutMs: STOP_TIMEOUT_MS }, 'clean stop timed out; exiting');
    process.exit(1);
  }, STOP_TIMEOUT_MS);
  timer.unref();
  const ok = await stop(state, log);
  clearTimeout(timer);
  log.info('stopped');
  return ok ? 0 : 1;
}

export const serveCommand: Command = {
  name: 'serve',
  summary: 'run the server (the default when no command is given)',
  details:
    'Applies database migrations, starts the listeners (--listen-*), registers this node and runs until SIGINT or SIGTERM.\n' +
    'Logs are JSON lines on stderr; stdout gets a short banner (with --json: one JSON line).',
  args: [],
  run: serve,
};
