/**
 * compileProject: project.yml + models/ + macros/ → compiled statements in deploy order.
 *
 * Pipeline (dbt-core's shape): read files → config (folder defaults + front matter) → render
 * templates (ref records dependencies) → statements per kind → graph → order. No database.
 *
 * `ProjectCompiler` keeps every stage's result per file, so `recompile(changedPaths)` only
 * re-reads and re-renders what an edit touched (the edited models, the models using an edited
 * macro) and reuses the graph order when no dependency changed. Watch mode and the benchmark's
 * one-edit figure rely on that.
 */
import { hash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { asProjectErrors, didYouMean, ProjectError, ProjectErrors, throwIfAny, type SourceLocation } from './errors.ts';
import { readFrontMatter, type FrontMatter } from './front-matter.ts';
import { invertDependencies, orderGraph } from './graph.ts';
import { LineIndex } from './line-index.ts';
import { mergeModelConfig, type ManifestKind, type ModelConfig, type ModelConfigInput } from './model-config.ts';
import { buildIndexStatement, buildStatement, SqlRelation } from './model-sql.ts';
import { listTemplates, MACROS_DIR, MODELS_DIR, TESTS_DIR, readTemplate, splitFrontMatter, checkUniqueModelNames, type TemplateFile } from './project-files.ts';
import { loadProjectConfig, mergeVars, resolveTarget, PROJECT_FILE, type ProjectConfig, type ResolvedTarget, type SecretConfig } from './project-config.ts';
import { codeOnly, referencedSecretsAndConnections } from '../shared/sql-scan.ts';
import { parseTemplate, TemplateSyntaxError, type TemplateToken } from './template/parse.ts';
import { renderTemplate, TemplateRenderError, type RenderOptions, type TemplateSource } from './template/render.ts';
import { outputColumns } from './tests/model-columns.ts';
import { readTestDeclarations, type TestDeclaration, type TestKind, type TestSeverity } from './tests/test-config.ts';
import { failuresSchema, generatedTestName, storedFailuresStatement, testQuery } from './tests/test-sql.ts';
import { readSingularTestConfig, singularTestQuery } from './tests/singular-test.ts';
import { countNewlines, parseUnitTest, splitUnitTests, type UnitTestColumn, type UnitTestDefinition } from './tests/unit-test-parse.ts';
import { fixtureEvents, fixtureQuery } from './tests/segment-fixtures.ts';

export interface CompileOptions {
  /** Target name; project.yml's default_target when absent. */
  readonly target?: string;
  /** `--vars` as given on the command line (YAML or JSON object). */
  readonly vars?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** `--store-failures`: every data test is deployed as a materialized view of its failing rows. */
  readonly storeFailures?: boolean;
}

/** What a test node is: the query of its failing rows and how a failure counts. */
export interface TestInfo {
  readonly kind: TestKind;
  /** The model a generic test is declared on; undefined for singular tests (tests/*.sql). */
  readonly model: string | undefined;
  readonly column: string | undefined;
  readonly severity: TestSeverity;
  /** Deployed as a materialized view of its failing rows (in `schema`, see failuresSchema). */
  readonly storeFailures: boolean;
  /** The SELECT of the failing rows. */
  readonly query: string;
  /** Where the test is declared (its front-matter entry, or its file). */
  readonly location: SourceLocation;
  /** Unit tests: the parsed EXECUTE UNIT TEST (never deployed; models:test runs it on the local server). */
  readonly unit?: UnitTestDefinition;
}

/** One deployable object: a model, or an index derived from a model's `indexes` config. */
export interface CompiledNode {
  readonly name: string;
  readonly kind: ManifestKind;
  /** Project-relative path of the file it comes from. */
  readonly path: string;
  /** Sorted names of the nodes it depends on (refs plus implicit edges). */
  readonly dependsOn: readonly string[];
  readonly sql: string;
  readonly checksum: string;
  readonly schema: string;
  /** Sources, materialized views and indexes: the cluster they run in. */
  readonly cluster: string | undefined;
  readonly tags: readonly string[];
  readonly description: string | undefined;
  /** Secrets: the environment variable bound into the statement at deploy time. */
  readonly secretEnv: string | undefined;
  /** Indexes: the model they index. */
  readonly parent: string | undefined;
  /** Compiled SQL line `sqlLine` is line `fileLine` of `path`; later lines follow one for one. */
  readonly bodyLine: { readonly sqlLine: number; readonly fileLine: number };
  /** Data tests: their query and settings (`sql` is the query, or its materialized view when stored). */
  readonly test?: TestInfo;
}

export interface CompiledProject {
  readonly name: string;
  readonly root: string;
  readonly target: ResolvedTarget;
  readonly vars: Readonly<Record<string, unknown>>;
  /** project.yml's secrets: model name → environment variable (and local default). */
  readonly secrets: Readonly<Record<string, SecretConfig>>;
  readonly nodes: ReadonlyMap<string, CompiledNode>;
  /** Every node, in deploy order. */
  readonly order: readonly string[];
  readonly depth: ReadonlyMap<string, number>;
  readonly dependencies: ReadonlyMap<string, readonly string[]>;
  readonly dependents: ReadonlyMap<string, readonly string[]>;
  /** Models present but switched off with `enabled: false`. */
  readonly disabled: readonly string[];
  readonly timings: CompileTimings;
}

export interface CompileTimings {
  readonly readMs: number;
  readonly renderMs: number;
  readonly graphMs: number;
  readonly totalMs: number;
  /** How many models were rendered in this pass (all on a full compile, few on an edit). */
  readonly rendered: number;
}

interface ModelEntry {
  readonly file: TemplateFile;
  /** A model under models/, or a singular test under tests/. */
  readonly role: 'model' | 'test';
  /** Tests declared in the model's front matter. */
  tests: TestDeclaration[];
  /** Singular tests: the severity their front matter sets. */
  severity?: TestSeverity;
  config?: ModelConfig;
  body?: TemplateSource;
  /** EXECUTE UNIT TEST statements after the model's statement (or in a tests/ file), split out before rendering. */
  unitTests: TemplateSource[];
  bodyLineOffset: number;
  /** Front-matter errors: the model cannot render until they are fixed. */
  configErrors: ProjectError[];
  compiled?: CompiledModel;
  renderErrors: ProjectError[];
}

interface CompiledModel {
  readonly nodes: CompiledNode[];
  readonly macros: ReadonlySet<string>;
  /** Where each ref is written (first use): in the model, or in a macro it includes. */
  readonly refSites: ReadonlyMap<string, SourceLocation>;
}

interface RenderedBody {
  readonly text: string;
  readonly refs: ReadonlySet<string>;
  readonly refSites: ReadonlyMap<string, SourceLocation>;
  readonly macros: ReadonlySet<string>;
}

interface MacroEntry {
  readonly source?: TemplateSource;
  readonly error?: ProjectError;
}

/** Compiles the project at `root` once. */
export function compileProject(root: string, options: CompileOptions = {}): CompiledProject {
  return new ProjectCompiler(root, options).compile();
}

export class ProjectCompiler {
  private config!: ProjectConfig;
  private target!: ResolvedTarget;
  private vars!: Record<string, unknown>;
  private targetView!: Record<string, unknown>;
  private readonly macros = new Map<string, MacroEntry>();
  private readonly models = new Map<string, ModelEntry>();
  private refs: Record<string, SqlRelation> = Object.create(null);
  private modelKinds = new Map<string, ModelConfig['kind']>();
  private last: CompiledProject | undefined;
  /** The nodes and edges of `last`, patched in place on edits. */
  private nodes = new Map<string, CompiledNode>();
  private dependencies = new Map<string, readonly string[]>();
  /** Model file → the names of its nodes in `last`, to patch them on an edit. */
  private nodesByPath = new Map<string, string[]>();
  /** Model files re-rendered since `last` was assembled (edits that failed stay pending). */
  private readonly pendingPaths = new Set<string>();
  /** Whether a structural change (model added, removed, renamed…) awaits a full assembly. */
  private pendingStructure = false;
  /** Model name → file, for the duplicate-name check on edits. */
  private readonly pathByName = new Map<string, string>();

  constructor(
    readonly root: string,
    private readonly options: CompileOptions = {},
  ) {}

  /** Reads and compiles everything. Throws ProjectError(s) naming every problem found. */
  compile(): CompiledProject {
    const started = performance.now();
    this.macros.clear();
    this.models.clear();
    this.pathByName.clear();
    this.last = undefined;
    this.pendingStructure = true;
    this.loadSettings();
    for (const file of listTemplates(this.root, MACROS_DIR)) this.loadMacro(file);
    const fileErrors: ProjectError[] = [];
    const templates: { template: TemplateFile; role: ModelEntry['role'] }[] = [];
    for (const role of ['model', 'test'] as const) {
      for (const file of listTemplates(this.root, role === 'model' ? MODELS_DIR : TESTS_DIR)) {
        try {
          templates.push({ template: readTemplate(this.root, file, role), role });
        } catch (error) {
          fileErrors.push(...asProjectErrors(error));
        }
      }
    }
    fileErrors.push(...checkUniqueModelNames(templates.map(({ template }) => template)));
    throwIfAny(fileErrors);
    for (const { template, role } of templates) {
      this.models.set(template.path, this.configure(template, role));
      this.pathByName.set(template.name, template.path);
    }
    const read = performance.now();
    this.rebuildRefs();
    for (const entry of this.models.values()) this.render(entry);
    const rendered = performance.now();
    return this.assemble(started, read, rendered, this.models.size);
  }

  /**
   * Applies edits (project-relative paths that changed, were added or were deleted) and compiles
   * again, reusing everything the edits did not touch.
   */
  recompile(changedPaths: readonly string[]): CompiledProject {
    if (!this.last || changedPaths.some((file) => normalize(file) === PROJECT_FILE)) return this.compile();
    const started = performance.now();
    const toRender = new Set<ModelEntry>();
    let identityChanged = false;

    for (const raw of changedPaths) {
      const file = normalize(raw);
      const exists = existsSync(path.join(this.root, file));
      if (file.startsWith(`${MACROS_DIR}/`) && file.endsWith('.sql')) {
        const name = file.slice(MACROS_DIR.length + 1, -4);
        if (exists) this.loadMacro(file);
        else this.macros.delete(name);
        for (const entry of this.models.values()) if (entry.compiled?.macros.has(name)) toRender.add(entry);
      } else if ((file.startsWith(`${MODELS_DIR}/`) || file.startsWith(`${TESTS_DIR}/`)) && file.endsWith('.sql')) {
        const role = file.startsWith(`${MODELS_DIR}/`) ? 'model' : 'test';
        const previous = this.models.get(file);
        if (!exists) {
          if (previous) {
            this.models.delete(file);
            this.pathByName.delete(previous.file.name);
            identityChanged = true;
          }
          continue;
        }
        const template = readTemplate(this.root, file, role);
        const clash = this.pathByName.get(template.name);
        if (clash !== undefined && clash !== file) throwIfAny(checkUniqueModelNames([this.models.get(clash)!.file, template]));
        this.pathByName.set(template.name, file);
        const entry = this.configure(template, role);
        this.models.set(file, entry);
        if (!previous || identity(previous) !== identity(entry)) identityChanged = true;
        toRender.add(entry);
      }
    }

    const read = performance.now();
    if (identityChanged) {
      // A model appeared, vanished, or changed kind, schema or enabled: every ref may render anew.
      this.rebuildRefs();
      for (const entry of this.models.values()) toRender.add(entry);
    }
    for (const entry of this.models.values()) if (entry.renderErrors.length) toRender.add(entry);
    for (const entry of toRender) {
      this.render(entry);
      this.pendingPaths.add(entry.file.path);
    }
    if (identityChanged) this.pendingStructure = true;
    const rendered = performance.now();
    return this.assemble(started, read, rendered, toRender.size);
  }

  private loadSettings(): void {
    this.config = loadProjectConfig(this.root);
    this.target = resolveTarget(this.config, this.options.target, this.options.env);
    this.vars = nullPrototype(mergeVars(this.config, this.options.vars));
    const targetView: Record<string, unknown> = nullPrototype({
      name: this.target.name,
      type: this.target.type,
      database: this.target.database,
      schema: this.target.schema,
      cluster: this.target.cluster,
      is_local: this.target.type === 'local',
      is_materialize: this.target.type === 'materialize',
    });
    for (const name of Object.keys(this.config.targets)) targetView[`is_${name}`] = name === this.target.name;
    this.targetView = targetView;
  }

  private loadMacro(file: string): void {
    const template = readTemplate(this.root, file, 'macro');
    try {
      this.macros.set(template.name, { source: { file: template.path, tokens: parseTemplate(template.text), lines: new LineIndex(template.text) } });
    } catch (error) {
      this.macros.set(template.name, { error: templateError(error, template.path, template.text, 0) });
    }
  }

  /** Front matter and folder defaults → the model's config; the body parsed, not yet rendered. */
  private configure(file: TemplateFile, role: ModelEntry['role']): ModelEntry {
    const entry: ModelEntry = { file, role, tests: [], unitTests: [], bodyLineOffset: 0, configErrors: [], renderErrors: [] };
    try {
      const split = splitFrontMatter(file);
      entry.bodyLineOffset = split.bodyLineOffset;
      if (role === 'test') {
        // A singular test: its own small config, the project's defaults for schema and cluster.
        const { severity, ...testConfig } = split.frontMatter === undefined ? {} : readSingularTestConfig(file.path, this.renderFrontMatter(file, split.frontMatter));
        entry.config = mergeModelConfig([this.config.defaults, testConfig], this.target.schema);
        if (severity) entry.severity = severity;
      } else {
        const frontMatter = split.frontMatter === undefined ? undefined : this.readConfig(file, split.frontMatter);
        entry.config = mergeModelConfig([this.config.defaults, ...this.folderDefaults(file.folder), frontMatter?.config], this.target.schema);
        if (frontMatter?.tests) entry.tests = readTestDeclarations(frontMatter.tests);
      }
      // Unit tests are split out before rendering: their refs are not the model's dependencies.
      const parts = splitUnitTests(split.body, { file: file.path, line: split.bodyLineOffset + 1 });
      entry.body = { file: file.path, tokens: parseTemplate(parts.model.text), lines: new LineIndex(parts.model.text, split.bodyLineOffset) };
      entry.unitTests = parts.tests.map((part) => ({ file: file.path, tokens: parseTemplate(part.text), lines: new LineIndex(part.text, split.bodyLineOffset + countNewlines(split.body, part.start)) }));
    } catch (error) {
      entry.configErrors = toErrors(error, file.path, file.text);
    }
    return entry;
  }

  private readConfig(file: TemplateFile, frontMatter: string): FrontMatter {
    return readFrontMatter(file.path, this.renderFrontMatter(file, frontMatter), 1);
  }

  private renderFrontMatter(file: TemplateFile, frontMatter: string): string {
    let text = frontMatter;
    if (text.includes('{{')) {
      // Front matter may use vars and target (e.g. `enabled: {{vars.kafka_enabled}}`), not refs.
      let tokens: TemplateToken[];
      try {
        tokens = parseTemplate(text);
      } catch (error) {
        throw templateError(error, file.path, text, 1);
      }
      text = renderTemplate({ file: file.path, tokens, lines: new LineIndex(text, 1) }, nullPrototype({ vars: this.vars, target: this.targetView }), {
        partial: () => undefined,
        partialNames: () => [],
        explainMissing: (keyPath) => explainVarMissing(keyPath, this.config) ?? (keyPath[0] === 'ref' ? { message: 'refs belong in the model body, not in its front matter' } : undefined),
      });
    }
    return text;
  }

  private folderDefaults(folder: string): ModelConfigInput[] {
    const layers: ModelConfigInput[] = [];
    const parts = folder === '' ? [] : folder.split('/');
    for (let depth = 1; depth <= parts.length; depth++) {
      const layer = this.config.folders[parts.slice(0, depth).join('/')];
      if (layer) layers.push(layer);
    }
    return layers;
  }

  private rebuildRefs(): void {
    this.refs = Object.create(null);
    this.modelKinds = new Map();
    for (const entry of this.models.values()) {
      if (!entry.config?.enabled || entry.role !== 'model') continue;
      this.refs[entry.file.name] = new SqlRelation(entry.file.name, entry.config.schema);
      this.modelKinds.set(entry.file.name, entry.config.kind);
    }
  }

  private render(entry: ModelEntry): void {
    entry.compiled = undefined;
    entry.renderErrors = [];
    const { config, body, file } = entry;
    if (!config || !body || !config.enabled) return;
    try {
      entry.compiled = entry.role === 'test' ? this.compileSingularTest(entry, config, body) : this.compileModel(entry, config, body);
      if (entry.unitTests.length) entry.compiled = this.addUnitTests(entry, config, entry.compiled);
    } catch (error) {
      entry.renderErrors = toErrors(error, file.path, file.text);
    }
  }

  /**
   * What a render records (refs, where each is first used, macros), for the body being rendered.
   * One options object serves every render: creating its four closures per model was measurable
   * at 10,000 models (and tsx names each one as it is created).
   */
  private rendering: { refs: Set<string>; refSites: Map<string, SourceLocation>; macros: Set<string> } = { refs: new Set(), refSites: new Map(), macros: new Set() };
  private readonly renderOptions: RenderOptions = {
    partial: (name) => {
      this.rendering.macros.add(name);
      const macro = this.macros.get(name);
      if (macro?.error) throw macro.error;
      return macro?.source;
    },
    partialNames: () => this.macros.keys(),
    onName: (keyPath, source, start) => {
      if (keyPath[0] !== 'ref' || keyPath.length < 2) return;
      const { refs, refSites } = this.rendering;
      refs.add(keyPath[1]!);
      if (!refSites.has(keyPath[1]!)) refSites.set(keyPath[1]!, { file: source.file, ...source.lines.position(start) });
    },
    explainMissing: (keyPath) => this.explainMissing(keyPath),
  };

  /** Renders a template body with refs, vars, target and macros, recording what it refs. */
  private renderBody(file: TemplateFile, body: TemplateSource, model: Record<string, unknown> | undefined): RenderedBody {
    const refs = new Set<string>();
    const refSites = new Map<string, SourceLocation>();
    const macros = new Set<string>();
    this.rendering = { refs, refSites, macros };
    const options = this.renderOptions;
    const view = nullPrototype({
      ref: this.refs,
      vars: this.vars,
      target: this.targetView,
      ...(model ? { this: this.refs[file.name]!, model: nullPrototype(model) } : {}),
    });
    return { text: renderTemplate(body, view, options), refs, refSites, macros };
  }

  private compileModel(entry: ModelEntry, config: ModelConfig, body: TemplateSource): CompiledModel {
    const { file, bodyLineOffset } = entry;
    const rendered = this.renderBody(file, body, { name: file.name, kind: config.kind, schema: config.schema, cluster: config.cluster ?? this.target.cluster, tags: config.tags });
    const { refs, refSites, macros } = rendered;
    const renderedBody = rendered.text;
    if (refs.has(file.name)) {
      const site = refSites.get(file.name)!;
      const through = site.file === file.path ? '' : ` through macro ${path.basename(site.file, '.sql')} (${site.file}), which it includes`;
      throw new ProjectError(`model '${file.name}' refs itself${through}`, site, 'use {{this}} to name the model being defined');
    }

    const runsInCluster = config.kind === 'source' || config.kind === 'materialized_view';
    const cluster = runsInCluster ? (config.cluster ?? this.target.cluster) : undefined;
    const secretEnv = config.kind === 'secret' ? this.secretEnv(file) : undefined;
    const location = { file: file.path, line: bodyLineOffset + 1 };
    const statement = buildStatement({ name: file.name, kind: config.kind, schema: config.schema, cluster: cluster ?? '', body: renderedBody, secretEnv, location });
    const sql = statement.sql;

    const dependsOn = new Set(refs);
    this.addImplicitDependencies(dependsOn, sql, cluster);
    const bodyLine = { sqlLine: statement.bodySqlLine, fileLine: bodyLineOffset + 1 + statement.bodyLinesSkipped };
    const node: CompiledNode = {
      name: file.name,
      kind: config.kind,
      path: file.path,
      dependsOn: [...dependsOn].sort(),
      sql,
      checksum: checksum(sql),
      schema: config.schema,
      cluster,
      tags: config.tags,
      description: config.description,
      secretEnv,
      parent: undefined,
      bodyLine,
    };
    const nodes = [node];

    if (config.indexes.length && !['view', 'materialized_view', 'source'].includes(config.kind)) {
      throw new ProjectError(`a ${config.kind} cannot have indexes`, { file: file.path }, 'indexes apply to views, materialized views and sources');
    }
    for (const index of config.indexes) {
      const indexStatement = buildIndexStatement({ name: file.name, schema: config.schema, cluster: config.cluster ?? this.target.cluster }, index);
      const indexDeps = new Set([file.name]);
      if (this.modelKinds.get(indexStatement.cluster) === 'cluster') indexDeps.add(indexStatement.cluster);
      nodes.push({
        name: indexStatement.name,
        kind: 'index',
        path: file.path,
        dependsOn: [...indexDeps].sort(),
        sql: indexStatement.sql,
        checksum: checksum(indexStatement.sql),
        schema: config.schema,
        cluster: indexStatement.cluster,
        tags: config.tags,
        description: undefined,
        secretEnv: undefined,
        parent: file.name,
        bodyLine: { sqlLine: 1, fileLine: 1 },
      });
    }
    nodes.push(...this.testNodes(entry, config, node));
    return { nodes, macros, refSites };
  }

  /** The nodes of the tests declared in a model's front matter. */
  private testNodes(entry: ModelEntry, config: ModelConfig, model: CompiledNode): CompiledNode[] {
    if (entry.tests.length === 0) return [];
    const errors: ProjectError[] = [];
    const columns = config.kind === 'view' || config.kind === 'materialized_view' ? outputColumns(model.sql.split('\n').slice(model.bodyLine.sqlLine - 1).join('\n')) : undefined;
    const self = this.refs[entry.file.name]!;
    const nodes: CompiledNode[] = [];
    for (const declaration of entry.tests) {
      if (declaration.column !== undefined && columns && !columns.includes(declaration.column)) {
        errors.push(
          new ProjectError(
            `${declaration.kind} test on ${entry.file.name}: no column '${declaration.column}'${didYouMean(declaration.column, columns)}`,
            declaration.columnLocation,
            `the model's columns: ${columns.join(', ')}`,
          ),
        );
        continue;
      }
      let to: SqlRelation | undefined;
      if (declaration.to !== undefined) {
        to = this.refs[declaration.to];
        if (!to) {
          const missing = this.explainMissing(['ref', declaration.to]);
          errors.push(new ProjectError(`relationships test on ${entry.file.name}: ${missing?.message ?? `unknown model '${declaration.to}'`}`, declaration.location, missing?.fix));
          continue;
        }
      }
      const name = generatedTestName(entry.file.name, declaration);
      const storeFailures = this.options.storeFailures || (declaration.storeFailures ?? config.storeFailures);
      const query = testQuery(self, declaration, to);
      const cluster = config.cluster ?? this.target.cluster;
      nodes.push(
        testNode({
          name,
          path: entry.file.path,
          dependsOn: [...new Set([entry.file.name, ...(declaration.to ? [declaration.to] : [])])].sort(),
          schema: config.schema,
          cluster,
          tags: config.tags,
          description: undefined,
          fileLine: declaration.location.line ?? 1,
          test: {
            kind: declaration.kind,
            model: entry.file.name,
            column: declaration.column,
            severity: declaration.severity ?? 'error',
            storeFailures,
            query,
            location: declaration.location,
          },
        }),
      );
    }
    throwIfAny(errors);
    return nodes;
  }

  /** A singular test (tests/*.sql): a query of the failing rows, with refs, vars and macros. */
  private compileSingularTest(entry: ModelEntry, config: ModelConfig, body: TemplateSource): CompiledModel {
    const { file, bodyLineOffset } = entry;
    const rendered = this.renderBody(file, body, undefined);
    // A tests/ file of unit tests only (EXECUTE UNIT TEST …; …) holds no singular test.
    if (entry.unitTests.length && codeOnly(rendered.text).trim() === '') return { nodes: [], macros: rendered.macros, refSites: new Map() };
    const query = singularTestQuery(rendered.text, { file: file.path, line: bodyLineOffset + 1 });
    const storeFailures = this.options.storeFailures || config.storeFailures;
    const node = testNode({
      name: file.name,
      path: file.path,
      dependsOn: [...rendered.refs].sort(),
      schema: config.schema,
      cluster: config.cluster ?? this.target.cluster,
      tags: config.tags,
      description: config.description,
      fileLine: bodyLineOffset + 1 + query.linesSkipped,
      test: { kind: 'singular', model: undefined, column: undefined, severity: entry.severity ?? 'error', storeFailures, query: query.sql, location: { file: file.path, line: bodyLineOffset + 1 } },
    });
    return { nodes: [node], macros: rendered.macros, refSites: rendered.refSites };
  }

  /**
   * The unit tests written after a model's statement or in a tests/ file: each one a test node
   * (kind test, test.kind unit) that depends on the view it tests and the objects it mocks. They
   * are parsed here and validated when they run (unit-test-run.ts): a missing mock is the test's
   * validation failure, not an error of the project.
   */
  private addUnitTests(entry: ModelEntry, config: ModelConfig, compiled: CompiledModel): CompiledModel {
    const { file } = entry;
    const macros = new Set(compiled.macros);
    const nodes = [...compiled.nodes];
    const errors: ProjectError[] = [];
    const database = this.target.database;
    const resolve = (parts: readonly string[], schema: string | undefined): string | undefined => {
      const [name, inSchema, inDatabase] = [...parts].reverse();
      if (inDatabase !== undefined && inDatabase !== database) return undefined;
      const relation = this.refs[name!];
      if (!relation) return undefined;
      const wanted = inSchema ?? schema;
      return wanted === undefined || relation.schema === wanted ? name : undefined;
    };
    const model = entry.role === 'model' ? { name: file.name, kind: config.kind, schema: config.schema, cluster: config.cluster ?? this.target.cluster, tags: config.tags } : undefined;
    for (const source of entry.unitTests) {
      const startLine = source.lines.position(0).line;
      let definition: UnitTestDefinition;
      try {
        const rendered = this.renderBody(file, source, model);
        for (const macro of rendered.macros) macros.add(macro);
        definition = parseUnitTest(rendered.text, { file: file.path, line: startLine, column: 1 }, (fixture, columns, at) => this.readFixture(fixture, columns, at));
      } catch (error) {
        errors.push(...toErrors(error, file.path, file.text));
        continue;
      }
      const targetName = resolve(definition.target.parts, undefined);
      const targetSchema = targetName ? this.refs[targetName]!.schema : undefined;
      const dependsOn = new Set<string>();
      if (targetName) dependsOn.add(targetName);
      for (const mock of definition.mocks) {
        const mocked = resolve(mock.parts, mock.parts.length === 1 ? targetSchema : undefined);
        if (mocked && mocked !== targetName) dependsOn.add(mocked);
      }
      nodes.push(
        testNode({
          name: definition.name,
          path: file.path,
          dependsOn: [...dependsOn].sort(),
          schema: targetSchema ?? config.schema,
          cluster: '',
          tags: config.tags,
          description: undefined,
          fileLine: definition.location.line ?? startLine,
          test: { kind: 'unit', model: targetName, column: undefined, severity: 'error', storeFailures: false, query: definition.text, location: { file: file.path, line: definition.location.line ?? startLine }, unit: definition },
        }),
      );
    }
    throwIfAny(errors);
    return { nodes, macros, refSites: compiled.refSites };
  }

  /** `MOCK …(<columns>) FROM FILE '<path>'`: Segment events from a file under the project, as a plain query. */
  private readFixture(fixture: string, columns: readonly UnitTestColumn[], at: SourceLocation): string {
    const full = path.resolve(this.root, fixture);
    const relative = path.relative(this.root, full);
    if (relative.startsWith('..') || path.isAbsolute(relative)) throw new ProjectError(`fixture '${fixture}' is outside the project`, at, "give a path inside the project, e.g. 'tests/fixtures/identify.json'");
    let text: string;
    try {
      text = readFileSync(full, 'utf8');
    } catch {
      throw new ProjectError(`fixture '${fixture}' does not exist`, at, 'paths are relative to the project folder (where project.yml is)');
    }
    return fixtureQuery(fixtureEvents(text, relative.split(path.sep).join('/')), columns, at);
  }

  /** A source depends on its cluster and on the secrets and connections its clauses name. */
  private addImplicitDependencies(dependsOn: Set<string>, sql: string, cluster: string | undefined): void {
    if (cluster && this.modelKinds.get(cluster) === 'cluster') dependsOn.add(cluster);
    if (!/\b(?:SECRET|CONNECTION)\b/i.test(sql)) return;
    const { secrets, connections } = referencedSecretsAndConnections(codeOnly(sql.replace(/^CREATE (?:SECRET|CONNECTION)\b/i, '')));
    for (const name of secrets) if (this.modelKinds.get(name) === 'secret') dependsOn.add(name);
    for (const name of connections) if (this.modelKinds.get(name) === 'connection') dependsOn.add(name);
  }

  private secretEnv(file: TemplateFile): string {
    const secret = this.config.secrets[file.name];
    if (!secret) {
      throw new ProjectError(
        `secret model '${file.name}' has no environment variable`,
        { file: file.path },
        `map it under secrets: in ${PROJECT_FILE}, e.g.  ${file.name}: ${file.name.toUpperCase()}`,
      );
    }
    return secret.env;
  }

  private explainMissing(keyPath: readonly string[]): { message: string; fix?: string } | undefined {
    if (keyPath[0] === 'ref' && keyPath.length >= 2) {
      const name = keyPath[1]!;
      if (name in this.refs) return undefined; // the model exists: a bad field after it
      const disabled = [...this.models.values()].find((entry) => entry.file.name === name);
      if (disabled) {
        return { message: `ref to model '${name}', which is disabled (enabled: false)`, fix: `enable ${disabled.file.path}, or disable this model too` };
      }
      return { message: `ref to unknown model '${name}'${didYouMean(name, Object.keys(this.refs))}`, fix: `models are the .sql files under ${MODELS_DIR}/, named by file stem` };
    }
    return explainVarMissing(keyPath, this.config);
  }

  /**
   * Collects errors, then builds the graph: from scratch after a structural change, otherwise by
   * patching the last result with the nodes of the re-rendered models (reusing the order when
   * their dependencies did not change).
   */
  private assemble(started: number, read: number, rendered: number, renderedCount: number): CompiledProject {
    const errors: ProjectError[] = [];
    for (const macro of this.macros.values()) if (macro.error) errors.push(macro.error);
    for (const entry of this.models.values()) {
      if (entry.configErrors.length) errors.push(...entry.configErrors);
      if (entry.renderErrors.length) errors.push(...entry.renderErrors);
    }
    throwIfAny(dedupe(errors));

    const previous = this.last;
    let dependenciesChanged: boolean;
    if (previous && !this.pendingStructure) {
      dependenciesChanged = this.patchNodes(errors);
    } else {
      this.buildNodes(errors);
      dependenciesChanged = true;
    }
    const nodes = this.nodes;
    const dependencies = this.dependencies;

    let order: readonly string[];
    let depth: ReadonlyMap<string, number>;
    let dependents: ReadonlyMap<string, readonly string[]>;
    if (!dependenciesChanged && previous) {
      ({ order, depth, dependents } = previous);
    } else {
      const result = orderGraph({ dependencies });
      if (!result.ok) throw cycleErrors(result.cycles, nodes, (from, to) => this.models.get(nodes.get(from)?.path ?? '')?.compiled?.refSites.get(to));
      ({ order, depth } = result.graph);
      dependents = invertDependencies(dependencies);
    }
    const graphed = performance.now();

    const disabled = previous && !dependenciesChanged ? previous.disabled : [...this.models.values()].filter((entry) => entry.config && !entry.config.enabled).map((entry) => entry.file.name).sort();
    this.pendingPaths.clear();
    this.pendingStructure = false;
    this.last = {
      name: this.config.name,
      root: this.root,
      target: this.target,
      vars: this.vars,
      secrets: this.config.secrets,
      nodes,
      order,
      depth,
      dependencies,
      dependents,
      disabled,
      timings: {
        readMs: read - started,
        renderMs: rendered - read,
        graphMs: graphed - rendered,
        totalMs: graphed - started,
        rendered: renderedCount,
      },
    };
    return this.last;
  }

  private buildNodes(errors: ProjectError[]): void {
    this.nodes = new Map();
    this.dependencies = new Map();
    this.nodesByPath = new Map();
    for (const entry of this.models.values()) this.addNodes(entry, errors);
    throwIfAny(errors);
  }

  /**
   * Replaces, in place, the nodes of the models re-rendered since the last assembly. Results of
   * earlier compiles share these maps: callers keep what they need (checksums), not old results.
   * Returns whether any dependency changed (then the order must be computed again).
   */
  private patchNodes(errors: ProjectError[]): boolean {
    const entries = [...this.pendingPaths].flatMap((file) => this.models.get(file) ?? []);
    const removed = new Map<string, readonly string[]>();
    for (const file of this.pendingPaths) for (const name of this.nodesByPath.get(file) ?? []) removed.set(name, this.dependencies.get(name)!);
    // Check every clash before touching anything, so a failed edit leaves the last result whole.
    const incoming = new Map<string, CompiledNode>();
    for (const entry of entries) {
      for (const node of entry.compiled?.nodes ?? []) {
        const clash = incoming.get(node.name) ?? (removed.has(node.name) ? undefined : this.nodes.get(node.name));
        if (clash) errors.push(indexClash(node, clash));
        incoming.set(node.name, node);
      }
    }
    throwIfAny(errors);

    const sizeBefore = this.nodes.size;
    for (const name of removed.keys()) {
      this.nodes.delete(name);
      this.dependencies.delete(name);
    }
    for (const file of this.pendingPaths) this.nodesByPath.delete(file);
    let changed = false;
    for (const entry of entries) {
      this.addNodes(entry, errors);
      for (const node of entry.compiled?.nodes ?? []) if (!sameList(removed.get(node.name), node.dependsOn)) changed = true;
    }
    return changed || this.nodes.size !== sizeBefore;
  }

  private addNodes(entry: ModelEntry, errors: ProjectError[]): void {
    const names: string[] = [];
    for (const node of entry.compiled?.nodes ?? []) {
      const clash = this.nodes.get(node.name);
      if (clash) {
        errors.push(indexClash(node, clash));
        continue;
      }
      this.nodes.set(node.name, node);
      this.dependencies.set(node.name, node.dependsOn);
      names.push(node.name);
    }
    this.nodesByPath.set(entry.file.path, names);
  }
}

interface TestNodeInput {
  readonly name: string;
  readonly path: string;
  readonly dependsOn: readonly string[];
  /** The tested model's schema: stored failures go to `<schema>_tests`. */
  readonly schema: string;
  readonly cluster: string;
  readonly tags: readonly string[];
  readonly description: string | undefined;
  /** The file line the query comes from (its front-matter entry, or the test file's first line). */
  readonly fileLine: number;
  readonly test: TestInfo;
}

/** A test's node: its query, or the materialized view of its failing rows when stored. */
function testNode(input: TestNodeInput): CompiledNode {
  const { test } = input;
  const schema = test.storeFailures ? failuresSchema(input.schema) : input.schema;
  const stored = test.storeFailures ? storedFailuresStatement(input.name, schema, input.cluster, test.query) : undefined;
  const sql = stored?.sql ?? test.query;
  return {
    name: input.name,
    kind: 'test',
    path: input.path,
    dependsOn: input.dependsOn,
    sql,
    checksum: checksum(sql),
    schema,
    cluster: stored ? input.cluster : undefined,
    tags: input.tags,
    description: input.description,
    secretEnv: undefined,
    parent: undefined,
    bodyLine: { sqlLine: stored?.bodySqlLine ?? 1, fileLine: input.fileLine },
    test,
  };
}

function indexClash(node: CompiledNode, clash: CompiledNode): ProjectError {
  if (node.kind === 'test' || clash.kind === 'test') {
    return new ProjectError(`name '${node.name}' is used twice: by ${node.path} and by ${clash.path}`, { file: node.path, ...(node.test ? { line: node.test.location.line } : {}) }, 'give the test another name');
  }
  return new ProjectError(`index name '${node.name}' is also used by ${clash.path}`, { file: node.path }, 'give the index another name with `name:` in its config');
}

function sameList(a: readonly string[] | undefined, b: readonly string[]): boolean {
  if (!a || a.length !== b.length) return false;
  for (let index = 0; index < b.length; index++) if (a[index] !== b[index]) return false;
  return true;
}

function explainVarMissing(keyPath: readonly string[], config: ProjectConfig): { message: string; fix?: string } | undefined {
  if (keyPath[0] !== 'vars' || keyPath.length !== 2) return undefined;
  const declared = Object.keys(config.vars);
  return {
    message: `var '${keyPath[1]}' is not declared${didYouMean(keyPath[1]!, declared)}`,
    fix: `declare it with a default under vars: in ${PROJECT_FILE}${declared.length ? ` (declared: ${declared.join(', ')})` : ''}`,
  };
}

function identity(entry: ModelEntry): string {
  const config = entry.config;
  return config ? `${entry.file.name}|${config.enabled}|${config.kind}|${config.schema}` : `${entry.file.name}|invalid`;
}

/** Each cycle, pointed at the ref that closes it back to its first model (file:line:col). */
function cycleErrors(cycles: readonly string[][], nodes: ReadonlyMap<string, CompiledNode>, refSite: (from: string, to: string) => SourceLocation | undefined): ProjectErrors {
  return new ProjectErrors(
    cycles.map((cycle) => {
      const files = [...new Set(cycle.map((name) => nodes.get(name)?.path ?? name))];
      const [first, second] = cycle;
      const site = second !== undefined ? refSite(first!, second) : undefined;
      return new ProjectError(
        `dependency cycle: ${cycle.join(' → ')} (files: ${files.join(', ')})`,
        site ?? { file: files[0]! },
        'a model cannot depend on itself, even through others: remove one of these refs',
      );
    }),
  );
}

function checksum(sql: string): string {
  // One-shot hashing: no Hash object per model (measurably cheaper over 10,000 models).
  return hash('sha256', sql, 'hex');
}

function nullPrototype<T extends object>(value: T): T {
  return Object.assign(Object.create(null) as T, value);
}

function normalize(file: string): string {
  return file.split(path.sep).join('/').replace(/^\.\//, '');
}

function dedupe(errors: ProjectError[]): ProjectError[] {
  const seen = new Set<string>();
  return errors.filter((error) => {
    const key = error.format();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function templateError(error: unknown, file: string, text: string, lineOffset: number): ProjectError {
  if (error instanceof TemplateSyntaxError) {
    const { line, column } = new LineIndex(text, lineOffset).position(error.offset);
    return new ProjectError(error.message, { file, line, column }, error.fix);
  }
  if (error instanceof TemplateRenderError) {
    return new ProjectError(error.message, { file: error.file, line: error.line, column: error.column }, error.fix);
  }
  if (error instanceof ProjectError) return error;
  throw error;
}

/** Errors from configuring or rendering one model, with positions. */
function toErrors(error: unknown, file: string, text: string): ProjectError[] {
  if (error instanceof ProjectErrors) return [...error.errors];
  if (error instanceof TemplateSyntaxError) {
    // Raised while parsing the body: its offsets are relative to the body, after the front matter.
    const split = splitFrontMatter({ name: '', path: file, folder: '', text });
    return [templateError(error, file, split.body, split.bodyLineOffset)];
  }
  return [templateError(error, file, text, 0)];
}
