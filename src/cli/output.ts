/** Human and machine (--json) output. */
import type { Invocation, Io } from './types.ts';

export function writeLine(out: NodeJS.WritableStream, text = ''): void {
  out.write(`${text}\n`);
}

/** One JSON document on stdout; Dates become ISO strings, bigints decimal strings. */
export function printJson(io: Io, value: unknown): void {
  writeLine(io.stdout, JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2));
}

/** With --json the document, else the human lines. */
export function emit(inv: Invocation, json: unknown, human: string | string[]): void {
  if (inv.json) {
    printJson(inv.io, json);
    return;
  }
  for (const line of Array.isArray(human) ? human : [human]) writeLine(inv.io.stdout, line);
}

/** A left-aligned text table; the last column is not padded. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: readonly string[]): string =>
    r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [fmt(header), ...rows.map(fmt)];
}

/** A list as a table, or "(no users)" when empty. */
export function listOutput(inv: Invocation, json: unknown[], what: string, header: string[], rows: string[][]): void {
  emit(inv, json, rows.length === 0 ? `(no ${what})` : table(header, rows));
}

export function isoDate(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Quotes a shell word when needed, for hints the user may copy. */
export function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
