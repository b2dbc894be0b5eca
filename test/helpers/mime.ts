/** Helpers for MIME structure tests: invariants every parse must satisfy, and a compact shape. */
import assert from 'node:assert/strict';
import { transferDecoder } from '../../src/mail/mime-decode.ts';
import { structureToJson } from '../../src/mail/mime-json.ts';
import { MimeStructureParser, type ParsedMessage } from '../../src/mail/mime-structure.ts';
import { isEncapsulatedMessage, isMultipart, type MimePart } from '../../src/mail/mime-types.ts';

export const crlf = (...lines: string[]): Buffer => Buffer.from(lines.join('\r\n'), 'utf8');
export const lf = (...lines: string[]): Buffer => Buffer.from(lines.join('\n'), 'utf8');

/** A part as text: type/subtype, then its children or encapsulated message in brackets. */
export function shape(p: MimePart): string {
  const t = `${p.type}/${p.subtype}`.toLowerCase();
  if (p.children.length) return `${t}[${p.children.map(shape).join(',')}]`;
  if (p.message) return `${t}{${shape(p.message.body)}}`;
  return t;
}

export const body = (raw: Buffer, p: MimePart): string => raw.subarray(p.bodyStart, p.bodyEnd).toString('latin1');
export const header = (raw: Buffer, p: MimePart): string => raw.subarray(p.headerStart, p.bodyStart).toString('latin1');

/** Parses with the message cut into the given pieces. */
export function parsePieces(pieces: readonly Buffer[], textBudget?: number): ParsedMessage {
  const p = new MimeStructureParser(textBudget === undefined ? {} : { textBudget });
  for (const piece of pieces) p.push(piece);
  return p.finish();
}

/** Everything a parse yields, as one comparable string. */
export function fingerprint(m: ParsedMessage): string {
  return JSON.stringify([structureToJson(m.root), m.envelope, m.header, m.bodyText, m.size]);
}

function countLf(b: Buffer): number {
  let n = 0;
  for (let k = b.indexOf(0x0a); k >= 0; k = b.indexOf(0x0a, k + 1)) n++;
  return n;
}

/**
 * Invariants of any parse of `raw`: offsets ordered and nested, parts in
 * order without overlap, line counts and decoded sizes matching the bytes.
 * `decode`: also check binarySize by decoding (slower).
 */
export function checkTree(raw: Buffer, m: ParsedMessage, decode = true): number {
  assert.equal(m.size, raw.length, 'size');
  assert.equal(m.root.headerStart, 0);
  assert.equal(m.root.bodyEnd, raw.length, 'the root ends with the message');
  let parts = 0;
  const walk = (p: MimePart, lo: number, hi: number): void => {
    parts++;
    assert.ok(lo <= p.headerStart && p.headerStart <= p.bodyStart && p.bodyStart <= p.bodyEnd && p.bodyEnd <= hi,
      `offsets ${p.headerStart} ${p.bodyStart} ${p.bodyEnd} within [${lo}, ${hi}]`);
    assert.equal(p.lines, countLf(raw.subarray(p.bodyStart, p.bodyEnd)), `lines of ${shape(p)} at ${p.headerStart}`);
    if (decode && p.binarySize !== undefined) {
      const d = transferDecoder(p.encoding)!;
      const bytes = raw.subarray(p.bodyStart, p.bodyEnd);
      assert.equal(p.binarySize, d.push(bytes).length + d.finish().length, 'binarySize');
    }
    if (p.children.length) assert.ok(isMultipart(p), 'only multiparts have children');
    let at = p.bodyStart;
    for (const c of p.children) {
      assert.ok(c.headerStart >= at, 'children in order, not overlapping');
      walk(c, p.bodyStart, p.bodyEnd);
      at = c.bodyEnd;
    }
    if (p.message) {
      assert.ok(isEncapsulatedMessage(p));
      assert.equal(p.message.body.headerStart, p.bodyStart, 'the encapsulated message starts with the body');
      assert.equal(p.message.body.bodyEnd, p.bodyEnd, 'and ends with it');
      walk(p.message.body, p.bodyStart, p.bodyEnd);
    }
  };
  walk(m.root, 0, raw.length);
  return parts;
}
