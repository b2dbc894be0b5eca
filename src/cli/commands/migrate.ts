/** tegu migrate: applies the schema migrations this binary knows. */
import { migrate } from '../../store/migrate.ts';
import { withDatabase } from '../database.ts';
import { emit } from '../output.ts';
import type { Command } from '../types.ts';

export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'apply database schema migrations (safe to run on several nodes at once)',
  details: '`tegu serve` migrates at start too; the admin commands refuse an outdated schema instead.',
  args: [],
  run: (inv) =>
    withDatabase(inv, async (db) => {
      const r = await migrate(db);
      const applied = r.applied.map((m) => ({ version: m.version, name: m.name }));
      const human =
        applied.length === 0
          ? `schema is up to date (version ${r.to}); nothing to apply`
          : [
              `schema migrated from version ${r.from} to ${r.to}`,
              ...applied.map((m) => `  applied ${String(m.version).padStart(4, '0')} ${m.name}`),
            ];
      emit(inv, { from: r.from, to: r.to, applied }, human);
    }),
};
