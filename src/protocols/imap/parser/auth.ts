/**
 * Commands of the not-authenticated state and ENABLE:
 *
 *   login        = "LOGIN" SP userid SP password            RFC 9051 6.2.3
 *   authenticate = "AUTHENTICATE" SP auth-type [SP initial-resp]   RFC 9051 6.2.2, SASL-IR RFC 4959
 *   initial-resp = (base64 / "=")
 *   enable       = "ENABLE" 1*(SP capability)                RFC 5161 3, RFC 9051 6.3.1
 *
 * The continuation lines of AUTHENTICATE are in continuation.ts.
 */
import { asciiUpper } from './chars.ts';
import { astringText, atom } from './primitives.ts';
import type { Scanner } from './scanner.ts';

export interface LoginCommand {
  readonly name: 'LOGIN';
  readonly tag: string;
  readonly userid: string;
  readonly password: string;
}

export interface AuthenticateCommand {
  readonly name: 'AUTHENTICATE';
  readonly tag: string;
  /** SASL mechanism name, upper case (RFC 4422 3.1). */
  readonly mechanism: string;
  /** SASL-IR initial response (RFC 4959 3): decoded; "=" is an empty response; null when absent. */
  readonly initialResponse: Buffer | null;
}

export interface EnableCommand {
  readonly name: 'ENABLE';
  readonly tag: string;
  /** Capability names, upper case, in the order given (RFC 5161 3). */
  readonly capabilities: readonly string[];
}

export function login(s: Scanner, tag: string): LoginCommand {
  s.sp();
  const userid = astringText(s, 'user name');
  s.sp();
  const password = astringText(s, 'password');
  return { name: 'LOGIN', tag, userid, password };
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict base64 (RFC 4648 4) as IMAP sends it (RFC 9051 9 base64), or null. */
export function decodeBase64(text: string): Buffer | null {
  return BASE64.test(text) ? Buffer.from(text, 'base64') : null;
}

export function authenticate(s: Scanner, tag: string): AuthenticateCommand {
  s.sp();
  const mechanism = asciiUpper(atom(s, 'a SASL mechanism'));
  let initialResponse: Buffer | null = null;
  if (s.eat(0x20)) {
    const text = atom(s, 'an initial response');
    const decoded = text === '=' ? Buffer.alloc(0) : decodeBase64(text);
    if (!decoded) s.fail('Initial response is not valid base64');
    initialResponse = decoded;
  }
  return { name: 'AUTHENTICATE', tag, mechanism, initialResponse };
}

export function enable(s: Scanner, tag: string): EnableCommand {
  const capabilities: string[] = [];
  do {
    s.sp();
    capabilities.push(asciiUpper(atom(s, 'a capability name')));
  } while (!s.atEnd());
  return { name: 'ENABLE', tag, capabilities };
}
