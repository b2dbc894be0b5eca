/**
 * RFC 5321 4.1.2 Mail-parameters / Rcpt-parameters:
 *
 *   esmtp-param   = esmtp-keyword ["=" esmtp-value]
 *   esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
 *   esmtp-value   = 1*(%d33-60 / %d62-126)      ; RFC 6531 3.3: / UTF8-non-ascii
 *
 * Keywords are case-insensitive (RFC 5321 2.4). A keyword we do not know, or
 * one that belongs to the other command, is refused with 555 5.5.4 (RFC 5321
 * 4.1.1.11); a bad value or a repeated keyword with 501 5.5.4.
 *
 * The parser knows every parameter; which extensions are in effect (SIZE only
 * if advertised, BODY=BINARYMIME only with CHUNKING, ...) is the session's
 * business. The exception is SMTPUTF8, whose setting the parser is given.
 */
import { ARGUMENT_SYNTAX, MESSAGE_TOO_BIG, UNRECOGNIZED_PARAMETER } from '../replies.ts';
import type { MailParams, NotifyCondition, OriginalRecipient, ParseOptions, RcptParams } from './command.ts';
import { asciiUpper, fail, isAtext, isNonAscii, type Scanner } from './scanner.ts';

export interface EsmtpParam {
  /** Upper case. */
  readonly keyword: string;
  readonly value: string | undefined;
}

function syntax(text: string): never {
  return fail(ARGUMENT_SYNTAX, text);
}

/** *(SP esmtp-param) after a path: the rest of the line. */
export function esmtpParams(sc: Scanner): EsmtpParam[] {
  const out: EsmtpParam[] = [];
  while (!sc.done()) {
    if (sc.spaces() === 0) syntax('Expected a space before the parameters');
    if (!sc.done()) out.push(esmtpParam(sc));
  }
  return out;
}

/** esmtp-param = esmtp-keyword ["=" esmtp-value] */
function esmtpParam(sc: Scanner): EsmtpParam {
  const keyword = esmtpKeyword(sc);
  const value = sc.literal('=') ? esmtpValue(sc) : undefined;
  if (!sc.done() && sc.peek() !== ' ') syntax(`Invalid parameter ${keyword}`);
  return { keyword, value };
}

/** esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-") */
function esmtpKeyword(sc: Scanner): string {
  const keyword = sc.takeWhile((ch) => /^[A-Za-z0-9-]$/.test(ch));
  if (!keyword || keyword.startsWith('-')) syntax('Invalid parameter syntax (RFC 5321 4.1.2: keyword[=value])');
  return asciiUpper(keyword);
}

/** esmtp-value = 1*(%d33-60 / %d62-126 / UTF8-non-ascii): anything but SP, "=" and controls. */
function esmtpValue(sc: Scanner): string {
  const value = sc.takeWhile((ch) => /^[\x21-\x3c\x3e-\x7e]$/.test(ch) || isNonAscii(ch));
  if (!value) syntax('Empty parameter value');
  return value;
}

// --- xtext ------------------------------------------------------------------

/**
 * RFC 3461 4: xtext = *( xchar / hexchar ); xchar = "!".."~" except "+" and
 * "="; hexchar = "+" 2HEXDIG. The RFC asks for upper-case hex digits; lower
 * case is accepted too. The decoded text must be printable ASCII (SP allowed,
 * as in a quoted local part): undefined otherwise.
 */
export function decodeXtext(value: string): string | undefined {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x2b) {
      const hex = value.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
      const b = parseInt(hex, 16);
      if (b < 0x20 || b > 0x7e) return undefined;
      out += String.fromCharCode(b);
      i += 2;
    } else if (c >= 0x21 && c <= 0x7e && c !== 0x3d) {
      out += value[i];
    } else {
      return undefined;
    }
  }
  return out;
}

/**
 * RFC 6533 3, the ORCPT value of addr-type "utf-8":
 *   utf-8-addr-xtext   = 1*(QCHAR / EmbeddedUnicodeChar)
 *   utf-8-addr-unitext = 1*(QUCHAR / EmbeddedUnicodeChar)   ; SMTPUTF8 only
 *   QCHAR = %x21-2a / %x2c-3c / %x3e-5b / %x5d-7e
 *   EmbeddedUnicodeChar = "\x{" HEXPOINT "}"
 */
export function decodeUtf8AddrText(value: string, utf8: boolean): string | undefined {
  let out = '';
  let i = 0;
  while (i < value.length) {
    if (value.startsWith('\\x{', i)) {
      const end = value.indexOf('}', i);
      const hex = end < 0 ? '' : value.slice(i + 3, end);
      if (!/^[0-9A-Fa-f]{1,6}$/.test(hex)) return undefined;
      const cp = parseInt(hex, 16);
      if (cp < 0x20 || cp === 0x7f || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return undefined;
      out += String.fromCodePoint(cp);
      i = end + 1;
      continue;
    }
    const cp = value.codePointAt(i) ?? 0;
    const qchar = cp >= 0x21 && cp <= 0x7e && cp !== 0x2b && cp !== 0x3d && cp !== 0x5c;
    if (!qchar && !(utf8 && cp > 0x7f)) return undefined;
    const ch = String.fromCodePoint(cp);
    out += ch;
    i += ch.length;
  }
  return out || undefined;
}

// --- parameter tables ------------------------------------------------------------

type Handler<P> = (value: string | undefined, params: P, opts: ParseOptions, keyword: string) => void;

function required(keyword: string, value: string | undefined): string {
  if (value === undefined) syntax(`${keyword} requires a value`);
  return value;
}

function flag(keyword: string, value: string | undefined): true {
  if (value !== undefined) syntax(`${keyword} takes no value`);
  return true;
}

/** RFC 1870 4: size-value ::= 1*20DIGIT */
function sizeValue(value: string): number {
  if (!/^\d{1,20}$/.test(value)) syntax('SIZE must be a number of octets (RFC 1870)');
  const size = Number(value);
  // Syntactically fine but more than any server takes (RFC 1870 6.1: 552).
  if (!Number.isSafeInteger(size)) fail(MESSAGE_TOO_BIG, 'Declared message size exceeds the maximum');
  return size;
}

/** RFC 3461 4.4: "The ENVID ... MUST NOT exceed 100 characters"; 4.2: ORCPT 500. */
const MAX_ENVID = 100;
const MAX_ORCPT = 500;

const MAIL_PARAMS: ReadonlyMap<string, Handler<MailParams>> = new Map<string, Handler<MailParams>>([
  ['SIZE', (v, p, _o, k) => {
    p.size = sizeValue(required(k, v));
  }],
  [
    // RFC 6152 2, RFC 3030 3: BODY=7BIT / 8BITMIME / BINARYMIME.
    'BODY',
    (v, p, _o, k) => {
      const body = asciiUpper(required(k, v));
      if (body !== '7BIT' && body !== '8BITMIME' && body !== 'BINARYMIME') syntax('BODY must be 7BIT, 8BITMIME or BINARYMIME');
      p.body = body;
    },
  ],
  [
    // RFC 6531 3.4: unknown unless the extension is in effect.
    'SMTPUTF8',
    (v, p, o, k) => {
      if (!o.smtputf8Allowed) fail(UNRECOGNIZED_PARAMETER, 'SMTPUTF8 not available');
      p.smtputf8 = flag(k, v);
    },
  ],
  [
    // RFC 3461 4.3: RET=FULL / HDRS.
    'RET',
    (v, p, _o, k) => {
      const ret = asciiUpper(required(k, v));
      if (ret !== 'FULL' && ret !== 'HDRS') syntax('RET must be FULL or HDRS (RFC 3461 4.3)');
      p.ret = ret;
    },
  ],
  [
    // RFC 3461 4.4: ENVID=xtext.
    'ENVID',
    (v, p, _o, k) => {
      const raw = required(k, v);
      const envid = raw.length <= MAX_ENVID ? decodeXtext(raw) : undefined;
      if (!envid) syntax('ENVID must be 1 to 100 characters of xtext (RFC 3461 4.4)');
      p.envid = envid;
    },
  ],
  [
    // RFC 4954 5: AUTH=xtext, an addr-spec or "<>".
    'AUTH',
    (v, p, _o, k) => {
      const auth = decodeXtext(required(k, v));
      if (!auth) syntax('AUTH= must be xtext (RFC 4954 5)');
      p.auth = auth;
    },
  ],
  // RFC 8689 4: REQUIRETLS takes no value.
  ['REQUIRETLS', (v, p, _o, k) => {
    p.requiretls = flag(k, v);
  }],
]);

const NOTIFY_CONDITIONS: readonly string[] = ['SUCCESS', 'FAILURE', 'DELAY'];

/** RFC 3461 4.1: NOTIFY = "NEVER" / 1#( "SUCCESS" / "FAILURE" / "DELAY" ). Repeated conditions are merged. */
function notifyValue(value: string): 'NEVER' | NotifyCondition[] {
  const items = asciiUpper(value).split(',');
  if (items.length === 1 && items[0] === 'NEVER') return 'NEVER';
  const out: NotifyCondition[] = [];
  for (const item of items) {
    if (!NOTIFY_CONDITIONS.includes(item)) syntax('NOTIFY must be NEVER or a list of SUCCESS, FAILURE, DELAY (RFC 3461 4.1)');
    const cond = item as NotifyCondition;
    if (!out.includes(cond)) out.push(cond);
  }
  return out;
}

/** RFC 3461 4.2: ORCPT = addr-type ";" xtext; addr-type is an atom. */
function orcptValue(value: string, opts: ParseOptions): OriginalRecipient {
  const semi = value.indexOf(';');
  const atom = value.slice(0, Math.max(semi, 0));
  if (value.length > MAX_ORCPT || semi <= 0 || ![...atom].every(isAtext)) {
    syntax('ORCPT must be addr-type;address (RFC 3461 4.2)');
  }
  const addrType = atom.toLowerCase();
  const rest = value.slice(semi + 1);
  const address = addrType === 'utf-8' ? decodeUtf8AddrText(rest, opts.smtputf8Allowed) : decodeXtext(rest);
  if (!address) syntax('Invalid ORCPT address encoding (RFC 3461 4, RFC 6533 3)');
  return { addrType, address };
}

const RCPT_PARAMS: ReadonlyMap<string, Handler<RcptParams>> = new Map<string, Handler<RcptParams>>([
  ['NOTIFY', (v, p, _o, k) => {
    p.notify = notifyValue(required(k, v));
  }],
  ['ORCPT', (v, p, o, k) => {
    p.orcpt = orcptValue(required(k, v), o);
  }],
]);

function applyParams<P>(sc: Scanner, table: ReadonlyMap<string, Handler<P>>, params: P, opts: ParseOptions): P {
  const seen = new Set<string>();
  for (const { keyword, value } of esmtpParams(sc)) {
    const handler = table.get(keyword);
    if (!handler) fail(UNRECOGNIZED_PARAMETER, `Parameter ${keyword} not recognized`);
    if (seen.has(keyword)) syntax(`Parameter ${keyword} given twice`);
    seen.add(keyword);
    handler(value, params, opts, keyword);
  }
  return params;
}

/** Mail-parameters = esmtp-param *(SP esmtp-param) */
export function mailParameters(sc: Scanner, opts: ParseOptions): MailParams {
  return applyParams<MailParams>(sc, MAIL_PARAMS, {}, opts);
}

/** Rcpt-parameters = esmtp-param *(SP esmtp-param) */
export function rcptParameters(sc: Scanner, opts: ParseOptions): RcptParams {
  return applyParams<RcptParams>(sc, RCPT_PARAMS, {}, opts);
}
