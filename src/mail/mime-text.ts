/**
 * The text of a message for the full-text index: text/plain and text/html
 * parts (RFC 2046 4.1), their transfer encoding undone, converted from their
 * charset, HTML reduced to its text. Collected while the MIME parser streams
 * the message, within a byte budget, so memory stays bounded whatever the
 * message's size.
 */
import { decodeCharset } from './mime-decode.ts';

/** Octets of HTML collected per part at most, before tags are stripped. */
const MAX_HTML_BYTES = 256 * 1024;

export interface TextPartInfo {
  type: string;
  subtype: string;
  charset: string | undefined;
}

/** The UTF-8 prefix of s of at most maxBytes octets, never cutting a character. */
export function truncateUtf8(s: string, maxBytes: number): string {
  if (s.length * 3 <= maxBytes) return s;
  const b = Buffer.from(s, 'utf8');
  if (b.length <= maxBytes) return s;
  let end = Math.max(0, maxBytes);
  while (end > 0 && (b[end]! & 0xc0) === 0x80) end--;
  return b.subarray(0, end).toString('utf8');
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/**
 * HTML -> text, linear: tags become spaces, comments, script and style
 * elements go, the common character references are decoded.
 */
export function htmlToText(html: string): string {
  const lower = html.toLowerCase();
  let out = '';
  let i = 0;
  while (i < html.length) {
    const lt = html.indexOf('<', i);
    if (lt < 0) {
      out += html.slice(i);
      break;
    }
    out += html.slice(i, lt);
    out += ' ';
    if (html.startsWith('<!--', lt)) {
      const end = html.indexOf('-->', lt + 4);
      i = end < 0 ? html.length : end + 3;
      continue;
    }
    const gt = html.indexOf('>', lt);
    if (gt < 0) break; // an unterminated tag: the rest is markup
    const name = /^<\s*([a-z0-9]+)/.exec(lower.slice(lt, Math.min(gt + 1, lt + 16)))?.[1];
    if (name === 'script' || name === 'style') {
      const close = lower.indexOf(`</${name}`, gt);
      const closeEnd = close < 0 ? -1 : html.indexOf('>', close);
      i = closeEnd < 0 ? html.length : closeEnd + 1;
      continue;
    }
    i = gt + 1;
  }
  return out.replace(/&(#[xX][0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-zA-Z]{2,6});/g, (m: string, ref: string) => {
    if (ref[0] === '#') {
      const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return code > 0 && code <= 0x10ffff && (code < 0xd800 || code > 0xdfff) ? String.fromCodePoint(code) : ' ';
    }
    return ENTITIES[ref.toLowerCase()] ?? m;
  });
}

/** Collects the text of the parts handed to it, at most `budget` UTF-8 octets in all. */
export class BodyTextCollector {
  private readonly pieces: string[] = [];
  private used = 0;
  private part: { html: boolean; charset: string | undefined; bufs: Buffer[]; bytes: number; cap: number } | undefined;

  constructor(private readonly budget: number) {}

  /** Starts a leaf part; returns whether its body octets are wanted (data() calls). */
  begin(info: TextPartInfo): boolean {
    this.part = undefined;
    const remaining = this.budget - this.used;
    if (remaining <= 0 || info.type.toLowerCase() !== 'text') return false;
    const sub = info.subtype.toLowerCase();
    if (sub !== 'plain' && sub !== 'html') return false;
    const html = sub === 'html';
    const cap = html ? Math.min(MAX_HTML_BYTES, remaining * 4) : remaining;
    this.part = { html, charset: info.charset, bufs: [], bytes: 0, cap };
    return true;
  }

  /** Whether the current part still wants octets (false once its share of the budget is full). */
  wants(): boolean {
    return this.part !== undefined && this.part.bytes < this.part.cap;
  }

  /** Body octets of the current part, transfer encoding undone. */
  data(decoded: Buffer): void {
    const p = this.part;
    if (!p || p.bytes >= p.cap) return;
    const take = decoded.subarray(0, p.cap - p.bytes);
    // A copy: `chunk` may be a view into a larger buffer the caller keeps.
    p.bufs.push(Buffer.from(take));
    p.bytes += take.length;
  }

  /** Ends the current part: its text joins the collection. */
  end(): void {
    const p = this.part;
    this.part = undefined;
    if (!p) return;
    let text = decodeCharset(Buffer.concat(p.bufs), p.charset);
    // Runs of whitespace (HTML leaves many) count once; single ones stay as they are (cheaper).
    if (p.html) text = htmlToText(text).replace(/[ \t\r\n]{2,}/g, ' ');
    if (text.includes('\u0000')) text = text.replace(/\u0000/g, '');
    text = text.trim();
    if (text === '') return;
    text = truncateUtf8(text, this.budget - this.used - (this.pieces.length ? 1 : 0));
    if (text === '') return;
    this.pieces.push(text);
    this.used += Buffer.byteLength(text) + (this.pieces.length > 1 ? 1 : 0);
  }

  /** Octets held right now (for the memory bound tests). */
  heldBytes(): number {
    return (this.part?.bytes ?? 0) + this.used;
  }

  text(): string {
    return this.pieces.join(' ');
  }
}
