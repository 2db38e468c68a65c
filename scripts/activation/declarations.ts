/**
 * Activation declarations: `activations/<name>.yml`, one activation per file, the file's name being
 * the activation's.
 *
 * A file of their own rather than a model's front matter because an activation is not part of
 * the model: it names a destination, a URL and secrets that differ per environment, it is run by
 * another process (`npm run activate`) and it must not change the model's checksum (editing a
 * mapping must never redeploy a mart, nor a redeploy restart a sync). One file per activation also
 * gives the checkpoint a stable name: renaming the file starts a new activation from scratch.
 *
 * Parsing and checking here never touch the database; the columns a mapping names are checked
 * against the relation when the worker subscribes (see `checkColumns`).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { CompiledNode, CompiledProject } from '../runner/compile.ts';
import { didYouMean, ProjectError, throwIfAny } from '../runner/errors.ts';
import { parseYaml, validateYaml, type ParsedYaml } from '../runner/yaml-config.ts';

export const ACTIVATIONS_DIR = 'activations';

const identifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]*$/, 'must be a column name: letters, digits and _');
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name');
/** `[a, b]` (each column under its own name) or `{ name: column }`. */
const ColumnMapping = z.union([z.array(identifier).min(1), z.record(z.string().min(1), identifier)]);

const SegmentMappingSchema = z.strictObject({
  /** The Segment call each upserted row becomes. */
  call: z.enum(['identify', 'track', 'group']),
  user_id: identifier.optional(),
  anonymous_id: identifier.optional(),
  /** group: the column holding the group id. */
  group_id: identifier.optional(),
  /** track: the event name, or the column that holds it. */
  event: z.string().min(1).optional(),
  event_column: identifier.optional(),
  /** identify and group: traits. */
  traits: ColumnMapping.optional(),
  /** track: properties. */
  properties: ColumnMapping.optional(),
  /** A column holding the call's timestamp (default: none, Segment uses the time it received it). */
  timestamp: identifier.optional(),
  /**
   * What a row that leaves (a retraction) sends: `null_traits` (identify/group with every mapped
   * trait set to null), `track` (a `delete_event` track with the row's mapped traits or
   * properties), or `nothing`. Default: null_traits for identify and group, nothing for track.
   */
  on_delete: z.enum(['nothing', 'null_traits', 'track']).optional(),
  delete_event: z.string().min(1).optional(),
});

const WebhookSchema = z.strictObject({
  /** Where to POST; or `url_env`, the variable holding it (URLs with credentials stay out of the repo). */
  url: z.string().min(1).optional(),
  url_env: envName.optional(),
  /** The variable holding the HMAC key. Its value is never printed. */
  secret_env: envName,
  signature_header: z.string().regex(/^[A-Za-z0-9-]+$/, 'must be a header name').optional(),
  signature_algorithm: z.enum(['sha1', 'sha256']).optional(),
  signature_encoding: z.enum(['hex', 'base64']).optional(),
  /** Changes per request (one timestamp's changes are split into requests of at most this many). */
  batch_size: z.number().int().min(1).max(10_000).optional(),
  /** Per request, in milliseconds. */
  timeout_ms: z.number().int().min(100).max(300_000).optional(),
  /** Extra request headers (not secrets: use a variable for those). */
  headers: z.record(z.string().regex(/^[A-Za-z0-9-]+$/), z.string()).optional(),
});

export const ActivationFileSchema = z.strictObject({
  description: z.string().optional(),
  /** The model whose rows are activated. */
  model: identifier,
  /** The columns that identify a row: the SUBSCRIBE's ENVELOPE UPSERT key, and each change's identity. */
  key: z.array(identifier).min(1),
  destination: z.enum(['segment', 'webhook']),
  segment: SegmentMappingSchema.optional(),
  webhook: WebhookSchema.optional(),
  /** false: kept in the project, not run. */
  enabled: z.boolean().optional(),
});

export type SegmentMappingInput = z.output<typeof SegmentMappingSchema>;
export type WebhookInput = z.output<typeof WebhookSchema>;

export interface SegmentMapping {
  readonly call: 'identify' | 'track' | 'group';
  readonly userId: string | undefined;
  readonly anonymousId: string | undefined;
  readonly groupId: string | undefined;
  readonly event: string | undefined;
  readonly eventColumn: string | undefined;
  /** name in Segment → column. */
  readonly traits: ReadonlyMap<string, string>;
  readonly properties: ReadonlyMap<string, string>;
  readonly timestamp: string | undefined;
  readonly onDelete: 'nothing' | 'null_traits' | 'track';
  readonly deleteEvent: string | undefined;
}

export interface WebhookDestination {
  readonly url: string | undefined;
  readonly urlEnv: string | undefined;
  readonly secretEnv: string;
  readonly signatureHeader: string;
  readonly signatureAlgorithm: 'sha1' | 'sha256';
  readonly signatureEncoding: 'hex' | 'base64';
  readonly batchSize: number;
  readonly timeoutMs: number;
  readonly headers: Readonly<Record<string, string>>;
}

export interface Activation {
  readonly name: string;
  /** Relative to the project root. */
  readonly file: string;
  readonly description: string | undefined;
  readonly model: string;
  readonly key: readonly string[];
  readonly enabled: boolean;
  readonly destination: { readonly kind: 'segment'; readonly segment: SegmentMapping } | { readonly kind: 'webhook'; readonly webhook: WebhookDestination };
  /** Where a key of the file is written, for errors found later (a column the relation lacks). */
  readonly locate: ParsedYaml['locate'];
}

/** An activation bound to the relation it follows in the target. */
export interface BoundActivation {
  readonly activation: Activation;
  readonly database: string;
  readonly schema: string;
  readonly relation: string;
  /** The cluster the SUBSCRIBE runs on: the model's own, else the target's. */
  readonly cluster: string;
}

export const ACTIVATION_NAME = /^[a-z_][a-z0-9_]*$/;

/** Reads and checks every `activations/*.yml` of the project (none: an empty list). */
export function loadActivations(root: string): Activation[] {
  const dir = path.join(root, ACTIVATIONS_DIR);
  if (!existsSync(dir)) return [];
  const files = readdirSync(dir)
    .filter((name) => /\.ya?ml$/.test(name))
    .sort();
  const errors: ProjectError[] = [];
  const activations: Activation[] = [];
  const seen = new Map<string, string>();
  for (const name of files) {
    const file = `${ACTIVATIONS_DIR}/${name}`;
    try {
      const activation = parseActivation(file, readFileSync(path.join(dir, name), 'utf8'));
      const other = seen.get(activation.name);
      if (other) throw new ProjectError(`activation ${activation.name} is declared twice (also ${other})`, { file }, 'keep one of the two files');
      seen.set(activation.name, file);
      activations.push(activation);
    } catch (error) {
      if (error instanceof ProjectError) errors.push(error);
      else if (error && typeof error === 'object' && 'errors' in error && Array.isArray(error.errors)) errors.push(...(error.errors as ProjectError[]));
      else throw error;
    }
  }
  throwIfAny(errors);
  return activations;
}

/** One declaration file; `file` is relative to the project root (`activations/<name>.yml`). */
export function parseActivation(file: string, text: string): Activation {
  const name = path.basename(file).replace(/\.ya?ml$/, '');
  if (!ACTIVATION_NAME.test(name)) {
    throw new ProjectError(`activation file name '${path.basename(file)}' is not a valid activation name`, { file }, 'name it in lower case letters, digits and _ (the name identifies its checkpoint)');
  }
  const parsed = parseYaml({ file, text });
  const input = validateYaml(parsed, ActivationFileSchema, { what: file });
  const at = (key: readonly PropertyKey[], message: string, fix: string) => new ProjectError(message, parsed.locate(key), fix);
  const errors: ProjectError[] = [];
  const blocks = { segment: input.segment, webhook: input.webhook };
  for (const kind of ['segment', 'webhook'] as const) {
    if (kind === input.destination && !blocks[kind]) errors.push(at(['destination'], `destination ${kind} needs a '${kind}:' block`, `add '${kind}:' with the ${kind === 'segment' ? 'mapping (call, user_id, traits…)' : 'url and secret_env'}`));
    if (kind !== input.destination && blocks[kind]) errors.push(at([kind], `'${kind}:' is given but the destination is ${input.destination}`, `remove it, or set destination: ${kind}`));
  }
  if (new Set(input.key).size !== input.key.length) errors.push(at(['key'], 'a key column is listed twice', 'list each key column once'));
  let destination: Activation['destination'] | undefined;
  if (input.destination === 'segment' && input.segment) {
    const mapping = segmentMapping(input.segment, (key, message, fix) => errors.push(at(['segment', ...key], message, fix)));
    destination = { kind: 'segment', segment: mapping };
  } else if (input.destination === 'webhook' && input.webhook) {
    const hook = input.webhook;
    if ((hook.url === undefined) === (hook.url_env === undefined)) errors.push(at(['webhook'], 'a webhook needs exactly one of url and url_env', 'set url: https://… or url_env: A_VARIABLE'));
    if (hook.url !== undefined && !/^https?:\/\//.test(hook.url)) errors.push(at(['webhook', 'url'], `webhook url must start with http:// or https://`, 'write the full URL'));
    destination = {
      kind: 'webhook',
      webhook: {
        url: hook.url,
        urlEnv: hook.url_env,
        secretEnv: hook.secret_env,
        signatureHeader: hook.signature_header ?? 'X-Signature',
        signatureAlgorithm: hook.signature_algorithm ?? 'sha1',
        signatureEncoding: hook.signature_encoding ?? 'hex',
        batchSize: hook.batch_size ?? 100,
        timeoutMs: hook.timeout_ms ?? 10_000,
        headers: hook.headers ?? {},
      },
    };
  }
  throwIfAny(errors);
  return {
    name,
    file,
    description: input.description,
    model: input.model,
    key: input.key,
    enabled: input.enabled ?? true,
    destination: destination!,
    locate: parsed.locate,
  };
}

function segmentMapping(input: SegmentMappingInput, fail: (key: readonly PropertyKey[], message: string, fix: string) => void): SegmentMapping {
  const { call } = input;
  if ((call === 'identify' || call === 'track') && !input.user_id && !input.anonymous_id) fail(['call'], `a Segment ${call} needs user_id or anonymous_id`, 'name the column holding the user id: user_id: <column>');
  if (call === 'group' && !input.group_id) fail(['call'], 'a Segment group needs group_id', 'name the column holding the group id: group_id: <column>');
  if (call === 'group' && !input.user_id && !input.anonymous_id) fail(['call'], 'a Segment group needs user_id or anonymous_id', 'name the column holding the user id: user_id: <column>');
  if (call === 'track' && (input.event === undefined) === (input.event_column === undefined)) fail(['call'], 'a Segment track needs exactly one of event and event_column', "set event: 'Audience Entered' or event_column: <column>");
  if (call !== 'track' && (input.event !== undefined || input.event_column !== undefined)) fail([input.event !== undefined ? 'event' : 'event_column'], `event is for track calls, not ${call}`, 'remove it');
  if (call !== 'track' && input.properties) fail(['properties'], `properties are for track calls; ${call} takes traits`, 'rename it to traits');
  if (call === 'track' && input.traits) fail(['traits'], 'traits are for identify and group; track takes properties', 'rename it to properties');
  if (call !== 'group' && input.group_id) fail(['group_id'], `group_id is for group calls, not ${call}`, 'remove it');
  const onDelete = input.on_delete ?? (call === 'track' ? 'nothing' : 'null_traits');
  if (onDelete === 'null_traits' && call === 'track') fail(['on_delete'], 'on_delete: null_traits needs an identify or group call', 'use on_delete: track (with delete_event) or nothing');
  if (onDelete === 'null_traits' && !input.traits) fail(['on_delete'], 'on_delete: null_traits needs traits to set to null', 'list traits, or choose on_delete: track or nothing');
  if (onDelete === 'track' && !input.delete_event) fail(['on_delete'], 'on_delete: track needs delete_event, the event sent when a row leaves', "add delete_event: 'Audience Exited'");
  if (onDelete !== 'track' && input.delete_event) fail(['delete_event'], `delete_event is only sent with on_delete: track (on_delete is ${onDelete})`, 'set on_delete: track, or remove delete_event');
  return {
    call,
    userId: input.user_id,
    anonymousId: input.anonymous_id,
    groupId: input.group_id,
    event: input.event,
    eventColumn: input.event_column,
    traits: columnMap(input.traits),
    properties: columnMap(input.properties),
    timestamp: input.timestamp,
    onDelete,
    deleteEvent: input.delete_event,
  };
}

function columnMap(input: z.output<typeof ColumnMapping> | undefined): ReadonlyMap<string, string> {
  if (!input) return new Map();
  return Array.isArray(input) ? new Map(input.map((column) => [column, column])) : new Map(Object.entries(input));
}

const ACTIVATABLE_KINDS = new Set(['view', 'materialized_view', 'source']);

/** Binds each activation to its model in the compiled project; errors name the file and the model. */
export function bindActivations(activations: readonly Activation[], project: CompiledProject): BoundActivation[] {
  const errors: ProjectError[] = [];
  const bound: BoundActivation[] = [];
  const models = [...project.nodes.values()].filter((node) => ACTIVATABLE_KINDS.has(node.kind));
  for (const activation of activations) {
    const node: CompiledNode | undefined = project.nodes.get(activation.model);
    if (!node || !ACTIVATABLE_KINDS.has(node.kind)) {
      const why = project.disabled.includes(activation.model)
        ? `model ${activation.model} is disabled on target ${project.target.name}`
        : node
          ? `model ${activation.model} is a ${node.kind}: only views, materialized views and sources have rows to activate`
          : `unknown model '${activation.model}'${didYouMean(activation.model, models.map((model) => model.name))}`;
      errors.push(new ProjectError(`activation ${activation.name}: ${why}`, activation.locate(['model']), 'name a view, materialized view or source of the project'));
      continue;
    }
    bound.push({ activation, database: project.target.database, schema: node.schema, relation: node.name, cluster: node.cluster ?? project.target.cluster });
  }
  throwIfAny(errors);
  return bound;
}

/** Every column a declaration reads, each with the key path that names it (for errors). */
export function mappedColumns(activation: Activation): Array<{ column: string; at: readonly PropertyKey[] }> {
  const columns: Array<{ column: string; at: readonly PropertyKey[] }> = activation.key.map((column, index) => ({ column, at: ['key', index] }));
  if (activation.destination.kind === 'segment') {
    const mapping = activation.destination.segment;
    for (const [key, column] of [
      ['user_id', mapping.userId],
      ['anonymous_id', mapping.anonymousId],
      ['group_id', mapping.groupId],
      ['event_column', mapping.eventColumn],
      ['timestamp', mapping.timestamp],
    ] as const) {
      if (column) columns.push({ column, at: ['segment', key] });
    }
    for (const column of mapping.traits.values()) columns.push({ column, at: ['segment', 'traits'] });
    for (const column of mapping.properties.values()) columns.push({ column, at: ['segment', 'properties'] });
  }
  return columns;
}

/** Checks the declaration's columns against the relation's (read when subscribing). */
export function checkColumns(activation: Activation, relationColumns: readonly string[], relation: string): void {
  const have = new Set(relationColumns);
  const errors = mappedColumns(activation)
    .filter(({ column }) => !have.has(column))
    .map(
      ({ column, at }) =>
        new ProjectError(`activation ${activation.name}: ${relation} has no column '${column}'${didYouMean(column, relationColumns)}`, activation.locate(at), `its columns: ${relationColumns.join(', ')}`),
    );
  throwIfAny(errors);
}

/**
 * Selection: names of activations, or of models (every activation of that model). Unknown names
 * are errors, so a typo does not silently run nothing.
 */
export function selectActivations(activations: readonly Activation[], select: readonly string[] | undefined, exclude: readonly string[] | undefined): Activation[] {
  const words = (list: readonly string[] | undefined) => (list ?? []).flatMap((each) => each.split(/[\s,]+/)).filter(Boolean);
  const selected = words(select);
  const excluded = words(exclude);
  const known = new Set(activations.flatMap((each) => [each.name, each.model]));
  const unknown = [...selected, ...excluded].filter((word) => !known.has(word));
  if (unknown.length) {
    throw new ProjectError(`no activation or activated model named ${unknown.map((word) => `'${word}'${didYouMean(word, known)}`).join(', ')}`, undefined, `activations: ${activations.map((each) => each.name).join(', ') || '(none)'}`);
  }
  const matches = (activation: Activation, list: readonly string[]) => list.includes(activation.name) || list.includes(activation.model);
  return activations.filter((activation) => activation.enabled && (selected.length === 0 || matches(activation, selected)) && !matches(activation, excluded));
}
