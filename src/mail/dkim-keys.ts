/**
 * DKIM signing keys: generating a key pair, and the DNS TXT record that
 * publishes its public half (RFC 6376 3.6.1, RFC 8463 for Ed25519).
 *
 *   rsa-sha256       p= is the RSA public key as SubjectPublicKeyInfo DER,
 *                    base64 (RFC 6376 3.6.1 and its example key in
 *                    appendix C; what every verifier reads).
 *   ed25519-sha256   p= is the raw 32-octet Ed25519 public key, base64
 *                    (RFC 8463 4.2), not the SubjectPublicKeyInfo.
 *
 * Private keys are PKCS#8 PEM, which node:crypto and mailauth read.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';

export type DkimAlgorithm = 'rsa-sha256' | 'ed25519-sha256';

export const DKIM_ALGORITHMS: readonly DkimAlgorithm[] = ['rsa-sha256', 'ed25519-sha256'];

/** RFC 8301 3.2: signers MUST use RSA keys of at least 1024 bits (and SHOULD use 2048). */
export const MIN_RSA_BITS = 1024;
/** Larger keys do not fit a TXT record comfortably and slow every verifier down. */
export const MAX_RSA_BITS = 8192;

export interface DkimKeyPair {
  privateKeyPem: string;
  /**
   * What goes (base64) into p=: the SubjectPublicKeyInfo DER for RSA, the raw
   * 32-octet key for Ed25519 (RFC 8463 4.2; the name is kept for both).
   */
  publicKeyDer: Buffer;
}

export interface DkimTxtRecord {
  /** `<selector>._domainkey.<domain>`, no trailing dot. */
  name: string;
  /** `v=DKIM1; k=rsa; p=...` as one string (DNS splits it into character-strings). */
  value: string;
  /** A BIND zone file line: the value as quoted character-strings of at most 255 characters. */
  zoneLine: string;
}

/** RFC 1035 3.3: one character-string carries at most 255 octets. */
export const TXT_STRING_MAX = 255;

function rawEd25519(publicKey: KeyObject): Buffer {
  const jwk = publicKey.export({ format: 'jwk' });
  if (typeof jwk.x !== 'string') throw new Error('Ed25519 public key without x');
  const raw = Buffer.from(jwk.x, 'base64url');
  if (raw.length !== 32) throw new Error(`Ed25519 public key of ${raw.length} octets`);
  return raw;
}

/** A new DKIM key pair. `bits` is the RSA modulus length (ignored for Ed25519). */
export function generateDkimKey(algorithm: DkimAlgorithm, bits = 2048): DkimKeyPair {
  if (algorithm === 'rsa-sha256') {
    if (!Number.isInteger(bits) || bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) {
      throw new RangeError(`RSA DKIM key size must be an integer from ${MIN_RSA_BITS} to ${MAX_RSA_BITS} bits, not ${bits}`);
    }
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits, publicExponent: 0x10001 });
    return {
      privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      publicKeyDer: publicKey.export({ type: 'spki', format: 'der' }),
    };
  }
  if (algorithm === 'ed25519-sha256') {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    return {
      privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      publicKeyDer: rawEd25519(publicKey),
    };
  }
  throw new Error(`unknown DKIM algorithm ${String(algorithm)}`);
}

/**
 * The algorithm and the p= key of a stored private key (to show the TXT
 * record again, or to check a key matches its configured algorithm).
 */
export function dkimPublicKey(privateKeyPem: string): { algorithm: DkimAlgorithm; publicKeyDer: Buffer } {
  const publicKey = createPublicKey(createPrivateKey(privateKeyPem));
  switch (publicKey.asymmetricKeyType) {
    case 'rsa':
      return { algorithm: 'rsa-sha256', publicKeyDer: publicKey.export({ type: 'spki', format: 'der' }) };
    case 'ed25519':
      return { algorithm: 'ed25519-sha256', publicKeyDer: rawEd25519(publicKey) };
    default:
      throw new Error(`unsupported DKIM key type ${String(publicKey.asymmetricKeyType)}`);
  }
}

/** A DNS label as DKIM selectors and domains use them (RFC 6376 3.1: selectors are dot-separated sub-domains). */
const LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/i;

function checkName(what: string, name: string): string {
  const n = name.replace(/\.$/, '').toLowerCase();
  if (n.length === 0 || n.length > 253 || !n.split('.').every((l) => LABEL.test(l))) {
    throw new Error(`invalid DKIM ${what} ${JSON.stringify(name)} (A-labels only)`);
  }
  return n;
}

/** RFC 1035 3.3.14 / zone file: a TXT value as character-strings of at most 255 characters. */
export function splitTxtValue(value: string): string[] {
  const parts: string[] = [];
  for (let i = 0; i < value.length; i += TXT_STRING_MAX) parts.push(value.slice(i, i + TXT_STRING_MAX));
  return parts.length > 0 ? parts : [''];
}

/**
 * The TXT record publishing `publicKeyDer` (as generateDkimKey or
 * dkimPublicKey return it) under `<selector>._domainkey.<domain>`
 * (RFC 6376 3.6.2.1). The value is ASCII (base64 and tags), so no escaping
 * is needed in the zone line.
 */
export function dkimTxtRecord(selector: string, domain: string, algorithm: DkimAlgorithm, publicKeyDer: Buffer): DkimTxtRecord {
  const sel = checkName('selector', selector);
  const dom = checkName('domain', domain);
  let keyType: string;
  if (algorithm === 'rsa-sha256') {
    keyType = 'rsa';
    if (publicKeyDer.length < 64) throw new Error('RSA public key too short for a SubjectPublicKeyInfo');
  } else if (algorithm === 'ed25519-sha256') {
    keyType = 'ed25519';
    if (publicKeyDer.length !== 32) throw new Error('Ed25519 p= must be the raw 32-octet key (RFC 8463 4.2)');
  } else {
    throw new Error(`unknown DKIM algorithm ${String(algorithm)}`);
  }
  const name = `${sel}._domainkey.${dom}`;
  // RFC 6376 3.6.1: v= first when present; k= defaults to rsa but is written for clarity.
  const value = `v=DKIM1; k=${keyType}; p=${publicKeyDer.toString('base64')}`;
  const strings = splitTxtValue(value).map((s) => `"${s}"`);
  return { name, value, zoneLine: `${name}.\tIN\tTXT\t${strings.join(' ')}` };
}
