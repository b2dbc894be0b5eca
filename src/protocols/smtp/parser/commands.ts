/**
 * The table of commands: verb -> argument grammar. The scanner given to each
 * parser stands right after the verb; the line has no CRLF and no trailing
 * spaces.
 */
import { ARGUMENT_SYNTAX, BAD_BASE64, NON_ASCII_ADDRESS } from '../replies.ts';
import type { Host, ParseOptions, SmtpCommand, SmtpVerb } from './command.ts';
import { addressLiteral, domain } from './domain.ts';
import { mailParameters, rcptParameters } from './params.ts';
import { forwardPath, pathContext, reversePath } from './path.ts';
import { fail, isDIGIT, type Scanner } from './scanner.ts';

export interface CommandSpec {
  readonly parse: (sc: Scanner, opts: ParseOptions) => SmtpCommand;
  /** Where the command exists: SMTP, LMTP (RFC 2033 4.1: LHLO replaces HELO and EHLO) or both. */
  readonly in: 'smtp' | 'lmtp' | 'both';
  /**
   * The arguments are or may be addresses: without SMTPUTF8, non-ASCII in them
   * is answered with 553 5.6.7 (RFC 6531 3.5) rather than a syntax error.
   */
  readonly addresses: boolean;
}

function syntax(text: string): never {
  return fail(ARGUMENT_SYNTAX, text);
}

/** SP before the arguments, which must be there. */
function argumentsStart(sc: Scanner, usage: string): void {
  if (sc.spaces() === 0 || sc.done()) syntax(`Syntax: ${usage}`);
}

function noArguments(verb: 'DATA' | 'RSET' | 'QUIT' | 'STARTTLS') {
  return (sc: Scanner): SmtpCommand => {
    if (!sc.done()) syntax(`${verb} takes no arguments`);
    return { verb };
  };
}

/**
 * RFC 5321 4.1.1.1: ehlo = "EHLO" SP ( Domain / address-literal ); helo =
 * "HELO" SP Domain (we also take an address literal there, as every server
 * does); RFC 2033 4.1: LHLO as EHLO.
 */
function hello(verb: 'EHLO' | 'HELO' | 'LHLO') {
  return (sc: Scanner, opts: ParseOptions): SmtpCommand => {
    argumentsStart(sc, `${verb} hostname`);
    const host: Host =
      sc.peek() === '['
        ? addressLiteral(sc, syntax)
        : { kind: 'domain', domain: domain(sc, { utf8: opts.smtputf8Allowed, underscore: true, fail: syntax }) };
    if (!sc.done()) syntax(`Syntax: ${verb} hostname`);
    return { verb, host };
  };
}

/**
 * RFC 5321 4.1.1.2: mail = "MAIL FROM:" Reverse-path [SP Mail-parameters].
 * RFC 5321 says no space after the colon, but `MAIL FROM: <a@b>` is common
 * and unambiguous, so spaces there are accepted. Not before the colon.
 */
function mail(sc: Scanner, opts: ParseOptions): SmtpCommand {
  if (sc.spaces() === 0 || !sc.literal('FROM:')) syntax('Syntax: MAIL FROM:<address>');
  sc.spaces();
  const path = reversePath(sc, pathContext('sender', opts.smtputf8Allowed));
  const params = mailParameters(sc, opts);
  // RFC 6531 3.4: a non-ASCII reverse-path needs the SMTPUTF8 parameter.
  if (path?.utf8 && !params.smtputf8) fail(NON_ASCII_ADDRESS, 'Non-ASCII sender address requires the SMTPUTF8 parameter');
  return { verb: 'MAIL', reversePath: path, params };
}

/** RFC 5321 4.1.1.3: rcpt = "RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" / Forward-path ) [SP Rcpt-parameters] */
function rcpt(sc: Scanner, opts: ParseOptions): SmtpCommand {
  if (sc.spaces() === 0 || !sc.literal('TO:')) syntax('Syntax: RCPT TO:<address>');
  sc.spaces();
  const path = forwardPath(sc, pathContext('recipient', opts.smtputf8Allowed));
  return { verb: 'RCPT', forwardPath: path, params: rcptParameters(sc, opts) };
}

/** RFC 3030 2: bdat-cmd = "BDAT" SP chunk-size [ SP end-marker ]; chunk-size = 1*DIGIT; end-marker = "LAST" */
function bdat(sc: Scanner): SmtpCommand {
  argumentsStart(sc, 'BDAT size [LAST]');
  const digits = sc.takeWhile(isDIGIT);
  if (!digits) syntax('Syntax: BDAT size [LAST]');
  const size = Number(digits);
  if (!Number.isSafeInteger(size)) syntax('BDAT chunk size too large');
  let last = false;
  if (!sc.done()) {
    if (sc.spaces() === 0 || !sc.literal('LAST') || !sc.done()) syntax('Syntax: BDAT size [LAST]');
    last = true;
  }
  return { verb: 'BDAT', size, last };
}

/** RFC 4422 3.1: sasl-mech = 1*20mech-char; mech-char = UPPER-ALPHA / DIGIT / HYPHEN / UNDERSCORE (lower case accepted). */
const isMechChar = (ch: string): boolean => /^[A-Za-z0-9_-]$/.test(ch);
/** RFC 4648 4 base64, padded. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** RFC 4954 4: auth = "AUTH" SP sasl-mech [SP initial-response]; initial-response = base64 / "=" */
function auth(sc: Scanner): SmtpCommand {
  argumentsStart(sc, 'AUTH mechanism [initial-response]');
  const mechanism = sc.takeWhile(isMechChar).toUpperCase();
  if (mechanism.length < 1 || mechanism.length > 20 || (!sc.done() && sc.peek() !== ' ')) {
    syntax('Invalid SASL mechanism name (RFC 4422 3.1)');
  }
  if (sc.done()) return { verb: 'AUTH', mechanism };
  sc.spaces();
  const response = sc.rest();
  if (response === '=') return { verb: 'AUTH', mechanism, initialResponse: '' };
  // RFC 4954 4: an initial response that is no base64 is refused with 501.
  if (!BASE64.test(response)) fail(BAD_BASE64, 'Cannot decode base64 initial response');
  return { verb: 'AUTH', mechanism, initialResponse: response };
}

/**
 * RFC 5321 4.1.1.6/4.1.1.7: "VRFY" SP String; RFC 6531 3.7.4.2 adds
 * [SP "SMTPUTF8"]. The String is taken as it is (RFC 5321 3.5.3 lets servers
 * interpret it: a user name, a mailbox, "Full Name <mailbox>").
 */
function verify(verb: 'VRFY' | 'EXPN') {
  return (sc: Scanner, opts: ParseOptions): SmtpCommand => {
    argumentsStart(sc, `${verb} string`);
    let argument = sc.rest();
    const utf8Param = / +SMTPUTF8$/i.exec(argument);
    const smtputf8 = opts.smtputf8Allowed && utf8Param !== null;
    if (smtputf8) argument = argument.slice(0, utf8Param?.index);
    if (!argument) syntax(`Syntax: ${verb} string`);
    return { verb, argument, smtputf8 };
  };
}

/** RFC 5321 4.1.1.8: help = "HELP" [ SP String ] */
function help(sc: Scanner): SmtpCommand {
  sc.spaces();
  const topic = sc.rest();
  return topic ? { verb: 'HELP', topic } : { verb: 'HELP' };
}

/** RFC 5321 4.1.1.9: noop = "NOOP" [ SP String ]; the string is ignored. */
function noop(sc: Scanner): SmtpCommand {
  sc.rest();
  return { verb: 'NOOP' };
}

export const COMMANDS: ReadonlyMap<string, CommandSpec> = new Map<SmtpVerb, CommandSpec>([
  ['EHLO', { parse: hello('EHLO'), in: 'smtp', addresses: false }],
  ['HELO', { parse: hello('HELO'), in: 'smtp', addresses: false }],
  ['LHLO', { parse: hello('LHLO'), in: 'lmtp', addresses: false }],
  ['MAIL', { parse: mail, in: 'both', addresses: true }],
  ['RCPT', { parse: rcpt, in: 'both', addresses: true }],
  ['DATA', { parse: noArguments('DATA'), in: 'both', addresses: false }],
  ['BDAT', { parse: bdat, in: 'both', addresses: false }],
  ['RSET', { parse: noArguments('RSET'), in: 'both', addresses: false }],
  ['NOOP', { parse: noop, in: 'both', addresses: false }],
  ['QUIT', { parse: noArguments('QUIT'), in: 'both', addresses: false }],
  ['VRFY', { parse: verify('VRFY'), in: 'both', addresses: true }],
  ['EXPN', { parse: verify('EXPN'), in: 'both', addresses: true }],
  ['HELP', { parse: help, in: 'both', addresses: false }],
  ['STARTTLS', { parse: noArguments('STARTTLS'), in: 'both', addresses: false }],
  ['AUTH', { parse: auth, in: 'both', addresses: false }],
]);
