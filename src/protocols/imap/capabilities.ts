/**
 * The CAPABILITY list (RFC 9051 6.1.1, 7.2.2): only what works in this
 * build. It depends on the connection: before login it offers STARTTLS and
 * the login methods, or LOGINDISABLED without TLS (RFC 9051 6.2.3, 11.1);
 * after login those go (RFC 9051 7.2.2: the list may change after STARTTLS
 * and login, and is sent again in the OK of LOGIN/AUTHENTICATE).
 *
 * SEARCH brings ESEARCH (RFC 4731), SEARCHRES (RFC 5182) and WITHIN
 * (RFC 5032); SAVEDATE (RFC 8514) is not announced (its keys answer BAD).
 */
export interface CapabilityContext {
  /** The connection is encrypted (after STARTTLS, or implicit TLS). */
  tls: boolean;
  /** STARTTLS can be offered (TLS material is configured and not encrypted yet). */
  startTls: boolean;
  authenticated: boolean;
  /** auth.allowPlaintext: passwords may travel without TLS. */
  allowPlaintextAuth: boolean;
  /** APPENDLIMIT (RFC 7889 2). */
  appendLimit: number;
}

/** The capabilities, IMAP4rev2 first (RFC 9051 7.2.2: both revisions when the server speaks both, Appendix A). */
export function capabilityList(c: CapabilityContext): string[] {
  const caps = ['IMAP4rev2', 'IMAP4rev1'];
  if (!c.authenticated) {
    if (c.startTls) caps.push('STARTTLS');
    if (c.tls || c.allowPlaintextAuth) caps.push('AUTH=PLAIN', 'SASL-IR');
    else caps.push('LOGINDISABLED');
  }
  caps.push(
    'LITERAL+', // RFC 7888 3: {n+} of any size; one over a limit is skipped as it streams in (reader.ts)
    'ENABLE', // RFC 5161
    'ID', // RFC 2971
    'IDLE', // RFC 2177
    'NAMESPACE', // RFC 2342
    'CHILDREN', // RFC 3348
    'LIST-EXTENDED', // RFC 5258
    'LIST-STATUS', // RFC 5819
    'SPECIAL-USE', // RFC 6154
    'CREATE-SPECIAL-USE', // RFC 6154 3: CREATE (USE (...))
    'STATUS=SIZE', // RFC 8438
    'MULTIAPPEND', // RFC 3502
    'UIDPLUS', // RFC 4315: APPENDUID, COPYUID, UID EXPUNGE
    'MOVE', // RFC 6851
    'UNSELECT', // RFC 3691
    'BINARY', // RFC 3516: FETCH BINARY[...], APPEND literal8
    `APPENDLIMIT=${c.appendLimit}`, // RFC 7889
    'UTF8=ACCEPT', // RFC 6855
    'ESEARCH', // RFC 4731: SEARCH RETURN (MIN MAX ALL COUNT)
    'SEARCHRES', // RFC 5182: RETURN (SAVE) and "$"
    'WITHIN', // RFC 5032: OLDER, YOUNGER
    'CONDSTORE', // RFC 7162 3.1
    'QRESYNC', // RFC 7162 3.2 (ENABLE QRESYNC)
    'OBJECTID', // RFC 8474: MAILBOXID, EMAILID, THREADID (NIL)
  );
  return caps;
}
