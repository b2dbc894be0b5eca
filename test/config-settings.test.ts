import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  SETTINGS, isSettingKey, parseSettingInput, settingDefaults, validateSetting, type SettingKey,
} from '../src/config/settings-schema.ts';
import { InvalidInputError } from '../src/lib/errors.ts';

test('every default passes its own validation and every setting is described', () => {
  const defaults = settingDefaults();
  for (const key of Object.keys(SETTINGS) as SettingKey[]) {
    assert.deepEqual(validateSetting(key, defaults[key]), defaults[key], key);
    assert.ok(SETTINGS[key].description.length > 20, key);
  }
  assert.equal(defaults['smtp.maxMessageBytes'], 50 * 1024 * 1024);
  assert.equal(defaults['auth.allowPlaintext'], false);
  assert.equal(defaults['addressing.subaddressSeparator'], '+');
});

test('settingDefaults returns fresh arrays', () => {
  const a = settingDefaults();
  a['smtp.relayNetworks'].push('10.0.0.0/8');
  assert.deepEqual(settingDefaults()['smtp.relayNetworks'], []);
});

test('unknown keys are rejected', () => {
  assert.equal(isSettingKey('smtp.maxMessageBytes'), true);
  assert.equal(isSettingKey('toString'), false);
  assert.throws(() => validateSetting('smtp.nope', 1), (e: unknown) => e instanceof InvalidInputError && /unknown setting "smtp.nope"/.test(e.message));
  assert.throws(() => parseSettingInput('constructor', '1'), InvalidInputError);
});

test('wrong types are rejected', () => {
  assert.throws(() => validateSetting('smtp.maxMessageBytes', '1000000'), /setting smtp.maxMessageBytes: expected an integer, got string/);
  assert.throws(() => validateSetting('smtp.maxMessageBytes', 1.5), /expected an integer/);
  assert.throws(() => validateSetting('smtp.maxMessageBytes', Number.NaN), /expected an integer/);
  assert.throws(() => validateSetting('auth.allowPlaintext', 'true'), /expected true or false/);
  assert.throws(() => validateSetting('server.hostname', 5), /expected a string/);
  assert.throws(() => validateSetting('smtp.relayNetworks', '10.0.0.0/8'), /expected a list/);
  assert.throws(() => validateSetting('smtp.relayNetworks', [1]), /list item/);
  assert.throws(() => validateSetting('tls.minVersion', 'TLSv1.1'), /expected one of TLSv1.2, TLSv1.3/);
});

test('out-of-range and malformed values are rejected', () => {
  assert.throws(() => validateSetting('smtp.maxMessageBytes', 100), /100 is below the minimum 1024/);
  assert.throws(() => validateSetting('smtp.maxMessageBytes', 2 ** 31), /above the maximum/);
  // RFC 5321 section 4.5.3.1.8: at least 100 recipients.
  assert.throws(() => validateSetting('smtp.maxRecipients', 50), /minimum 100/);
  assert.throws(() => validateSetting('addressing.subaddressSeparator', '++'), /longer than 1/);
  assert.throws(() => validateSetting('addressing.subaddressSeparator', '@'), /not allowed/);
  assert.equal(validateSetting('addressing.subaddressSeparator', ''), '');
  assert.equal(validateSetting('addressing.subaddressSeparator', '-'), '-');
  assert.throws(() => validateSetting('server.hostname', 'bad_host!'), /not a host name/);
  assert.equal(validateSetting('server.hostname', 'mail.example.com'), 'mail.example.com');
  assert.throws(() => validateSetting('smtp.relayNetworks', ['10.0.0.0/33']), /not an IP address or CIDR/);
  assert.deepEqual(validateSetting('smtp.relayNetworks', ['10.0.0.0/8', '2001:db8::/32', '192.0.2.7']), ['10.0.0.0/8', '2001:db8::/32', '192.0.2.7']);
  assert.equal(validateSetting('queue.smarthost', '[2001:db8::1]:587'), '[2001:db8::1]:587');
  assert.throws(() => validateSetting('queue.smarthost', 'relay:99999'), /not host or host:port/);
  assert.equal(validateSetting('log.syslogTarget', 'tls://siem.example:6514'), 'tls://siem.example:6514');
  assert.throws(() => validateSetting('log.syslogTarget', 'http://siem'), /not udp:\/\/host:port/);
});

test('parseSettingInput converts CLI text', () => {
  assert.equal(parseSettingInput('smtp.maxMessageBytes', ' 2048 '), 2048);
  assert.throws(() => parseSettingInput('smtp.maxMessageBytes', '1e6'), /"1e6" is not an integer/);
  assert.throws(() => parseSettingInput('smtp.maxMessageBytes', ''), /not an integer/);
  assert.throws(() => parseSettingInput('smtp.maxMessageBytes', '10'), /below the minimum/);
  assert.equal(parseSettingInput('auth.allowPlaintext', 'true'), true);
  assert.equal(parseSettingInput('auth.allowPlaintext', 'Off'), false);
  assert.throws(() => parseSettingInput('auth.allowPlaintext', 'maybe'), /not true or false/);
  assert.deepEqual(parseSettingInput('smtp.relayNetworks', '10.0.0.0/8, 192.168.0.0/16'), ['10.0.0.0/8', '192.168.0.0/16']);
  assert.deepEqual(parseSettingInput('smtp.relayNetworks', ''), []);
  assert.equal(parseSettingInput('tls.minVersion', 'TLSv1.3'), 'TLSv1.3');
  assert.equal(parseSettingInput('server.hostname', 'mx.example.org'), 'mx.example.org');
});
