/** Printing benchmark figures: numbers with thousands separators, and plain-text tables. */

/** `x` with `digits` decimals and thousands separators; "-" for undefined, null (no samples) and NaN. */
export const fmt = (x: number | null | undefined, digits = 0): string =>
  x === undefined || x === null || Number.isNaN(x) ? '-' : x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });


/** Prints a table: the first column left-aligned, the others right-aligned, a rule under the head. */
export function table(head: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('-+-'));
  for (const row of rows) console.log(line(row));
}

/** A benchmark's result table under its title (with the node version and platform the figures come from), set off by empty lines. */
export function printTitledTable(title: string, head: readonly string[], rows: readonly (readonly string[])[]): void {
  console.log('');
  console.log(`${title} (node ${process.version}, ${process.platform}/${process.arch})`);
  console.log('');
  table(head, rows);
  console.log('');
}
