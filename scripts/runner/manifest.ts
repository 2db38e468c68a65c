/**
 * target/: the compiled artifacts other tools read. `target/manifest.json` has the contract shape
 * `{ models: [{ name, kind, path, depends_on, checksum, sql, … }], order: [names] }` and
 * `target/compiled/<name>.sql` holds each statement, runnable with psql. Secret values are never
 * here: a secret's statement carries a placeholder bound at deploy time.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { CompiledNode, CompiledProject } from './compile.ts';

export const TARGET_DIR = 'target';
export const MANIFEST_FILE = 'manifest.json';
export const COMPILED_DIR = 'compiled';

export interface ManifestModel {
  readonly name: string;
  readonly kind: CompiledNode['kind'];
  readonly path: string;
  readonly depends_on: readonly string[];
  readonly checksum: string;
  readonly sql: string;
  readonly schema: string;
  readonly cluster: string | null;
  readonly tags: readonly string[];
  readonly description: string | null;
  readonly secret_env: string | null;
  readonly parent: string | null;
  readonly body_line: { readonly sql_line: number; readonly file_line: number };
  /** Unit tests only (kind test): `"unit"`, with the view they test and what they mock. Never deployed. */
  readonly test_kind?: 'unit';
  readonly unit_test?: { readonly target: string; readonly at_time: string | null; readonly mocks: readonly string[]; readonly line: number | null };
}

export interface Manifest {
  readonly project: string;
  readonly target: { readonly name: string; readonly type: string };
  readonly models: readonly ManifestModel[];
  readonly order: readonly string[];
}

/** The manifest of the selected nodes (all of them when `selected` is undefined), in deploy order. */
export function buildManifest(project: CompiledProject, selected?: ReadonlySet<string>): Manifest {
  const order = selected ? project.order.filter((name) => selected.has(name)) : project.order;
  return {
    project: project.name,
    target: { name: project.target.name, type: project.target.type },
    models: order.map((name) => toManifestModel(project.nodes.get(name)!)),
    order,
  };
}

function toManifestModel(node: CompiledNode): ManifestModel {
  return {
    name: node.name,
    kind: node.kind,
    path: node.path,
    depends_on: node.dependsOn,
    checksum: node.checksum,
    sql: node.sql,
    schema: node.schema,
    cluster: node.cluster ?? null,
    tags: node.tags,
    description: node.description ?? null,
    secret_env: node.secretEnv ?? null,
    parent: node.parent ?? null,
    body_line: { sql_line: node.bodyLine.sqlLine, file_line: node.bodyLine.fileLine },
    ...(node.test?.unit
      ? {
          test_kind: 'unit' as const,
          unit_test: { target: node.test.unit.target.written, at_time: node.test.unit.atTime ?? null, mocks: node.test.unit.mocks.map((mock) => mock.written), line: node.test.location.line ?? null },
        }
      : {}),
  };
}

export interface WriteSummary {
  readonly written: number;
  readonly unchanged: number;
  readonly removed: number;
  readonly manifestPath: string;
}

/**
 * Writes target/. Compiled files whose checksum matches the previous manifest are left alone, and
 * files of models no longer in the manifest are removed, so target/ mirrors exactly one compile.
 */
export function writeTarget(root: string, manifest: Manifest): WriteSummary {
  const targetDir = path.join(root, TARGET_DIR);
  const compiledDir = path.join(targetDir, COMPILED_DIR);
  const manifestPath = path.join(targetDir, MANIFEST_FILE);
  mkdirSync(compiledDir, { recursive: true });

  const previous = readPreviousChecksums(manifestPath);
  const existing = new Set(readdirSync(compiledDir).filter((file) => file.endsWith('.sql')));
  let written = 0;
  let unchanged = 0;
  for (const model of manifest.models) {
    const file = `${model.name}.sql`;
    if (existing.has(file) && previous.get(model.name) === model.checksum) {
      unchanged++;
    } else {
      writeFileSync(path.join(compiledDir, file), `${model.sql};\n`);
      written++;
    }
    existing.delete(file);
  }
  for (const stale of existing) rmSync(path.join(compiledDir, stale));
  writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  return { written, unchanged, removed: existing.size, manifestPath: path.relative(root, manifestPath) };
}

function readPreviousChecksums(manifestPath: string): Map<string, string> {
  try {
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Partial<Manifest>;
    return new Map((manifest.models ?? []).map((model) => [model.name, model.checksum]));
  } catch {
    return new Map();
  }
}
