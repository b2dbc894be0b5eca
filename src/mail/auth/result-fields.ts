/**
 * The header fields that report the results to the recipient: the
 * Authentication-Results field (RFC 8601 2.2), one resinfo clause per method
 * result, and the Received-SPF field (RFC 7208 9.1); values quoted where
 * their grammar wants it, comments escaped, lines folded (RFC 5322 2.1.1).
 */
import { isIP } from 'node:net';
import type { ArcOutcome } from './arc.ts';
import type { DkimOutcome } from './dkim.ts';
import type { SpfOutcome } from './spf.ts';
import type { AuthenticateOptions } from './types.ts';

/** One resinfo of Authentication-Results (RFC 8601 2.2): method=result (comment) ptype.property=pvalue... */
export interface Clause {
  method: string;
  result: string;
  comment?: string;
  props: Array<[string, string]>;
}

/** Longest comment / property value we copy into a header field. */
const MAX_COMMENT_CHARS = 200;
const MAX_VALUE_CHARS = 256;

function clean(s: string, max: number): string {
  const t = s
    .replace(/[\x00-\x1f\x7f]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return t.length > max ? `${t.slice(0, max - 3)}...` : t;
}

/** Comment words (RFC 5322 3.2.2 ccontent: `(`, `)`, `\` escaped), split where folding may happen. */
function commentAtoms(comment: string | undefined): string[] {
  const text = clean(comment ?? '', MAX_COMMENT_CHARS).replace(/[()\\]/g, (c) => `\\${c}`);
  if (!text) return [];
  const words = text.split(' ');
  words[0] = `(${words[0]}`;
  words[words.length - 1] = `${words[words.length - 1]})`;
  return words;
}

const RFC2045_TOKEN = /^[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+$/;
const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+(?:\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+)*$/;
const DOMAIN_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/;

function quoted(s: string): string {
  return `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/** `s` cleaned up: as is when it matches `bare`, else a quoted-string. */
function bareOrQuoted(s: string, bare: RegExp): string {
  const v = clean(s, MAX_VALUE_CHARS);
  return bare.test(v) ? v : quoted(v);
}

/** RFC 2045 value: token or quoted-string. */
function valueText(s: string): string {
  return bareOrQuoted(s, RFC2045_TOKEN);
}

/** RFC 8601 2.2 pvalue: value, or [[local-part] "@"] domain-name unquoted. */
function pvalueText(s: string): string {
  const v = clean(s, MAX_VALUE_CHARS);
  if (RFC2045_TOKEN.test(v)) return v;
  const at = v.lastIndexOf('@');
  if (at >= 0) {
    const local = v.slice(0, at);
    const domain = v.slice(at + 1);
    if ((local === '' || DOT_ATOM.test(local)) && DOMAIN_NAME.test(domain)) return v;
  }
  return quoted(v);
}

/** RFC 7208 9.1 key-value-pair value: dot-atom or quoted-string. */
function spfValueText(s: string): string {
  return bareOrQuoted(s, DOT_ATOM);
}

const FOLD_AT = 78;

/** Packs atoms onto lines of at most 78 characters where the atoms allow (RFC 5322 2.1.1). */
function foldAtoms(first: string, atoms: string[], indent: string, lines: string[]): void {
  let line = first;
  for (const atom of atoms) {
    if (line.trim() !== '' && line.length + 1 + atom.length > FOLD_AT) {
      lines.push(line);
      line = indent + atom;
    } else {
      line = line.trim() === '' ? line + atom : `${line} ${atom}`;
    }
  }
  lines.push(line);
}

/** The field text: every line CRLF-terminated. */
function crlfLines(lines: string[]): string {
  return lines.map((l) => `${l}\r\n`).join('');
}

function clauseAtoms(c: Clause): string[] {
  return [
    `${c.method}=${c.result}`,
    ...commentAtoms(c.comment),
    ...c.props.map(([k, v]) => `${k}=${pvalueText(v)}`),
  ];
}

/** `Authentication-Results: <authserv-id>;` then one resinfo per line (RFC 8601 2.2). */
export function formatAuthenticationResults(authservId: string, clauses: Clause[]): string {
  const lines: string[] = [`Authentication-Results: ${valueText(authservId || 'localhost')};`];
  clauses.forEach((c, i) => {
    const atoms = clauseAtoms(c);
    if (i < clauses.length - 1) atoms[atoms.length - 1] += ';';
    foldAtoms(' ', atoms, '   ', lines);
  });
  return crlfLines(lines);
}

/** RFC 7208 9.1: `Received-SPF: result (comment) key=value; ...`. */
export function formatReceivedSpf(spf: SpfOutcome, opts: AuthenticateOptions): string {
  const pairs: string[] = [`client-ip=${spfValueText(opts.ip)}`];
  if (opts.mailFrom?.trim()) pairs.push(`envelope-from=${spfValueText(opts.mailFrom.trim())}`);
  if (spf.helo) pairs.push(`helo=${spfValueText(spf.helo)}`);
  pairs.push(`receiver=${spfValueText(opts.hostname || 'localhost')}`);
  pairs.push(`identity=${opts.mailFrom?.trim() ? 'mailfrom' : 'helo'}`);
  const atoms = [spf.result, ...commentAtoms(spf.comment), ...pairs.map((p) => `${p};`)];
  const lines: string[] = [];
  foldAtoms('Received-SPF:', atoms, ' ', lines);
  return crlfLines(lines);
}

/** RFC 8601 2.7.2: smtp.mailfrom (postmaster@HELO for `<>`) and smtp.helo. */
export function spfClause(spf: SpfOutcome): Clause {
  const props: Array<[string, string]> = [];
  if (spf.sender) props.push(['smtp.mailfrom', spf.sender]);
  if (spf.helo) props.push(['smtp.helo', spf.helo]);
  return { method: 'spf', result: spf.result, comment: spf.comment, props };
}

/** RFC 8601 2.7.1: one clause per signature, with header.d and header.s; `none` when unsigned. */
export function dkimClauses(dkim: DkimOutcome): Clause[] {
  if (dkim.signatures.length === 0) return [{ method: 'dkim', result: 'none', comment: 'message not signed', props: [] }];
  return dkim.signatures.map((s) => {
    const props: Array<[string, string]> = [];
    if (s.domain) props.push(['header.d', s.domain]);
    if (s.selector) props.push(['header.s', s.selector]);
    return { method: 'dkim', result: s.result, comment: s.result === 'pass' ? undefined : s.comment, props };
  });
}

/** The `arc` method that RFC 8617 registers for Authentication-Results, with smtp.remote-ip. */
export function arcClause(arc: ArcOutcome, ip: string): Clause {
  const props: Array<[string, string]> = isIP(ip) ? [['smtp.remote-ip', ip]] : [];
  return { method: 'arc', result: arc.result, comment: arc.comment, props };
}
