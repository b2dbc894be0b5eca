/** tegu settings list|get|set|reset: the cluster-wide settings stored in the database. */
import {
  displayedSettingValue,
  isSettingKey,
  parseSettingInput,
  SETTINGS,
  settingSpec,
  type SettingKey,
  type SettingSpec,
} from '../../config/settings-schema.ts';
import { loadSettings, resetSetting, setSetting, type SettingsSnapshot } from '../../core/settings.ts';
import { InvalidInputError } from '../../lib/errors.ts';
import { withCore } from '../database.ts';
import { emit } from '../output.ts';
import type { CommandGroup } from '../types.ts';

function checkKey(key: string): SettingKey {
  if (!isSettingKey(key)) throw new InvalidInputError(`unknown setting ${key} (see tegu settings list)`);
  return key;
}

/** The value as `settings set` accepts it back: lists comma-separated. */
function plain(v: unknown): string {
  return Array.isArray(v) ? v.join(',') : String(v);
}

function typeName(spec: SettingSpec): string {
  switch (spec.type) {
    case 'integer':
      return `integer ${spec.min}..${spec.max}${spec.unit ? ` ${spec.unit}` : ''}`;
    case 'enum':
      return `one of ${spec.values.join(', ')}`;
    case 'stringList':
      return 'comma-separated list';
    default:
      return spec.type;
  }
}

function settingJson(key: SettingKey, snap: SettingsSnapshot) {
  const spec = settingSpec(key);
  return {
    key,
    value: displayedSettingValue(key, snap.values[key]),
    default: spec.default,
    overridden: snap.overridden.has(key),
    type: typeName(spec),
    description: spec.description,
  };
}

function settingLines(s: ReturnType<typeof settingJson>): string[] {
  const value = JSON.stringify(s.value);
  const head = `${s.key} = ${value}  ${s.overridden ? `(overridden; default ${JSON.stringify(s.default)})` : '(default)'}`;
  return [head, `    ${s.description} [${s.type}]`];
}

export const settingsCommands: CommandGroup = {
  name: 'settings',
  summary: 'cluster-wide settings stored in the database',
  commands: [
    {
      name: 'list',
      summary: 'list every setting with its value, default and description',
      args: [],
      run: (inv) =>
        withCore(inv, async (ctx) => {
          const snap = await loadSettings(ctx.db);
          const all = (Object.keys(SETTINGS) as SettingKey[]).map((k) => settingJson(k, snap));
          emit(inv, all, all.flatMap(settingLines));
        }),
    },
    {
      name: 'get',
      summary: "print one setting's value",
      args: [{ name: 'KEY' }],
      run: async (inv) => {
        const key = checkKey(inv.args[0]!);
        await withCore(inv, async (ctx) => {
          const s = settingJson(key, await loadSettings(ctx.db));
          emit(inv, s, plain(s.value));
        });
      },
    },
    {
      name: 'set',
      summary: 'change a setting on every node',
      details:
        'Integers as digits, booleans as true/false (yes/no, on/off), lists comma-separated (an empty string is the empty list).\n' +
        'A value starting with "-" goes after "--": tegu settings set KEY -- -1',
      args: [{ name: 'KEY' }, { name: 'VALUE' }],
      run: async (inv) => {
        const key = checkKey(inv.args[0]!);
        const value = parseSettingInput(key, inv.args[1]!);
        await withCore(inv, async (ctx) => {
          const stored = displayedSettingValue(key, await setSetting(ctx, key, value));
          emit(inv, { key, value: stored }, `${key} = ${JSON.stringify(stored)}`);
        });
      },
    },
    {
      name: 'reset',
      summary: 'set a setting back to its default',
      args: [{ name: 'KEY' }],
      run: async (inv) => {
        const key = checkKey(inv.args[0]!);
        await withCore(inv, async (ctx) => {
          await resetSetting(ctx, key);
          const value = settingSpec(key).default;
          emit(inv, { key, value }, `${key} = ${JSON.stringify(value)}  (default)`);
        });
      },
    },
  ],
};
