/**
 * The typed SMTP/LMTP commands the parser produces. Handlers switch on `verb`
 * and never look at the command line themselves.
 */

/** RFC 5321 4.1.2 Domain / address-literal (4.1.3), as the peer named it. */
export type Host =
  /** Lower case, IDNs in A-label form (RFC 5890), no trailing dot. */
  | { readonly kind: 'domain'; readonly domain: string }
  /** RFC 5321 4.1.3 IPv4-address-literal, `[192.0.2.1]`: dotted quad without leading zeros. */
  | { readonly kind: 'ipv4'; readonly address: string }
  /** RFC 5321 4.1.3 IPv6-address-literal, `[IPv6:2001:db8::1]`: the address as written, lower case. */
  | { readonly kind: 'ipv6'; readonly address: string };

/** RFC 5321 4.1.2 Mailbox = Local-part "@" ( Domain / address-literal ). */
export interface Mailbox {
  readonly kind: 'mailbox';
  /**
   * The local part, decoded (quotes and backslashes of a Quoted-string
   * removed), case preserved (RFC 5321 2.4: local parts may be case-sensitive).
   */
  readonly local: string;
  /**
   * True when `local` is no Dot-string and so must be written as a
   * Quoted-string. `"john"@x` is the same mailbox as `john@x` (RFC 5321
   * 4.1.2) and has `quoted: false`.
   */
  readonly quoted: boolean;
  /** `host` as text: the domain (lower-case A-labels) or the address literal, `[192.0.2.1]`, `[IPv6:...]`. */
  readonly domain: string;
  readonly host: Host;
  /**
   * The address as written contains non-ASCII (RFC 6531). A MAIL with such a
   * reverse-path is accepted only with the SMTPUTF8 parameter; for RCPT the
   * session checks that its transaction has SMTPUTF8 (else NON_ASCII_ADDRESS).
   */
  readonly utf8: boolean;
}

/** RFC 5321 4.1.1.3: `RCPT TO:<Postmaster>` without a domain names the postmaster of this server. */
export interface LocalPostmaster {
  readonly kind: 'postmaster';
}

export type ReversePath = Mailbox | null;
export type ForwardPath = Mailbox | LocalPostmaster;

/** RFC 1652 / RFC 6152 / RFC 3030 BODY values. */
export type BodyType = '7BIT' | '8BITMIME' | 'BINARYMIME';

/** RFC 3461 4.1 NOTIFY conditions other than NEVER. */
export type NotifyCondition = 'SUCCESS' | 'FAILURE' | 'DELAY';

/** Parameters of MAIL (RFC 5321 4.1.2 Mail-parameters). Absent when not given. */
export interface MailParams {
  /** RFC 1870 SIZE: declared message size in octets. */
  size?: number;
  /** RFC 6152 BODY=8BITMIME, RFC 3030 BODY=BINARYMIME. */
  body?: BodyType;
  /** RFC 6531 3.4 SMTPUTF8. */
  smtputf8?: boolean;
  /** RFC 3461 4.3 RET. */
  ret?: 'FULL' | 'HDRS';
  /** RFC 3461 4.4 ENVID, xtext-decoded. */
  envid?: string;
  /** RFC 4954 5 AUTH=, xtext-decoded: an addr-spec, or '<>' for "unknown/none". */
  auth?: string;
  /** RFC 8689 4 REQUIRETLS. */
  requiretls?: boolean;
}

/** RFC 3461 4.2 ORCPT = addr-type ";" xtext. */
export interface OriginalRecipient {
  /** Lower case, e.g. 'rfc822' or 'utf-8' (RFC 6533 3). */
  readonly addrType: string;
  /** Decoded: xtext (RFC 3461 4) or, for utf-8, the \x{HEX} escapes of RFC 6533 3. */
  readonly address: string;
}

/** Parameters of RCPT (RFC 5321 4.1.2 Rcpt-parameters). */
export interface RcptParams {
  /** RFC 3461 4.1: 'NEVER' or a non-empty list of conditions. */
  notify?: 'NEVER' | readonly NotifyCondition[];
  orcpt?: OriginalRecipient;
}

export type HelloCommand = { readonly verb: 'EHLO' | 'HELO' | 'LHLO'; readonly host: Host };
export type MailCommand = { readonly verb: 'MAIL'; readonly reversePath: ReversePath; readonly params: MailParams };
export type RcptCommand = { readonly verb: 'RCPT'; readonly forwardPath: ForwardPath; readonly params: RcptParams };
/** RFC 3030 2: BDAT chunk-size [SP "LAST"]. */
export type BdatCommand = { readonly verb: 'BDAT'; readonly size: number; readonly last: boolean };
/** RFC 4954 4: AUTH mechanism [initial-response]. */
export type AuthCommand = {
  readonly verb: 'AUTH';
  /** Upper case (RFC 4422 3.1 mechanism names are upper case; we accept either). */
  readonly mechanism: string;
  /** Base64 text as sent (syntax checked, not decoded); '' when the client sent "=" (empty response); absent if none. */
  readonly initialResponse?: string;
};
/**
 * RFC 5321 4.1.1.6/4.1.1.7 with RFC 6531 3.7.4.2 [SP "SMTPUTF8"]. The argument
 * may be non-ASCII only when SMTPUTF8 is in effect; `smtputf8` says the client
 * asked for it on this command (so the reply may carry UTF-8).
 */
export type VerifyCommand = { readonly verb: 'VRFY' | 'EXPN'; readonly argument: string; readonly smtputf8: boolean };
export type HelpCommand = { readonly verb: 'HELP'; readonly topic?: string };
export type SimpleCommand = { readonly verb: 'DATA' | 'RSET' | 'NOOP' | 'QUIT' | 'STARTTLS' };

export type SmtpCommand =
  | HelloCommand
  | MailCommand
  | RcptCommand
  | BdatCommand
  | AuthCommand
  | VerifyCommand
  | HelpCommand
  | SimpleCommand;

export type SmtpVerb = SmtpCommand['verb'];

export interface ParseOptions {
  /**
   * SMTPUTF8 is in effect for this session (offered, and the client said
   * EHLO/LHLO). Without it, non-ASCII in MAIL, RCPT, VRFY or EXPN is refused
   * with 553 5.6.7 (RFC 6531 3.5) and the SMTPUTF8 parameter is unrecognized.
   */
  smtputf8Allowed: boolean;
  /** LMTP (RFC 2033): LHLO instead of HELO/EHLO. */
  lmtp: boolean;
}
