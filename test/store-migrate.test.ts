import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SchemaTooNewError } from '../src/lib/errors.ts';
import { migrate, schemaVersion } from '../src/store/migrate.ts';
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from '../src/store/migrations/index.ts';
import { engines, type TestDb } from './helpers/db.ts';

for (const engine of engines()) {
  describe(`migrations (${engine.name})`, () => {
    let t: TestDb;
    before(async () => {
      t = await engine.create();
    });
    after(async () => t.drop());

    it('a migrated database is at the latest version and migrating again applies nothing', async () => {
      assert.equal(await schemaVersion(t.db), LATEST_SCHEMA_VERSION);
      const r = await migrate(t.db);
      assert.deepEqual(r.applied, []);
      assert.equal(r.from, LATEST_SCHEMA_VERSION);
    });

    it('every table has a COMMENT', async () => {
      const rows = await t.db.query<{ relname: string }>(
        `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'public' AND c.relkind = 'r' AND obj_description(c.oid, 'pg_class') IS NULL`,
      );
      assert.deepEqual(rows.map((r) => r.relname), []);
    });

    it('a failing migration rolls back whole and is not recorded', async () => {
      const bad = [
        ...MIGRATIONS,
        { version: LATEST_SCHEMA_VERSION + 1, name: 'broken', sql: 'CREATE TABLE half_done(x int); SELECT no_such_function();' },
      ];
      await assert.rejects(migrate(t.db, bad));
      assert.equal(await schemaVersion(t.db), LATEST_SCHEMA_VERSION);
      const rows = await t.db.query(`SELECT to_regclass('half_done')::text AS t`);
      assert.equal(rows[0]?.t, null);
    });

    it('applies a new migration once and then refuses an older binary (schema newer than known)', async () => {
      const next = [
        ...MIGRATIONS,
        { version: LATEST_SCHEMA_VERSION + 1, name: 'extra', sql: 'CREATE TABLE extra_test(x int)' },
      ];
      const r = await migrate(t.db, next);
      assert.deepEqual(r.applied.map((m) => m.name), ['extra']);
      assert.equal(await schemaVersion(t.db), LATEST_SCHEMA_VERSION + 1);
      // The binary that only knows MIGRATIONS must not run against it.
      await assert.rejects(migrate(t.db, MIGRATIONS), SchemaTooNewError);
    });
  });
}
