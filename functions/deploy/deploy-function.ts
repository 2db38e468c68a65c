/**
 * function:deploy's logic: create the destination function, or update its code and settings when
 * one with the same display name exists; nothing when both are already current (idempotent).
 */
import { SETTINGS_DOCUMENTATION } from '../delivery/settings.ts';
import type { FunctionSetting, SegmentFunction, SegmentPublicApi } from './segment-public-api.ts';

export const DEFAULT_DISPLAY_NAME = 'Materialize Webhook (segment-materialize)';
export const DESCRIPTION = 'Forwards every event (or batch) to a Materialize webhook source, signed with an HMAC of the exact body. Built by segment-materialize.';

/** The settings schema Segment shows for the function, from the same list the bundle documents. */
export function functionSettings(): FunctionSetting[] {
  return SETTINGS_DOCUMENTATION.map((setting) => ({
    name: setting.name,
    label: setting.name.replace(/([A-Z])/g, ' $1').replace(/^./, (first) => first.toUpperCase()),
    description: 'default' in setting ? `${setting.description} Default: ${String(setting.default)}.` : setting.description,
    // The Public API has STRING, BOOLEAN, ARRAY and TEXT_MAP: numbers travel as strings (the function parses them).
    type: setting.type === 'boolean' ? 'BOOLEAN' : 'STRING',
    required: setting.required,
    sensitive: 'sensitive' in setting ? setting.sensitive : false,
  }));
}

export type DeployAction = 'created' | 'updated' | 'unchanged' | 'would create' | 'would update';

export interface DeployResult {
  readonly action: DeployAction;
  readonly id?: string;
  /** The metadata id of the function's destination instances (absent before it exists). */
  readonly catalogId?: string;
  readonly displayName: string;
}

export async function deployFunction(api: SegmentPublicApi, code: string, options: { displayName: string; dryRun: boolean }): Promise<DeployResult> {
  const settings = functionSettings();
  const existing = await api.findDestinationFunction(options.displayName);
  if (!existing) {
    if (options.dryRun) return { action: 'would create', displayName: options.displayName };
    const created = await api.createFunction({ code, displayName: options.displayName, description: DESCRIPTION, settings });
    return { action: 'created', id: created.id, ...(created.catalogId ? { catalogId: created.catalogId } : {}), displayName: options.displayName };
  }
  const current: SegmentFunction = existing.code === undefined || existing.settings === undefined || existing.catalogId === undefined ? await api.getFunction(existing.id) : existing;
  const known = { id: existing.id, ...(current.catalogId ? { catalogId: current.catalogId } : {}), displayName: options.displayName };
  if (current.code === code && sameSettings(current.settings ?? [], settings)) return { action: 'unchanged', ...known };
  if (options.dryRun) return { action: 'would update', ...known };
  await api.updateFunction(existing.id, { code, settings });
  return { action: 'updated', ...known };
}

function sameSettings(a: readonly FunctionSetting[], b: readonly FunctionSetting[]): boolean {
  const key = (settings: readonly FunctionSetting[]) => JSON.stringify([...settings].map((setting) => [setting.name, setting.label, setting.description, setting.type, setting.required, setting.sensitive]).sort());
  return key(a) === key(b);
}
