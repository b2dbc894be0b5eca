/**
 * Which octets of a stored message a FETCH section (RFC 9051 6.4.5
 * BODY[section], BINARY[section-binary]) means, from the cached MIME tree.
 *
 * The stored message is header_prefix || blob; the tree's offsets are into
 * the blob (see migration 0004), so every offset moves by the prefix's
 * length, except that the message's own header section starts at 0: the
 * prefix (Delivered-To, Received, ...) is part of the top-level header.
 */
import { isEncapsulatedMessage, isMultipart, type MimePart } from '../../../mail/mime-types.ts';

export type SectionText = '' | 'HEADER' | 'TEXT' | 'MIME';

export interface OctetRange {
  start: number;
  end: number;
}

/**
 * The part a section-part (e.g. [1, 2, 3]) names (RFC 9051 6.4.5): parts of a
 * multipart are numbered from 1; a message/rfc822 part's number followed by
 * more numbers goes into the encapsulated message's body; the body of a
 * message that is not multipart is part 1. Undefined when there is no such part.
 */
export function partAt(root: MimePart, path: readonly number[]): MimePart | undefined {
  let current = root;
  for (let k = 0; k < path.length; k++) {
    const n = path[k]!;
    let node: MimePart;
    if (k === 0) node = root;
    else if (isEncapsulatedMessage(current) && current.message) node = current.message.body;
    else if (isMultipart(current)) node = current;
    else return undefined;
    if (isMultipart(node)) {
      const child = node.children[n - 1];
      if (!child) return undefined;
      current = child;
    } else {
      if (n !== 1) return undefined;
      current = node;
    }
  }
  return current;
}

/**
 * The octet range of BODY[<path>.<text>] in the stored message, or undefined
 * when the section does not exist (the server then returns an empty string).
 * HEADER.FIELDS and HEADER.FIELDS.NOT use the HEADER range and filter it.
 */
export function sectionRange(root: MimePart, path: readonly number[], text: SectionText, prefixLength: number): OctetRange | undefined {
  const at = (blobOffset: number, isTopHeaderStart = false): number => (isTopHeaderStart ? 0 : blobOffset + prefixLength);
  if (path.length === 0) {
    if (text === '') return { start: 0, end: at(root.bodyEnd) };
    if (text === 'HEADER') return { start: 0, end: at(root.bodyStart) };
    if (text === 'TEXT') return { start: at(root.bodyStart), end: at(root.bodyEnd) };
    return undefined; // MIME needs a part number
  }
  const part = partAt(root, path);
  if (!part) return undefined;
  if (text === '') return { start: at(part.bodyStart), end: at(part.bodyEnd) };
  if (text === 'MIME') return { start: at(part.headerStart, part === root), end: at(part.bodyStart) };
  // HEADER and TEXT of a part: the encapsulated message of a message/rfc822 part.
  if (!isEncapsulatedMessage(part) || !part.message) return undefined;
  const m = part.message.body;
  return text === 'HEADER' ? { start: at(m.headerStart), end: at(m.bodyStart) } : { start: at(m.bodyStart), end: at(m.bodyEnd) };
}
