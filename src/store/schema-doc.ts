/**
 * Documentation of the schema, read from the database catalogue (the COMMENT
 * ON of every table and column). docs/schema.md is generated from it by
 * `npm run schema-doc`, and a test keeps the two in step.
 */
import type { Queryable } from './db.ts';

export interface ColumnDoc {
  name: string;
  type: string;
  nullable: boolean;
  comment: string;
}

export interface TableDoc {
  name: string;
  comment: string;
  columns: ColumnDoc[];
}

export async function describeSchema(q: Queryable): Promise<TableDoc[]> {
  const rows = await q.query<{ tbl: string; tcomment: string | null; col: string; type: string; notnull: boolean; ccomment: string | null }>(
    `SELECT c.relname AS tbl, obj_description(c.oid, 'pg_class') AS tcomment,
            a.attname AS col, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS notnull,
            col_description(c.oid, a.attnum) AS ccomment
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      WHERE c.relkind = 'r'
      ORDER BY c.relname, a.attnum`,
  );
  const tables = new Map<string, TableDoc>();
  for (const r of rows) {
    let t = tables.get(r.tbl);
    if (!t) {
      t = { name: r.tbl, comment: r.tcomment ?? '', columns: [] };
      tables.set(r.tbl, t);
    }
    t.columns.push({ name: r.col, type: r.type, nullable: !r.notnull, comment: r.ccomment ?? '' });
  }
  return [...tables.values()];
}

export function schemaMarkdown(tables: readonly TableDoc[]): string {
  const out = [
    '# TEGU database schema',
    '',
    'Generated from the COMMENT ON of each table and column by `npm run schema-doc`; do not edit by hand.',
    'Every table lives in the `public` schema of the TEGU database (or of the embedded data directory).',
    '',
  ];
  for (const t of tables) {
    out.push(`## ${t.name}`, '', t.comment, '', '| column | type | null | meaning |', '|---|---|---|---|');
    for (const c of t.columns) {
      out.push(`| ${c.name} | ${c.type} | ${c.nullable ? 'yes' : ''} | ${c.comment.replace(/\|/g, '\\|')} |`);
    }
    out.push('');
  }
  return out.join('\n');
}
