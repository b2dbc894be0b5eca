/**
 * Cluster-wide settings: defaults from the schema in src/config/settings-schema.ts,
 * overridden by rows in the settings table. Every write is validated, audited
 * and announced with NOTIFY so every node reloads its snapshot.
 */
import {
  displayedSettingValue,
  isSettingKey,
  settingDefaults,
  validateSetting,
  type SettingKey,
  type SettingValue,
  type SettingValues,
} from '../config/settings-schema.ts';
import { InvalidInputError } from '../lib/errors.ts';
import type { Database } from '../store/db.ts';
import { deleteSetting, insertAudit, listSettings, notify, upsertSetting } from '../store/ops.ts';
import type { CoreContext } from './context.ts';

export const SETTINGS_CHANNEL = 'tegu_settings';

export interface SettingsSnapshot {
  values: SettingValues;
  /** Keys whose value comes from the database rather than the default. */
  overridden: Set<SettingKey>;
}

/**
 * Reads the effective settings. A stored value that no longer validates (or an
 * unknown key left by a newer version) is ignored in favour of the default,
 * so a bad row can never stop a node from starting.
 */
export async function loadSettings(db: Database, onInvalid?: (key: string, err: unknown) => void): Promise<SettingsSnapshot> {
  const values = settingDefaults();
  const overridden = new Set<SettingKey>();
  for (const row of await listSettings(db)) {
    if (!isSettingKey(row.key)) {
      onInvalid?.(row.key, new InvalidInputError(`unknown setting ${row.key}`));
      continue;
    }
    try {
      (values as Record<SettingKey, SettingValue>)[row.key] = validateSetting(row.key, row.value);
      overridden.add(row.key);
    } catch (err) {
      onInvalid?.(row.key, err);
    }
  }
  return { values, overridden };
}

export async function setSetting(ctx: CoreContext, key: string, value: unknown): Promise<SettingValue> {
  if (!isSettingKey(key)) throw new InvalidInputError(`unknown setting ${key}`);
  const valid = validateSetting(key, value);
  await ctx.db.transaction(async (tx) => {
    await upsertSetting(tx, key, valid, ctx.actor);
    await insertAudit(tx, { actor: ctx.actor, node: ctx.node, action: 'setting.set', target: key, details: { value: displayedSettingValue(key as SettingKey, valid) } });
    await notify(tx, SETTINGS_CHANNEL, key);
  });
  return valid;
}

/** Back to the default value. */
export async function resetSetting(ctx: CoreContext, key: string): Promise<void> {
  if (!isSettingKey(key)) throw new InvalidInputError(`unknown setting ${key}`);
  await ctx.db.transaction(async (tx) => {
    if (await deleteSetting(tx, key)) {
      await insertAudit(tx, { actor: ctx.actor, node: ctx.node, action: 'setting.reset', target: key });
      await notify(tx, SETTINGS_CHANNEL, key);
    }
  });
}
