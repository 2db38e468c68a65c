/**
 * function:deploy --source: connect the deployed function to a Segment source as a destination
 * instance with the settings the deployed models dictate (webhookUrl, sharedSecret). Creates it
 * when the source has no instance of this function, updates what differs, and changes nothing
 * when everything matches, so a second run is a no-op.
 */
import { PublicApiError, type SegmentDestination, type SegmentPublicApi, type SegmentSource } from './segment-public-api.ts';

export type ConnectAction = 'created' | 'updated' | 'unchanged' | 'would create' | 'would update';

export interface ConnectOptions {
  /** The deployed function: its id, and the metadata id its destination instances use. */
  readonly fn: { readonly id?: string; readonly catalogId?: string };
  /** Source id, slug or name. */
  readonly source: string;
  readonly name: string;
  /** undefined: keep an existing instance's state; a new one is created enabled. */
  readonly enabled: boolean | undefined;
  readonly settings: Readonly<Record<string, string>>;
  /** Names of settings Segment masks when it answers (compared by their visible tail). */
  readonly sensitive: ReadonlySet<string>;
  readonly dryRun: boolean;
  /** Send every setting even when Segment's masked answer looks the same. */
  readonly forceSettings?: boolean;
}

export interface ConnectResult {
  readonly action: ConnectAction;
  readonly source: SegmentSource;
  readonly destinationId?: string;
  /** Settings (and `enabled`) that were or would be changed; values never included. */
  readonly changed: readonly string[];
}

export class SourceNotFoundError extends Error {
  constructor(reference: string, sources: readonly SegmentSource[]) {
    const near = nearMatches(reference, sources);
    super(
      `no Segment source has the id, slug or name '${reference}'` +
        (near.length ? `; did you mean ${near.map((source) => `${source.slug} (${source.id})`).join(', ')}?` : sources.length ? `; the workspace has ${sources.length} sources, e.g. ${sources.slice(0, 3).map((source) => source.slug).join(', ')}` : '; the workspace has no sources'),
    );
  }
}

export async function connectDestination(api: SegmentPublicApi, options: ConnectOptions): Promise<ConnectResult> {
  // Whatever an answer echoes of these (an error quoting the request body) is redacted.
  api.redactor.add(...[...options.sensitive].map((key) => options.settings[key]));
  const { found: source, all: sources } = await api.findSource(options.source);
  if (!source) throw new SourceNotFoundError(options.source, sources);
  const metadataId = options.fn.catalogId;
  const connected = await api.connectedDestinations(source.id);
  const existing = metadataId ? connected.find((destination) => destination.metadata?.id === metadataId) : undefined;

  if (!existing) {
    if (options.dryRun) return { action: 'would create', source, changed: ['enabled', ...Object.keys(options.settings)] };
    if (!metadataId) throw new PublicApiError(200, 'GET', `/functions/${options.fn.id ?? ''}`, 'the function has no catalogId to create its destination with');
    const created = await api.createDestination({ sourceId: source.id, metadataId, name: options.name, enabled: options.enabled ?? true, settings: options.settings });
    return { action: 'created', source, destinationId: created.id, changed: ['enabled', ...Object.keys(options.settings)] };
  }

  const changed = Object.keys(options.settings).filter((key) => options.forceSettings || !sameSetting(existing, key, options.settings[key]!, options.sensitive.has(key)));
  const enabledChanges = options.enabled !== undefined && existing.enabled !== options.enabled;
  const nameChanges = existing.name !== undefined && existing.name !== options.name;
  const all = [...(enabledChanges ? ['enabled'] : []), ...(nameChanges ? ['name'] : []), ...changed];
  if (all.length === 0) return { action: 'unchanged', source, destinationId: existing.id, changed: [] };
  if (options.dryRun) return { action: 'would update', source, destinationId: existing.id, changed: all };
  await api.updateDestination(existing.id, {
    ...(nameChanges ? { name: options.name } : {}),
    ...(enabledChanges ? { enabled: options.enabled! } : {}),
    // Other settings the user set in Segment's app are kept: the whole object is sent, ours over theirs.
    ...(changed.length ? { settings: { ...unmaskedSettings(existing), ...options.settings } } : {}),
  });
  return { action: 'updated', source, destinationId: existing.id, changed: all };
}

/**
 * Segment answers sensitive settings masked: a run of dots, then the last four characters (the
 * documented sample masks a 32-character key as 10 dots + 4, so the length is not kept). A masked
 * value whose visible tail matches ours is taken as ours: a rotated secret differs there unless
 * the new one happens to end the same way (then pass --force-settings).
 */
function sameSetting(destination: SegmentDestination, key: string, wanted: string, sensitive: boolean): boolean {
  const current = destination.settings[key];
  if (current === wanted) return true;
  if (!sensitive || !isMasked(current)) return false;
  const tail = current.replace(MASK, '');
  return tail.length > 0 && wanted.endsWith(tail);
}

/** Masked values cannot be sent back (they would become the value): leave them out of a PATCH. */
function unmaskedSettings(destination: SegmentDestination): Record<string, unknown> {
  return Object.fromEntries(Object.entries(destination.settings).filter(([, value]) => !isMasked(value)));
}

/** The run of dots (or asterisks) a masked value starts with. */
const MASK = /^[•*]{3,}/;
const isMasked = (value: unknown): value is string => typeof value === 'string' && MASK.test(value);

function nearMatches(reference: string, sources: readonly SegmentSource[]): SegmentSource[] {
  const wanted = reference.toLowerCase();
  return sources
    .map((source) => ({ source, distance: Math.min(...[source.id, source.slug, source.name ?? ''].map((candidate) => editDistance(wanted, candidate.toLowerCase()))) }))
    .filter(({ source, distance }) => distance <= Math.max(2, Math.floor(wanted.length / 3)) || source.slug.includes(wanted) || (source.name ?? '').toLowerCase().includes(wanted))
    .sort((a, b) => a.distance - b.distance)
    .slice(0, 3)
    .map(({ source }) => source);
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length]!;
}
