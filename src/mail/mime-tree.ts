/**
 * The part tree the structure parser (mime-structure.ts) builds: a stack of
 * the open parts from the message down to the current one, what each part's
 * header says, where its body starts and ends, its line count, decoded size
 * and text, and the boundaries of the open multiparts. The parser tells it
 * what the lines are (header ended, delimiter, body octets, end of input).
 */
import { BoundarySet } from './mime-boundaries.ts';
import { isEncodingTransformed, transferDecoder, type TransferDecoder } from './mime-decode.ts';
import { EMPTY_ENVELOPE, imapEnvelope } from './mime-envelope.ts';
import { parseHeaderFields, type RawHeaderField } from './mime-header.ts';
import { paramValue } from './mime-params.ts';
import { applyPartHeader, boundaryDelimiter, envelopeBytes, MESSAGE_RFC822, newPart, TEXT_PLAIN } from './mime-part-header.ts';
import { BodyTextCollector } from './mime-text.ts';
import { isEncapsulatedMessage, isMultipart, PART_FLAGS, type ImapEnvelope, type MimePart } from './mime-types.ts';

/** Nesting (multiparts and encapsulated messages) parsed at most; deeper content is left as a body. */
export const MAX_DEPTH = 100;
/** Body parts parsed at most in one message. */
export const MAX_PARTS = 10_000;
/** Header section of the message kept at most (the same limit as headers.ts has always used). */
export const MAX_MESSAGE_HEADER_BYTES = 256 * 1024;
/** Header section of a body part or an encapsulated message kept at most. */
export const MAX_PART_HEADER_BYTES = 64 * 1024;
/** Longest boundary recognized (RFC 2046 5.1.1 allows 70; mailers sometimes go past it). */
export const MAX_BOUNDARY_LENGTH = 200;
/** Metadata (parameters, descriptions, encapsulated envelopes) the tree keeps in all. */
export const MAX_METADATA_BYTES = 2 * 1024 * 1024;

export interface ParsedMessage {
  /** The message itself: its header section is the message header. */
  root: MimePart;
  /** The message header fields (from the first MAX_MESSAGE_HEADER_BYTES). */
  header: RawHeaderField[];
  envelope: ImapEnvelope;
  /** Decoded text of the text/plain and text/html parts, bounded. */
  bodyText: string;
  /** Octets parsed. */
  size: number;
}

interface Frame {
  part: MimePart;
  depth: number;
  phase: 'header' | 'body';
  /** Line feeds before bodyStart. */
  bodyLf: number;
  /** Multipart: "--" boundary, when it has one that is parsed. */
  delim?: Buffer;
  /** Multipart: where in its body the parser is. */
  mp?: 'preamble' | 'child' | 'epilogue' | 'skip';
  /** The body part of an encapsulated message (its header is that message's header). */
  encapsulated?: boolean;
  /** Leaf with a base64 or quoted-printable body: its decoder, and the octets decoded so far (BINARY.SIZE). */
  decoder?: TransferDecoder;
  decoded?: number;
  /** Leaf whose text goes to the search text. */
  text?: boolean;
}

/** Where a delimiter line is: the parts it closes end at `end` (after `endLf` line feeds), the next part starts at `next`. */
export interface DelimiterAt {
  end: number;
  endLf: number;
  /** Start of the delimiter line and the line feeds before it. */
  lineStart: number;
  lineLf: number;
  next: number;
}

export class MimeTree {
  private readonly stack: Frame[] = [];
  readonly root: MimePart = newPart(0, TEXT_PLAIN);
  private rootHeader: RawHeaderField[] = [];
  private rootEnvelope: ImapEnvelope = EMPTY_ENVELOPE;
  private readonly text: BodyTextCollector;
  private parts = 1;
  private metadata = 0;
  /** Boundaries of the open multiparts; rebuilt when that set changes. */
  private readonly delimiters = new BoundarySet();
  private delimitersDirty = false;

  constructor(textBudget: number) {
    this.text = new BodyTextCollector(textBudget);
    this.stack.push({ part: this.root, depth: 0, phase: 'header', bodyLf: 0 });
  }

  private get top(): Frame {
    return this.stack[this.stack.length - 1]!;
  }

  /** The current part is in its header section. */
  get inHeader(): boolean {
    return this.top.phase === 'header';
  }

  /** How long the current part's header section may be. */
  get headerLimit(): number {
    return this.top.part === this.root ? MAX_MESSAGE_HEADER_BYTES : MAX_PART_HEADER_BYTES;
  }

  get metadataBytes(): number {
    return this.metadata + this.stack.length * 256 + this.text.heldBytes();
  }

  /** The boundaries that may start a line now. */
  boundaries(): BoundarySet {
    if (this.delimitersDirty) {
      this.delimitersDirty = false;
      const list: { index: number; delim: Buffer }[] = [];
      for (let k = this.stack.length - 1; k >= 0; k--) {
        const f = this.stack[k]!;
        if (f.delim && f.mp !== 'epilogue') list.push({ index: k, delim: f.delim });
      }
      this.delimiters.reset(list);
    }
    return this.delimiters;
  }

  /** The current part's header section was too long: the rest is body. */
  markHeaderTruncated(): void {
    this.top.part.flags |= PART_FLAGS.headerTruncated;
  }

  /** The current part's header section is `header`; its body starts at bodyStart, after `lf` line feeds. */
  endHeader(header: Buffer, bodyStart: number, lf: number): void {
    const frame = this.top;
    const fields = parseHeaderFields(header);
    this.metadata += applyPartHeader(frame.part, fields, MAX_METADATA_BYTES - this.metadata);
    if (frame.part === this.root) {
      this.rootHeader = fields;
      this.rootEnvelope = imapEnvelope(fields);
    } else if (frame.encapsulated) {
      const env = imapEnvelope(fields);
      const bytes = envelopeBytes(env);
      const parent = this.stack[this.stack.length - 2];
      if (this.metadata + bytes <= MAX_METADATA_BYTES && parent?.part.message) {
        this.metadata += bytes;
        parent.part.message.envelope = env;
      } else frame.part.flags |= PART_FLAGS.metadataDropped;
    }
    this.enterBody(frame, bodyStart, lf);
  }

  private enterBody(frame: Frame, bodyStart: number, lf: number): void {
    const p = frame.part;
    frame.phase = 'body';
    p.bodyStart = bodyStart;
    p.bodyEnd = bodyStart;
    frame.bodyLf = lf;
    if (isMultipart(p)) {
      const delim = boundaryDelimiter(p, MAX_BOUNDARY_LENGTH);
      if (frame.depth >= MAX_DEPTH) p.flags |= PART_FLAGS.tooDeep;
      else if (delim) {
        frame.delim = delim;
        frame.mp = 'preamble';
        this.delimitersDirty = true;
      }
      return;
    }
    if (isEncapsulatedMessage(p)) {
      if (frame.depth >= MAX_DEPTH) p.flags |= PART_FLAGS.tooDeep;
      else if (this.parts >= MAX_PARTS) p.flags |= PART_FLAGS.tooManyParts;
      else {
        const body = newPart(bodyStart, TEXT_PLAIN);
        this.parts++;
        p.message = { envelope: EMPTY_ENVELOPE, body };
        this.stack.push({ part: body, depth: frame.depth + 1, phase: 'header', bodyLf: lf, encapsulated: true });
        return;
      }
    }
    // A leaf: who wants its octets.
    const decoder = isEncodingTransformed(p.encoding) ? transferDecoder(p.encoding) : undefined;
    if (decoder) {
      frame.decoder = decoder;
      frame.decoded = 0;
    }
    frame.text = this.text.begin({ type: p.type, subtype: p.subtype, charset: paramValue(p.params, 'charset') });
  }

  /** Whether the current part wants its body octets (a leaf whose size or text is computed). */
  wantsBody(): boolean {
    const f = this.top;
    return f.decoder !== undefined || (f.text === true && this.text.wants());
  }

  /** Body octets of the current part, in order: decoded once, for both its size and its text. */
  body(b: Buffer): void {
    if (b.length === 0) return;
    const f = this.top;
    const text = f.text === true && this.text.wants();
    if (f.decoder) {
      if (text) {
        const d = f.decoder.push(b);
        f.decoded! += d.length;
        this.text.data(d);
      } else f.decoded! += f.decoder.count(b);
    } else if (text) this.text.data(b);
  }

  /**
   * A delimiter line of the multipart at stack[index] (see BoundarySet.match).
   * `header`: the current part's header octets, if it is still in its header section.
   */
  delimiter(index: number, close: boolean, at: DelimiterAt, header: Buffer): void {
    let { end, endLf } = at;
    while (this.stack.length - 1 > index) {
      // A part opened by the previous line (a delimiter) starts after that
      // line's break, which now belongs to this delimiter: it is empty, and
      // the parts around it end where it starts, at this line.
      if (this.closeTop(end, endLf, header) > end) {
        end = at.lineStart;
        endLf = at.lineLf;
      }
    }
    const m = this.stack[index]!;
    if (close) {
      m.mp = 'epilogue';
      this.delimitersDirty = true;
      return;
    }
    if (this.parts >= MAX_PARTS) {
      m.part.flags |= PART_FLAGS.tooManyParts;
      m.mp = 'skip';
      return;
    }
    const child = newPart(at.next, m.part.subtype.toLowerCase() === 'digest' ? MESSAGE_RFC822 : TEXT_PLAIN);
    this.parts++;
    m.part.children.push(child);
    m.mp = 'child';
    this.stack.push({ part: child, depth: m.depth + 1, phase: 'header', bodyLf: 0 });
  }

  /**
   * Ends the current part at `end` (its body cannot end before it starts);
   * `endLf` line feeds precede `end`. Returns where it ended.
   */
  private closeTop(end: number, endLf: number, header: Buffer): number {
    const f = this.top;
    if (f.phase === 'header') {
      const start = f.part.headerStart;
      this.endHeader(header.subarray(0, Math.max(0, end - start)), Math.max(end, start), endLf);
      // The body part of an encapsulated message was opened: it ends here too.
      if (this.top !== f) this.closeTop(end, endLf, header.subarray(0, 0));
    }
    this.stack.pop();
    if (f.delim && f.mp !== 'epilogue') this.delimitersDirty = true;
    const p = f.part;
    p.bodyEnd = Math.max(end, p.bodyStart);
    p.lines = p.bodyEnd > p.bodyStart ? endLf - f.bodyLf : 0;
    if (f.decoder) {
      const rest = f.decoder.finish();
      p.binarySize = f.decoded! + rest.length;
      if (f.text && this.text.wants()) this.text.data(rest);
    }
    if (f.text) this.text.end();
    if (f.delim && f.mp !== 'epilogue') p.flags |= PART_FLAGS.unterminated;
    return p.bodyEnd;
  }

  /** The message ended at `size`, after `lf` line feeds: every open part ends there. */
  end(size: number, lf: number, header: Buffer): ParsedMessage {
    while (this.stack.length > 0) this.closeTop(size, lf, header);
    return { root: this.root, header: this.rootHeader, envelope: this.rootEnvelope, bodyText: this.text.text(), size };
  }
}
