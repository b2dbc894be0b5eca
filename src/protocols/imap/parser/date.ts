/**
 * Dates (RFC 9051 9):
 *
 *   date           = date-text / DQUOTE date-text DQUOTE
 *   date-text      = date-day "-" date-month "-" date-year
 *   date-day       = 1*2DIGIT
 *   date-time      = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE
 *   date-day-fixed = (SP DIGIT) / 2DIGIT
 *   time           = 2DIGIT ":" 2DIGIT ":" 2DIGIT
 *   zone           = ("+" / "-") 4DIGIT
 */
import { ALPHA, asciiUpper } from './chars.ts';
import type { Scanner } from './scanner.ts';

const DQUOTE = 0x22;
const DASH = 0x2d;
const SP = 0x20;
const COLON = 0x3a;

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];

/** A calendar date (SEARCH BEFORE/ON/SINCE compare dates, "disregarding time and timezone", RFC 9051 6.4.4). */
export interface ImapDate {
  readonly year: number;
  /** 1-12 */
  readonly month: number;
  readonly day: number;
}

/** An APPEND date-time: the instant, and the zone it was written in (kept for INTERNALDATE). */
export interface ImapDateTime {
  readonly date: Date;
  /** Offset from UTC in minutes, e.g. -420 for -0700. */
  readonly zoneMinutes: number;
}

function digitsExactly(s: Scanner, n: number, what: string): number {
  const d = s.digits();
  if (d.length !== n) s.fail(`Invalid ${what}`);
  return Number(d);
}

function month(s: Scanner): number {
  const m = MONTHS.indexOf(asciiUpper(s.take(ALPHA).toString('latin1')));
  if (m < 0) s.fail('Invalid month in date');
  return m + 1;
}

/** Milliseconds since the epoch; unlike Date.UTC, years 0-99 are not taken as 1900-1999. */
function utc(year: number, month: number, day: number, hour = 0, minute = 0, second = 0): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, 0);
  return d.getTime();
}

function daysIn(year: number, month: number): number {
  return new Date(utc(year, month + 1, 0)).getUTCDate();
}

function dayMonthYear(s: Scanner, day: number): ImapDate {
  s.expect(DASH, '"-" in date');
  const m = month(s);
  s.expect(DASH, '"-" in date');
  const year = digitsExactly(s, 4, 'year');
  if (day < 1 || day > daysIn(year, m)) s.fail('Invalid day of month');
  return { year, month: m, day };
}

/** date = date-text / DQUOTE date-text DQUOTE (SEARCH). */
export function date(s: Scanner): ImapDate {
  const q = s.eat(DQUOTE);
  const d = s.digits();
  if (d.length < 1 || d.length > 2) s.fail('Invalid date: expected d-Mon-yyyy');
  const result = dayMonthYear(s, Number(d));
  if (q) s.expect(DQUOTE, 'DQUOTE after date');
  return result;
}

/** date-time (APPEND). A one-digit day without its space is accepted too (common client mistake). */
export function dateTime(s: Scanner): ImapDateTime {
  s.expect(DQUOTE, 'DQUOTE before date-time');
  s.eat(SP);
  const d = s.digits();
  if (d.length < 1 || d.length > 2) s.fail('Invalid date-time: expected "dd-Mon-yyyy hh:mm:ss +zzzz"');
  const { year, month: m, day } = dayMonthYear(s, Number(d));
  s.expect(SP, 'SP before time');
  const hour = digitsExactly(s, 2, 'hour');
  s.expect(COLON, '":" in time');
  const minute = digitsExactly(s, 2, 'minute');
  s.expect(COLON, '":" in time');
  const second = digitsExactly(s, 2, 'second');
  if (hour > 23 || minute > 59 || second > 60) s.fail('Invalid time');
  s.expect(SP, 'SP before zone');
  const sign = s.peek();
  if (sign !== 0x2b && sign !== DASH) s.fail('Invalid zone: expected +hhmm or -hhmm');
  s.skip();
  const z = digitsExactly(s, 4, 'zone');
  const zh = Math.floor(z / 100);
  const zm = z % 100;
  if (zm > 59) s.fail('Invalid zone');
  s.expect(DQUOTE, 'DQUOTE after date-time');
  const zoneMinutes = (sign === DASH ? -1 : 1) * (zh * 60 + zm);
  const instant = utc(year, m, day, hour, minute, Math.min(second, 59)) - zoneMinutes * 60_000;
  return { date: new Date(instant), zoneMinutes };
}
