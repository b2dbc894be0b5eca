import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { describeSchema, schemaMarkdown } from '../src/store/schema-doc.ts';
import { engines, type TestDb } from './helpers/db.ts';

for (const engine of engines()) {
  describe(`schema documentation (${engine.name})`, () => {
    let t: TestDb;
    before(async () => {
      t = await engine.create();
    });
    after(async () => t.drop());

    it('every table has a comment', async () => {
      const missing = (await describeSchema(t.db)).filter((x) => !x.comment).map((x) => x.name);
      assert.deepEqual(missing, []);
    });

    it('docs/schema.md matches the migrated schema (run `npm run schema-doc` after a migration)', async () => {
      const md = schemaMarkdown(await describeSchema(t.db));
      const onDisk = await readFile(new URL('../docs/schema.md', import.meta.url), 'utf8');
      assert.equal(onDisk, md);
    });
  });
}
