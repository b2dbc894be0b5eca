// Writes docs/schema.md from a freshly migrated embedded database.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbedded } from '../src/store/embedded.ts';
import { migrate } from '../src/store/migrate.ts';
import { describeSchema, schemaMarkdown } from '../src/store/schema-doc.ts';

const dir = await mkdtemp(join(tmpdir(), 'tegu-schema-'));
const db = await openEmbedded({ dataDir: dir });
try {
  await migrate(db);
  const md = schemaMarkdown(await describeSchema(db));
  await writeFile(new URL('../docs/schema.md', import.meta.url), md);
  console.log('wrote docs/schema.md');
} finally {
  await db.close();
  await rm(dir, { recursive: true, force: true });
}
