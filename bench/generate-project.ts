/**
 * A generated project for benchmarks: N models (~1 KB each) in a DAG of chains and fan-outs,
 * with the front matter, macros and refs real projects have. Deterministic: same N, same files.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface GeneratedProject {
  readonly root: string;
  readonly models: number;
  /** A model in the middle of a chain, for edit benchmarks. */
  readonly editableModel: string;
}

const CHAIN_LENGTH = 50;

export function generateProject(root: string, count: number): GeneratedProject {
  // Never generate over a real project (an empty root would mean the current directory).
  if (!root || existsSync(path.join(root, 'project.yml'))) throw new Error(`refusing to generate a benchmark project into '${root}'`);
  let seed = 42;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed / 2_147_483_648;
  };
  mkdirSync(path.join(root, 'macros'), { recursive: true });
  writeFileSync(
    path.join(root, 'project.yml'),
    ['name: bench', 'vars:', '  window_minutes: 60', '  include_test_events: false', 'folders:', '  marts: { kind: materialized_view, tags: [marts] }', ''].join('\n'),
  );
  writeFileSync(path.join(root, 'macros/audit_columns.sql'), "current_timestamp AS compiled_at,\n'{{target.name}}' AS target_name,\n");
  writeFileSync(path.join(root, 'macros/not_test.sql'), "{{^vars.include_test_events}}AND coalesce(u0.kind, '') <> 'test'{{/vars.include_test_events}}");

  for (let index = 0; index < count; index++) {
    const name = `model_${String(index).padStart(5, '0')}`;
    const folder = index % 3 === 0 ? 'marts' : 'staging';
    const dir = path.join(root, 'models', folder, `group_${Math.floor(index / 500)}`);
    mkdirSync(dir, { recursive: true });
    const upstream: string[] = [];
    if (index % CHAIN_LENGTH !== 0) upstream.push(`model_${String(index - 1).padStart(5, '0')}`);
    if (index >= CHAIN_LENGTH && index % 10 === 5) {
      for (let fan = 0; fan < 3; fan++) upstream.push(`model_${String(Math.floor(random() * (index - index % CHAIN_LENGTH))).padStart(5, '0')}`);
    }
    const unique = [...new Set(upstream)];
    const frontMatter =
      index % 10 === 0
        ? `---\ndescription: Model ${index} with an index\nindexes:\n  - columns: [id]\n---\n`
        : index % 10 === 1
          ? ''
          : `---\ntags: [bench, group_${index % 7}]\ndescription: Generated model number ${index} of the benchmark\n---\n`;
    const from = unique.length
      ? unique.map((ref, position) => (position === 0 ? `FROM {{ref.${ref}}} AS u0` : `LEFT JOIN {{ref.${ref}}} AS u${position} ON u${position}.id = u0.id`)).join('\n')
      : "FROM (VALUES (1, 'a', 'x'), (2, 'b', 'test')) AS u0 (id, label, kind)";
    const body = [
      `-- ${name}: a generated model; the padding below brings it to about one kilobyte, like a real one.`,
      'SELECT',
      '  u0.id,',
      '  u0.label,',
      "  u0.kind,",
      '  {{> audit_columns}}',
      `  length(u0.label) + ${index} AS score,`,
      `  CASE WHEN u0.id % 2 = 0 THEN 'even' ELSE 'odd' END AS parity,`,
      `  upper(u0.label) AS label_upper,`,
      `  lower(u0.label) AS label_lower,`,
      `  coalesce(u0.label, 'none') AS label_or_none,`,
      `  u0.id * {{vars.window_minutes}} AS window_weight`,
      from,
      `WHERE u0.id IS NOT NULL {{> not_test}}`,
      `  AND u0.label <> 'a label that never appears, padding the model to a realistic size ${'x'.repeat(40)}'`,
      '',
    ].join('\n');
    writeFileSync(path.join(dir, `${name}.sql`), frontMatter + body);
  }
  return { root, models: count, editableModel: path.join('models', 'staging', 'group_10', 'model_05002.sql') };
}
