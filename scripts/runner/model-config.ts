/**
 * Model configuration: what a model's front matter and project.yml's `defaults`/`folders` may say,
 * and how they merge (dbt-style: most specific wins; tags accumulate).
 */
import { z } from 'zod';

export const MODEL_KINDS = ['cluster', 'secret', 'connection', 'source', 'view', 'materialized_view'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];
/**
 * Kinds in the manifest: model kinds, the index nodes derived from `indexes` config, and data
 * tests (from `tests:` in front matter and from tests/*.sql).
 */
export type ManifestKind = ModelKind | 'index' | 'test';

const identifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]*$/, 'must be an identifier: letters, digits and _');

export const IndexConfigSchema = z.union([
  z.strictObject({
    columns: z.array(z.string().min(1)).min(1),
    name: identifier.optional(),
    cluster: identifier.optional(),
  }),
  z.strictObject({
    default: z.literal(true),
    name: identifier.optional(),
    cluster: identifier.optional(),
  }),
]);
export type IndexConfig = z.output<typeof IndexConfigSchema>;

export const ModelConfigSchema = z.strictObject({
  kind: z.enum(MODEL_KINDS).optional(),
  cluster: identifier.optional(),
  schema: identifier.optional(),
  tags: z.array(z.string().min(1)).optional(),
  enabled: z.boolean().optional(),
  description: z.string().optional(),
  indexes: z.array(IndexConfigSchema).optional(),
  /** Deploy this model's data tests as materialized views of their failing rows (continuous tests). */
  store_failures: z.boolean().optional(),
});
export type ModelConfigInput = z.output<typeof ModelConfigSchema>;

export interface ModelConfig {
  readonly kind: ModelKind;
  readonly cluster: string | undefined;
  readonly schema: string;
  readonly tags: readonly string[];
  readonly enabled: boolean;
  readonly description: string | undefined;
  readonly indexes: readonly IndexConfig[];
  readonly storeFailures: boolean;
}

/**
 * Merges config layers, least specific first. Scalars: the last layer that sets one wins.
 * Tags: the union of every layer, in order (a folder tag stays on every model in it).
 */
export function mergeModelConfig(layers: readonly (ModelConfigInput | undefined)[], fallbackSchema: string): ModelConfig & { kindSet: boolean } {
  let kind: ModelKind | undefined;
  let cluster: string | undefined;
  let schema: string | undefined;
  let enabled: boolean | undefined;
  let description: string | undefined;
  let indexes: readonly IndexConfig[] | undefined;
  let storeFailures: boolean | undefined;
  const tags: string[] = [];
  for (const layer of layers) {
    if (!layer) continue;
    kind = layer.kind ?? kind;
    cluster = layer.cluster ?? cluster;
    schema = layer.schema ?? schema;
    enabled = layer.enabled ?? enabled;
    description = layer.description ?? description;
    indexes = layer.indexes ?? indexes;
    storeFailures = layer.store_failures ?? storeFailures;
    for (const tag of layer.tags ?? []) if (!tags.includes(tag)) tags.push(tag);
  }
  return {
    kind: kind ?? 'view',
    kindSet: kind !== undefined,
    cluster,
    schema: schema ?? fallbackSchema,
    tags,
    enabled: enabled ?? true,
    description,
    indexes: indexes ?? [],
    storeFailures: storeFailures ?? false,
  };
}
