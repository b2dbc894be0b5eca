/**
 * The MIME structure of a message (RFC 2045, RFC 2046 5), parsed as the
 * octets stream by: push(chunk) ... finish(). What it keeps is bounded
 * whatever the message's size: the header section of the part being read
 * (up to a limit), the first octets of a line that may be a boundary
 * delimiter, counters, the tree's metadata (within a budget) and the bounded
 * search text. Bodies are never held.
 *
 * Offsets are octets into the parsed bytes. Boundaries (RFC 2046 5.1.1):
 * a delimiter line starts with "--" boundary at the start of a line; the
 * line break before it belongs to it; "--" boundary "--" closes the
 * multipart; what follows on the line may be whitespace (transport padding),
 * and, leniently like Dovecot, anything else if no boundary matches exactly.
 * The boundary of any enclosing multipart ends the parts inside it; the
 * innermost exact match wins. Lines are counted by their line feeds, so CRLF
 * and bare LF both work.
 *
 * Broken MIME never throws: a missing close delimiter ends the multipart with
 * its parent, a header section past its limit becomes body, nesting past
 * MAX_DEPTH and parts past MAX_PARTS are left unparsed (PART_FLAGS mark
 * each case). Work is linear in the input: a line starting with "--" walks
 * the boundary trie (mime-boundaries.ts) for at most MAX_BOUNDARY_LENGTH
 * octets, whatever the number of open multiparts; body octets go to the tree
 * in runs of lines, not line by line.
 *
 * This file is the line scanner; mime-tree.ts builds the parts.
 */
import type { DelimiterMatch } from './mime-boundaries.ts';
import { MAX_BOUNDARY_LENGTH, MimeTree, type ParsedMessage } from './mime-tree.ts';

export {
  MAX_BOUNDARY_LENGTH,
  MAX_DEPTH,
  MAX_MESSAGE_HEADER_BYTES,
  MAX_METADATA_BYTES,
  MAX_PARTS,
  MAX_PART_HEADER_BYTES,
  type ParsedMessage,
} from './mime-tree.ts';

/** Text of text/plain and text/html parts collected for the search index (UTF-8 octets). */
export const DEFAULT_TEXT_BUDGET = 64 * 1024;

const LF = 0x0a;
const CR = 0x0d;
const DASH = 0x2d;
/** A delimiter line's start kept: "--", the longest boundary, "--", and a little padding. */
const HEAD_MAX = MAX_BOUNDARY_LENGTH + 4;
const CRLF = Buffer.from('\r\n');
const LF_ONLY = Buffer.from('\n');
const CR_ONLY = Buffer.from('\r');

type LineKind = 'header' | 'undecided' | 'body' | 'boundary';

export interface MimeParserOptions {
  /** Octets of decoded text to collect for the search index (0: none). */
  textBudget?: number;
}

/**
 * The line scanner: it finds the lines, keeps the header section being read
 * and the start of a line that may be a delimiter, and tells the tree
 * (mime-tree.ts) what each line is.
 */
export class MimeStructureParser {
  private readonly tree: MimeTree;
  private size = 0;
  private lfCount = 0;
  private result: ParsedMessage | undefined;

  // The current line.
  private atLineStart = true;
  private kind: LineKind = 'header';
  private lineStart = 0;
  private lineLf = 0;
  /** Length of the line break that ended the previous line (0 at the start). */
  private prevEol = 0;
  /** A body line's break, not given to the part yet: it belongs to a delimiter if one follows. */
  private pendingEol = 0;
  /** A CR at the end of what was seen of a body line: content, or the start of its CRLF. */
  private pendingCr = false;
  /** The line break before the current line (eolBefore) and whether a delimiter line's last octet so far is a CR. */
  private eolBefore = 0;
  private lastCr = false;
  private readonly head = Buffer.allocUnsafe(HEAD_MAX);
  private headLen = 0;
  private tailSpace = true;
  private hdr = Buffer.allocUnsafe(2048); // grows as needed, up to the header limit
  private hdrLen = 0;
  private hdrLineStart = 0;

  /** Where the current line's start is in the boundary trie (undefined: fell off), and whether it passed a boundary's end. */
  private cursor: ReturnType<ReturnType<MimeTree['boundaries']>['start']> | undefined;
  private passedEnd = false;

  constructor(opts: MimeParserOptions = {}) {
    this.tree = new MimeTree(opts.textBudget ?? DEFAULT_TEXT_BUDGET);
  }

  push(chunk: Buffer): void {
    if (this.result) throw new Error('MimeStructureParser: push after finish');
    this.consume(chunk, 0);
  }

  /** Octets the parser holds right now: buffers, collected text, kept metadata. */
  heldBytes(): number {
    return this.hdr.length + this.head.length + this.tree.metadataBytes;
  }

  finish(): ParsedMessage {
    this.result ??= this.endOfInput();
    return this.result;
  }

  /** Processes buf[from..]; buf's first octet is at offset this.size. */
  private consume(buf: Buffer, from: number): void {
    let i = from;
    while (i < buf.length) {
      if (this.atLineStart) this.beginLine();
      switch (this.kind) {
        case 'header':
          i = this.headerBytes(buf, i);
          break;
        case 'undecided':
          i = this.undecidedBytes(buf, i);
          break;
        case 'body':
          i = this.bodyBytes(buf, i);
          break;
        case 'boundary':
          i = this.boundaryBytes(buf, i);
          break;
      }
    }
  }

  private beginLine(): void {
    this.atLineStart = false;
    this.lineStart = this.size;
    this.lineLf = this.lfCount;
    this.eolBefore = this.prevEol;
    if (this.tree.inHeader) {
      this.kind = 'header';
      this.hdrLineStart = this.hdrLen;
      return;
    }
    const boundaries = this.tree.boundaries();
    this.kind = boundaries.size ? 'undecided' : 'body';
    this.headLen = 0;
    this.tailSpace = true;
    this.cursor = boundaries.start();
    this.passedEnd = false;
  }

  /** The line's LF was consumed (and counted in size). */
  private endLine(eol: number): void {
    this.prevEol = eol;
    this.lfCount++;
    this.atLineStart = true;
  }

  // ---- header section lines

  private headerBytes(buf: Buffer, i: number): number {
    const lf = buf.indexOf(LF, i);
    const end = lf < 0 ? buf.length : lf + 1;
    if (this.hdrLen + (end - i) > this.tree.headerLimit) return this.headerOverflow(i);
    this.hdrAppend(buf.subarray(i, end));
    this.size += end - i;
    if (lf < 0) return end;
    const eol = this.hdrLen - 1 > this.hdrLineStart && this.hdr[this.hdrLen - 2] === CR ? 2 : 1;
    const content = this.hdr.subarray(this.hdrLineStart, this.hdrLen - eol);
    this.endLine(eol);
    if (content.length >= 2 && content[0] === DASH && content[1] === DASH) {
      const match = this.tree.boundaries().match(content, content.length, true);
      if (match) {
        this.hdrLen = this.hdrLineStart;
        this.onDelimiter(match);
        return end;
      }
    }
    // The empty line: the header section ends before it, the body starts after it.
    if (content.length === 0) this.endHeader(this.hdrLineStart, this.size);
    return end;
  }

  /**
   * The header section would pass its limit: it ends before this line, which
   * becomes the first body line (the part is marked). The part of the line
   * already in hdr is consumed again as body; the caller goes on at i.
   */
  private headerOverflow(i: number): number {
    const partial = Buffer.from(this.hdr.subarray(this.hdrLineStart, this.hdrLen));
    this.tree.markHeaderTruncated();
    this.size = this.lineStart;
    this.endHeader(this.hdrLineStart, this.lineStart);
    this.atLineStart = true;
    this.consume(partial, 0);
    return i;
  }

  private hdrAppend(b: Buffer): void {
    if (this.hdrLen + b.length > this.hdr.length) {
      let n = this.hdr.length * 2;
      while (n < this.hdrLen + b.length) n *= 2;
      const grown = Buffer.allocUnsafe(n);
      this.hdr.copy(grown, 0, 0, this.hdrLen);
      this.hdr = grown;
    }
    b.copy(this.hdr, this.hdrLen);
    this.hdrLen += b.length;
  }

  /** The current part's header section is hdr[0, headerBytes); its body starts at bodyStart. */
  private endHeader(headerBytes: number, bodyStart: number): void {
    this.tree.endHeader(this.hdr.subarray(0, headerBytes), bodyStart, this.lfCount);
    this.hdrReset();
    this.prevEol = 0; // a delimiter right at the body start has no line break of the body before it
  }

  private hdrReset(): void {
    this.hdrLen = 0;
    if (this.hdr.length > 64 * 1024) this.hdr = Buffer.allocUnsafe(2048);
  }

  // ---- body lines

  private wantsBody(): boolean {
    return this.tree.wantsBody();
  }

  private sink(b: Buffer): void {
    this.tree.body(b);
  }

  private flushPendingEol(): void {
    if (this.pendingEol && this.wantsBody()) this.sink(this.pendingEol === 2 ? CRLF : LF_ONLY);
    this.pendingEol = 0;
  }

  /**
   * Body octets from buf[i] on, in runs: the line breaks of lines followed
   * by a line that cannot be a delimiter go with them; the break of the last
   * line before one that might be (it starts with "--", or is not here yet)
   * waits in pendingEol.
   */
  private bodyBytes(buf: Buffer, i: number): number {
    this.flushPendingEol(); // this line is body: the previous line's break was too
    if (this.pendingCr) {
      this.pendingCr = false;
      if (buf[i] === LF) {
        this.size++;
        this.pendingEol = 2;
        this.endLine(2);
        return i + 1;
      }
      if (this.wantsBody()) this.sink(CR_ONLY);
    }
    if (this.tree.boundaries().size === 0) return this.restIsBody(buf, i);
    let j = i;
    for (;;) {
      const lf = buf.indexOf(LF, j);
      if (lf < 0) {
        let contentEnd = buf.length;
        if (contentEnd > j && buf[contentEnd - 1] === CR) {
          contentEnd--;
          this.pendingCr = true;
        }
        if (contentEnd > i && this.wantsBody()) this.sink(buf.subarray(i, contentEnd));
        this.size += buf.length - i;
        return buf.length;
      }
      const next = lf + 1;
      if (next + 1 < buf.length && (buf[next] !== DASH || buf[next + 1] !== DASH)) {
        // The next line is body too: it and this line's break join the run.
        this.lfCount++;
        j = next;
        continue;
      }
      const eol = lf > j && buf[lf - 1] === CR ? 2 : 1;
      const contentEnd = lf - (eol - 1);
      if (contentEnd > i && this.wantsBody()) this.sink(buf.subarray(i, contentEnd));
      this.size += next - i;
      this.pendingEol = eol;
      this.endLine(eol);
      return next;
    }
  }

  /** No open multipart: nothing but the end of the message ends this body. */
  private restIsBody(buf: Buffer, i: number): number {
    for (let k = buf.indexOf(LF, i); k >= 0; k = buf.indexOf(LF, k + 1)) this.lfCount++;
    if (this.wantsBody()) this.sink(buf.subarray(i));
    this.size += buf.length - i;
    const last = buf.length - 1;
    if (buf[last] === LF) {
      this.prevEol = last > i && buf[last - 1] === CR ? 2 : 1;
      this.atLineStart = true;
    }
    return buf.length;
  }

  private undecidedBytes(buf: Buffer, i: number): number {
    while (i < buf.length) {
      const b = buf[i]!;
      if (b === LF) {
        const eol = this.headLen > 0 && this.head[this.headLen - 1] === CR ? 2 : 1;
        const contentLen = this.headLen - (eol - 1);
        this.size++;
        const match = this.passedEnd ? this.tree.boundaries().match(this.head, contentLen, true) : undefined;
        if (match) {
          this.pendingEol = 0; // the line break before a delimiter belongs to it
          this.endLine(eol);
          this.onDelimiter(match);
        } else {
          this.flushPendingEol();
          if (contentLen > 0 && this.wantsBody()) this.sink(this.head.subarray(0, contentLen));
          this.pendingEol = eol;
          this.endLine(eol);
        }
        return i + 1;
      }
      const k = this.headLen++;
      this.head[k] = b;
      this.size++;
      i++;
      if (k < 2) {
        if (b !== DASH) return this.toBody(i); // not "--"
        continue;
      }
      if (this.cursor) {
        const boundaries = this.tree.boundaries();
        this.cursor = boundaries.step(this.cursor, b);
        if (this.cursor && boundaries.hasEnd(this.cursor)) this.passedEnd = true;
      }
      // No boundary starts this line: body, decided now.
      if (!this.cursor && !this.passedEnd) return this.toBody(i);
      if (this.headLen === HEAD_MAX) {
        // As long as any boundary: a delimiter line whatever follows (which decides exact or not).
        if (!this.passedEnd) return this.toBody(i);
        this.kind = 'boundary';
        this.lastCr = false;
        return i;
      }
    }
    return i;
  }

  /** The octets in head are the start of a body line; returns i. */
  private toBody(i: number): number {
    this.flushPendingEol();
    let n = this.headLen;
    if (n > 0 && this.head[n - 1] === CR) {
      n--;
      this.pendingCr = true;
    }
    if (n > 0 && this.wantsBody()) this.sink(this.head.subarray(0, n));
    this.kind = 'body';
    return i;
  }

  private boundaryBytes(buf: Buffer, i: number): number {
    const lf = buf.indexOf(LF, i);
    const end = lf < 0 ? buf.length : lf;
    for (let k = i; k < end && this.tailSpace; k++) {
      const c = buf[k];
      if (c !== 0x20 && c !== 0x09 && c !== CR) this.tailSpace = false;
    }
    if (end > i) this.lastCr = buf[end - 1] === CR;
    if (lf < 0) {
      this.size += end - i;
      return end;
    }
    this.size += lf + 1 - i;
    const match = this.tree.boundaries().match(this.head, this.headLen, this.tailSpace);
    this.pendingEol = 0;
    this.endLine(this.lastCr ? 2 : 1);
    if (match) this.onDelimiter(match);
    return lf + 1;
  }

  /** The current line is a delimiter; the next line starts at this.size. */
  private onDelimiter(match: DelimiterMatch): void {
    const at = {
      end: this.lineStart - this.eolBefore,
      endLf: this.lineLf - (this.eolBefore ? 1 : 0),
      lineStart: this.lineStart,
      lineLf: this.lineLf,
      next: this.size,
    };
    this.tree.delimiter(match.index, match.close, at, this.hdr.subarray(0, this.hdrLen));
    this.hdrReset();
  }

  private endOfInput(): ParsedMessage {
    if (!this.atLineStart) {
      // The last line has no line break.
      const boundaries = this.tree.boundaries();
      let match: DelimiterMatch | undefined;
      if (this.kind === 'undecided') {
        match = this.passedEnd ? boundaries.match(this.head, this.headLen, true) : undefined;
        if (!match) this.toBody(0);
      } else if (this.kind === 'boundary') {
        match = boundaries.match(this.head, this.headLen, this.tailSpace);
      } else if (this.kind === 'header') {
        const content = this.hdr.subarray(this.hdrLineStart, this.hdrLen);
        match = boundaries.match(content, content.length, true);
        if (match) this.hdrLen = this.hdrLineStart;
      }
      if (match) {
        this.pendingEol = 0;
        this.onDelimiter(match);
      }
    }
    if (this.pendingCr) {
      this.pendingCr = false;
      this.sink(CR_ONLY);
    }
    // No delimiter follows: the last line break is the body's.
    this.flushPendingEol();
    return this.tree.end(this.size, this.lfCount, this.hdr.subarray(0, this.hdrLen));
  }
}

/** The structure of a message in memory (one push). */
export function parseMimeStructure(raw: Buffer, opts: MimeParserOptions = {}): ParsedMessage {
  const p = new MimeStructureParser(opts);
  p.push(raw);
  return p.finish();
}
