/**
 * The boundaries of the open multiparts (RFC 2046 5.1.1), in a trie over
 * their octets, so that matching a line costs one step per octet of its start
 * whatever the number of open multiparts, and a line that cannot be a
 * delimiter is known as soon as its first octets fall off the trie.
 */

const DASH = 0x2d;

interface TrieNode {
  next: Map<number, TrieNode>;
  /** Stack indexes of the multiparts whose boundary ends here, innermost (highest) first. */
  ends: number[];
}

export interface DelimiterMatch {
  /** Stack index of the multipart. */
  index: number;
  /** "--" boundary "--": the close delimiter. */
  close: boolean;
}

/** Index after the last octet of line[0, len) that is not transport padding (space, tab). */
function paddingStart(line: Buffer, len: number): number {
  let k = len;
  while (k > 0 && (line[k - 1] === 0x20 || line[k - 1] === 0x09)) k--;
  return k;
}

export class BoundarySet {
  private root: TrieNode = { next: new Map(), ends: [] };
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Replaces the set: `delims` are "--" boundary, innermost first, with their stack indexes. */
  reset(delims: readonly { index: number; delim: Buffer }[]): void {
    this.root = { next: new Map(), ends: [] };
    this.count = delims.length;
    for (const { index, delim } of delims) {
      let node = this.root;
      for (let k = 2; k < delim.length; k++) {
        const b = delim[k]!;
        let child = node.next.get(b);
        if (!child) {
          child = { next: new Map(), ends: [] };
          node.next.set(b, child);
        }
        node = child;
      }
      node.ends.push(index);
    }
  }

  /** Where a line's walk starts (after its "--"). */
  start(): TrieNode {
    return this.root;
  }

  /** One octet further; undefined when no boundary continues with it. */
  step(node: TrieNode, octet: number): TrieNode | undefined {
    return node.next.get(octet);
  }

  hasEnd(node: TrieNode): boolean {
    return node.ends.length > 0;
  }

  /**
   * The delimiter that line[0, len) is, if any: the innermost exact match
   * ("--" boundary ["--"] then only transport padding, and `tailSpace`: what
   * follows beyond `len` was padding too), else, leniently, the innermost
   * boundary the line starts with.
   */
  match(line: Buffer, len: number, tailSpace: boolean): DelimiterMatch | undefined {
    if (len < 3 || line[0] !== DASH || line[1] !== DASH) return undefined;
    let exact: DelimiterMatch | undefined;
    let prefix: DelimiterMatch | undefined;
    const pad = paddingStart(line, len);
    let node: TrieNode | undefined = this.root;
    for (let k = 2; k < len; k++) {
      node = node.next.get(line[k]!);
      if (!node) break;
      const index = node.ends[0];
      if (index === undefined) continue;
      const after = k + 1;
      const close = after + 1 < len && line[after] === DASH && line[after + 1] === DASH;
      if (tailSpace && (close ? after + 2 : after) >= pad) {
        if (!exact || index > exact.index) exact = { index, close };
      } else if (!prefix || index > prefix.index) prefix = { index, close };
    }
    return exact ?? prefix;
  }
}
