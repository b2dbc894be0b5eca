/**
 * Cluster-wide settings: stored in the database (ARCHITECTURE.md section 3),
 * declared here once, with a type, a default, limits and a description per
 * field. The CLI (`tegu settings set`), the admin API/GUI and the sample
 * documentation are all generated from this table, and every value that
 * reaches the database passes validateSetting first.
 *
 * Adding a setting: add an entry here, read it from the settings snapshot.
 * Renaming or removing one needs a migration of the stored rows.
 */
import { isIP } from 'node:net';
import { InvalidInputError } from '../lib/errors.ts';

/** Extra checks for string-typed values, named so the GUI can show them. */
export type StringFormat = 'hostname' | 'hostPort' | 'cidr' | 'syslogTarget' | 'route';

interface Base { readonly description: string }
export interface IntegerSpec extends Base {
  readonly type: 'integer'; readonly default: number; readonly min: number; readonly max: number;
  readonly unit?: 'bytes' | 'seconds' | 'hours' | 'count';
}
export interface StringSpec extends Base {
  readonly type: 'string'; readonly default: string; readonly maxLength: number;
  /** Checked when the value is not empty (empty means "not set" for these). */
  readonly format?: StringFormat;
  readonly pattern?: RegExp;
  /** A credential: never shown (settings list/get), logged or audited; only whether it is set. */
  readonly secret?: boolean;
}
export interface BooleanSpec extends Base { readonly type: 'boolean'; readonly default: boolean }
export interface StringListSpec extends Base {
  readonly type: 'stringList'; readonly default: readonly string[]; readonly maxItems: number;
  readonly itemFormat?: StringFormat;
}
export interface EnumSpec extends Base { readonly type: 'enum'; readonly values: readonly string[]; readonly default: string }
export type SettingSpec = IntegerSpec | StringSpec | BooleanSpec | StringListSpec | EnumSpec;

const MiB = 1024 * 1024;
const INT32_MAX = 2 ** 31 - 1;

export const SETTINGS = {
  'server.hostname': {
    type: 'string', default: '', maxLength: 253, format: 'hostname',
    description: 'Host name announced in the SMTP greeting and EHLO (RFC 5321 section 4.1.1.1), protocol greetings and Received headers; empty: the node name from the bootstrap configuration.',
  },
  'smtp.maxMessageBytes': {
    type: 'integer', default: 50 * MiB, min: 1024, max: INT32_MAX, unit: 'bytes',
    description: 'Largest message accepted over SMTP/LMTP/submission, advertised as the EHLO SIZE parameter (RFC 1870).',
  },
  'smtp.maxRecipients': {
    type: 'integer', default: 100, min: 100, max: 100_000, unit: 'count',
    description: 'Recipients accepted per SMTP transaction; RFC 5321 section 4.5.3.1.8 requires at least 100.',
  },
  'smtp.overQuotaReply': {
    type: 'enum', values: ['temporary', 'permanent'], default: 'temporary',
    description: 'Reply to a recipient whose mailbox is over quota (RFC 3463 X.2.2 "Mailbox full"): temporary = 452 4.2.2, the sender retries until the user has made room; permanent = 552 5.2.2, it bounces at once.',
  },
  'smtp.relayNetworks': {
    type: 'stringList', default: [], maxItems: 1000, itemFormat: 'cidr',
    description: 'Client networks (CIDR, e.g. 10.0.0.0/8) allowed to relay to remote domains without authentication; empty: relaying always needs AUTH.',
  },
  'queue.smarthost': {
    type: 'string', default: '', maxLength: 260, format: 'hostPort',
    description: 'Send all outbound mail through this host:port instead of looking up MX records (RFC 5321 section 5); empty: direct delivery.',
  },
  'queue.smarthostUser': {
    type: 'string', default: '', maxLength: 256,
    description: 'User name to log in to queue.smarthost with (SMTP AUTH PLAIN or LOGIN, RFC 4954, only over TLS); empty: no login.',
  },
  'queue.smarthostPassword': {
    type: 'string', default: '', maxLength: 256, secret: true,
    description: 'Password for queue.smarthostUser. Stored in the database; never shown or logged.',
  },
  'queue.maxAttemptsHours': {
    type: 'integer', default: 120, min: 1, max: 720, unit: 'hours',
    description: 'How long an undeliverable message is retried before it bounces; RFC 5321 section 4.5.4.1 suggests at least 4-5 days.',
  },
  'queue.delayWarningHours': {
    type: 'integer', default: 4, min: 0, max: 720, unit: 'hours',
    description: 'Send a "delayed" DSN (RFC 3464) to the sender after this long in the queue; 0: never.',
  },
  'queue.historyDays': {
    type: 'integer', default: 7, min: 0, max: 3650, unit: 'count',
    description: 'Days a finished outbound delivery (delivered, bounced, expired) stays in the queue history (`tegu queue list --history`) before it is deleted with its message.',
  },
  'queue.concurrency': {
    type: 'integer', default: 20, min: 1, max: 1000, unit: 'count',
    description: 'Outbound SMTP connections one node opens at once, over all destinations.',
  },
  'queue.domainConcurrency': {
    type: 'integer', default: 10, min: 1, max: 100, unit: 'count',
    description: 'Outbound SMTP connections one node opens at once to one destination domain; each carries all due recipients of that domain.',
  },
  'queue.requireTlsDomains': {
    type: 'stringList', default: [], maxItems: 10_000, itemFormat: 'hostname',
    description: 'Recipient domains whose mail leaves only over TLS with a certificate valid for the MX host; delivery to them waits (and finally bounces) rather than go in clear. Other domains get opportunistic STARTTLS (RFC 3207).',
  },
  'queue.routes': {
    type: 'stringList', default: [], maxItems: 10_000, itemFormat: 'route',
    description: 'Static routes, domain=host:port (e.g. legacy.example.com=10.0.0.5:25): mail for the domain goes to that host instead of its MX; for coexistence with an old server and for tests.',
  },
  'queue.leaseSeconds': {
    type: 'integer', default: 600, min: 5, max: 86_400, unit: 'seconds',
    description: 'How long a node holds the recipients it is delivering; if it dies, other nodes retry them after this. Longer than one connection takes (the final-dot timeout of RFC 5321 section 4.5.3.2.6 is 10 minutes).',
  },
  'submission.senderPolicy': {
    type: 'enum', values: ['own', 'domain', 'any'], default: 'own',
    description: 'Which envelope senders and From addresses an authenticated user may send with (RFC 6409 section 8.1): own = the account address and the aliases that deliver to it; domain = any address of its domain; any = no check. Others get 550 5.7.1.',
  },
  'imap.maxLiteralBytes': {
    type: 'integer', default: 64 * MiB, min: 1024, max: INT32_MAX, unit: 'bytes',
    description: 'Largest literal an IMAP client may send (RFC 9051 section 4.3), e.g. a message in APPEND; advertised as APPENDLIMIT (RFC 7889).',
  },
  'imap.idleTimeoutSeconds': {
    type: 'integer', default: 1800, min: 1800, max: 86_400, unit: 'seconds',
    description: 'Inactivity autologout for IMAP sessions; RFC 9051 section 5.4 requires at least 30 minutes.',
  },
  'smtp.verifyInbound': {
    type: 'boolean', default: true,
    description: 'Check SPF (RFC 7208), DKIM (RFC 6376), DMARC (RFC 7489) and ARC (RFC 8617) of mail from other MTAs, add Authentication-Results (RFC 8601), reject on DMARC p=reject and file p=quarantine into Junk; off when a filtering MTA in front already does it.',
  },
  'auth.allowPlaintext': {
    type: 'boolean', default: false,
    description: 'Allow passwords over unencrypted connections (SMTP AUTH, IMAP LOGIN, POP3 USER/PASS); off: only after STARTTLS or on implicit TLS ports (RFC 8314, RFC 9051 section 6.2.3 LOGINDISABLED).',
  },
  'addressing.subaddressSeparator': {
    type: 'string', default: '+', maxLength: 1,
    // One RFC 5322 section 3.2.3 atext special: it must be legal in a local part.
    pattern: /^[!#$%&'*+\-/=?^_`{|}~.]$/,
    description: 'Separator for sub-addressing (user+tag@domain delivers to user@domain, RFC 5233); empty: disabled.',
  },
  'mailbox.defaultQuotaBytes': {
    type: 'integer', default: 0, min: 0, max: Number.MAX_SAFE_INTEGER, unit: 'bytes',
    description: 'Storage quota (RFC 9208) of every account without its own (`tegu user quota ADDRESS default`); 0: unlimited.',
  },
  'limits.maxConnectionsPerIp': {
    type: 'integer', default: 100, min: 0, max: 100_000, unit: 'count',
    description: 'Concurrent connections per client IP across all protocols on one node; 0: unlimited. Offices behind NAT need a high value.',
  },
  'limits.connectionsPerIpPerMinute': {
    type: 'integer', default: 600, min: 0, max: 1_000_000, unit: 'count',
    description: 'New connections per client IP per minute on each listener before further ones are refused (SMTP 421 4.3.2); 0: unlimited.',
  },
  'limits.authFailuresPerIpPerMinute': {
    type: 'integer', default: 10, min: 0, max: 100_000, unit: 'count',
    description: 'Failed logins per client IP per minute before further attempts are refused; 0: no limit.',
  },
  'limits.messagesPerIpPerMinute': {
    type: 'integer', default: 0, min: 0, max: 1_000_000, unit: 'count',
    description: 'Messages (MAIL commands) one client IP may start per minute on the MX listener before getting 450 4.7.1 (try later); 0: no limit, as in Postfix and Exchange, since big senders legitimately send bursts from one address. Authenticated sessions and LMTP are not counted.',
  },
  'tls.minVersion': {
    type: 'enum', values: ['TLSv1.2', 'TLSv1.3'], default: 'TLSv1.2',
    description: 'Oldest TLS version accepted; TLS 1.0 and 1.1 are deprecated by RFC 8996.',
  },
  'log.auditToSyslog': {
    type: 'boolean', default: false,
    description: 'Also send audit events (logins, admin changes, deliveries, rejections) to syslog (RFC 5424) at log.syslogTarget.',
  },
  'log.syslogTarget': {
    type: 'string', default: '', maxLength: 300, format: 'syslogTarget',
    description: 'Syslog receiver as udp://host:514 (RFC 5426), tcp://host:514 (RFC 6587) or tls://host:6514 (RFC 5425); empty: none.',
  },
} as const satisfies Record<string, SettingSpec>;

export type SettingKey = keyof typeof SETTINGS;

/** Is this setting a credential (shown and audited as "set" / "not set" only)? */
export function isSecretSetting(key: SettingKey): boolean {
  const spec: SettingSpec = SETTINGS[key];
  return spec.type === 'string' && spec.secret === true;
}

/** What may be shown or logged of a setting's value. */
export function displayedSettingValue(key: SettingKey, value: unknown): unknown {
  if (!isSecretSetting(key)) return value;
  return value === '' ? '' : '(set)';
}

type ValueOfSpec<S> = S extends { type: 'integer' } ? number
  : S extends { type: 'string' } ? string
  : S extends { type: 'boolean' } ? boolean
  : S extends { type: 'stringList' } ? string[]
  : S extends { type: 'enum'; values: readonly (infer V)[] } ? V
  : never;

/** The value type of one setting, or (no argument) of any setting. */
export type SettingValue<K extends SettingKey = SettingKey> = ValueOfSpec<(typeof SETTINGS)[K]>;

export type SettingValues = { [K in SettingKey]: SettingValue<K> };

export function isSettingKey(key: string): key is SettingKey {
  return Object.hasOwn(SETTINGS, key);
}

export function settingSpec(key: SettingKey): SettingSpec {
  return SETTINGS[key];
}

const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
function isHostname(s: string): boolean {
  // RFC 1123 section 2.1; a trailing dot (absolute name) is not accepted.
  return s.length <= 253 && s.split('.').every((l) => LABEL.test(l));
}

function isHostPort(s: string): boolean {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(s);
  if (m === null) return false;
  if (m[1] !== undefined && isIP(m[1]) !== 6) return false;
  if (m[2] !== undefined && isIP(m[2]) !== 4 && !isHostname(m[2])) return false;
  return m[3] === undefined || (Number(m[3]) >= 1 && Number(m[3]) <= 65535);
}

/** Why `s` does not match `format`, or undefined when it does. */
function checkFormat(format: StringFormat, s: string): string | undefined {
  switch (format) {
    case 'hostname':
      return isHostname(s) ? undefined : `"${s}" is not a host name`;
    case 'hostPort':
      return isHostPort(s) ? undefined : `"${s}" is not host or host:port (IPv6 as [::1]:25)`;
    case 'cidr': {
      const [ip = '', prefix, ...rest] = s.split('/');
      const v = isIP(ip);
      const max = v === 6 ? 128 : 32;
      const ok = v !== 0 && rest.length === 0 && (prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= max));
      return ok ? undefined : `"${s}" is not an IP address or CIDR network (10.0.0.0/8, 2001:db8::/32)`;
    }
    case 'route': {
      const eq = s.indexOf('=');
      const ok = eq > 0 && isHostname(s.slice(0, eq)) && isHostPort(s.slice(eq + 1));
      return ok ? undefined : `"${s}" is not domain=host:port`;
    }
    case 'syslogTarget': {
      const m = /^(udp|tcp|tls):\/\/(.+)$/.exec(s);
      return m !== null && isHostPort(m[2] ?? '') ? undefined : `"${s}" is not udp://host:port, tcp://host:port or tls://host:port`;
    }
  }
}

function describe(v: unknown): string {
  if (typeof v === 'string') return `string "${v}"`;
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  return `${typeof v} ${String(v)}`;
}

/**
 * Checks `value` against the setting's schema and returns it (arrays as a
 * fresh copy). Throws InvalidInputError with a one-line reason.
 */
export function validateSetting<K extends SettingKey>(key: K, value: unknown): SettingValue<K>;
export function validateSetting(key: string, value: unknown): SettingValue;
export function validateSetting(key: string, value: unknown): SettingValue {
  if (!isSettingKey(key)) throw new InvalidInputError(`unknown setting "${key}"`);
  const spec: SettingSpec = SETTINGS[key];
  const bad = (why: string): never => {
    throw new InvalidInputError(`setting ${key}: ${why}`);
  };
  switch (spec.type) {
    case 'integer': {
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) return bad(`expected an integer, got ${describe(value)}`);
      if (value < spec.min) return bad(`${value} is below the minimum ${spec.min}`);
      if (value > spec.max) return bad(`${value} is above the maximum ${spec.max}`);
      return value;
    }
    case 'boolean':
      if (typeof value !== 'boolean') return bad(`expected true or false, got ${describe(value)}`);
      return value;
    case 'string': {
      if (typeof value !== 'string') return bad(`expected a string, got ${describe(value)}`);
      if (value.length > spec.maxLength) return bad(`longer than ${spec.maxLength} characters`);
      if (value !== '' && spec.pattern !== undefined && !spec.pattern.test(value)) return bad(`"${value}" is not allowed (must match ${spec.pattern.source})`);
      const why = value !== '' && spec.format !== undefined ? checkFormat(spec.format, value) : undefined;
      if (why !== undefined) return bad(why);
      return value;
    }
    case 'enum':
      if (typeof value !== 'string' || !spec.values.includes(value)) return bad(`expected one of ${spec.values.join(', ')}, got ${describe(value)}`);
      return value as SettingValue;
    case 'stringList': {
      if (!Array.isArray(value)) return bad(`expected a list of strings, got ${describe(value)}`);
      if (value.length > spec.maxItems) return bad(`more than ${spec.maxItems} items`);
      const out: string[] = [];
      for (const item of value as unknown[]) {
        if (typeof item !== 'string' || item === '') return bad(`list item ${describe(item)} is not a non-empty string`);
        const why = spec.itemFormat !== undefined ? checkFormat(spec.itemFormat, item) : undefined;
        if (why !== undefined) return bad(why);
        out.push(item);
      }
      return out;
    }
  }
}

const TRUE = new Set(['true', 'yes', 'on', '1']);
const FALSE = new Set(['false', 'no', 'off', '0']);

/**
 * Converts command-line text to the setting's type, then validates it:
 * integers as decimal digits, booleans as true/false (yes/no, on/off, 1/0),
 * lists comma-separated (an empty string is the empty list).
 */
export function parseSettingInput<K extends SettingKey>(key: K, text: string): SettingValue<K>;
export function parseSettingInput(key: string, text: string): SettingValue;
export function parseSettingInput(key: string, text: string): SettingValue {
  if (!isSettingKey(key)) throw new InvalidInputError(`unknown setting "${key}"`);
  const spec: SettingSpec = SETTINGS[key];
  const t = text.trim();
  switch (spec.type) {
    case 'integer': {
      // Number('') is 0 and Number('1e3') is 1000: accept only plain digits.
      if (!/^-?\d+$/.test(t)) throw new InvalidInputError(`setting ${key}: "${text}" is not an integer`);
      return validateSetting(key, Number(t));
    }
    case 'boolean': {
      const l = t.toLowerCase();
      if (TRUE.has(l)) return validateSetting(key, true);
      if (FALSE.has(l)) return validateSetting(key, false);
      throw new InvalidInputError(`setting ${key}: "${text}" is not true or false`);
    }
    case 'stringList':
      return validateSetting(key, t === '' ? [] : t.split(',').map((s) => s.trim()));
    case 'string':
    case 'enum':
      return validateSetting(key, t);
  }
}

/** Every setting's default (arrays copied, so callers may mutate them). */
export function settingDefaults(): SettingValues {
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(SETTINGS) as [SettingKey, SettingSpec][]) {
    out[key] = Array.isArray(spec.default) ? [...spec.default] : spec.default;
  }
  return out as SettingValues;
}
