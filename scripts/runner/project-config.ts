/**
 * project.yml: loading, validation and target resolution.
 *
 * Connection settings that are secret (passwords, URLs that embed them) can only be given as the
 * name of an environment variable (`password_env`, `url_env`): there is no key for a literal
 * password, so one cannot be committed by accident.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { didYouMean, ProjectError, type SourceLocation } from './errors.ts';
import { ModelConfigSchema, type ModelConfigInput } from './model-config.ts';
import { normalizeSourceText } from './project-files.ts';
import { formatKey, parseYaml, validateYaml, type ParsedYaml } from './yaml-config.ts';

export const PROJECT_FILE = 'project.yml';

const identifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]*$/, 'must be an identifier: letters, digits and _');
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name');

const LocalTargetSchema = z.strictObject({
  type: z.literal('local'),
  data_dir: z.string().optional(),
  /** A local server to deploy through, wherever it runs (else found by the data directory). */
  host: z.string().optional(),
  port: z.number().int().positive().max(65535).optional(),
  database: identifier.optional(),
  schema: identifier.optional(),
  cluster: identifier.optional(),
});

const MaterializeTargetSchema = z.strictObject({
  type: z.literal('materialize'),
  url_env: envName.optional(),
  host: z.string().optional(),
  host_env: envName.optional(),
  port: z.number().int().positive().optional(),
  port_env: envName.optional(),
  user: z.string().optional(),
  user_env: envName.optional(),
  password_env: envName.optional(),
  database: identifier.optional(),
  database_env: envName.optional(),
  cluster: identifier.optional(),
  cluster_env: envName.optional(),
  schema: identifier.optional(),
  sslmode: z.enum(['disable', 'require', 'verify-full']).optional(),
});

const TargetSchema = z.discriminatedUnion('type', [LocalTargetSchema, MaterializeTargetSchema]);

const SecretSchema = z.union([
  envName,
  z.strictObject({
    env: envName,
    /** Used only on `local` targets when the variable is unset, so the quick start needs no setup. */
    local_default: z.string().optional(),
  }),
]);

const VarValue: z.ZodType<unknown> = z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(z.unknown()), z.record(z.string(), z.unknown())]);

const ProjectSchema = z.strictObject({
  name: identifier,
  default_target: identifier.optional(),
  targets: z.record(identifier, TargetSchema).optional(),
  vars: z.record(identifier, VarValue).optional(),
  secrets: z.record(identifier, SecretSchema).optional(),
  defaults: ModelConfigSchema.optional(),
  folders: z.record(z.string().min(1), ModelConfigSchema).optional(),
  /** How the Segment function connects (function:deploy --source). */
  segment: z.strictObject({ webhook_source: identifier.optional() }).optional(),
});

export type LocalTargetConfig = z.output<typeof LocalTargetSchema>;
export type MaterializeTargetConfig = z.output<typeof MaterializeTargetSchema>;
export type TargetConfig = z.output<typeof TargetSchema>;

export interface SecretConfig {
  readonly env: string;
  readonly localDefault: string | undefined;
  /** Where project.yml maps it, for errors about its variable. */
  readonly location?: SourceLocation;
}

export interface ProjectConfig {
  readonly root: string;
  readonly file: string;
  readonly name: string;
  readonly defaultTarget: string;
  readonly targets: Readonly<Record<string, TargetConfig>>;
  readonly vars: Readonly<Record<string, unknown>>;
  readonly secrets: Readonly<Record<string, SecretConfig>>;
  readonly defaults: ModelConfigInput | undefined;
  /** Folder path (relative to models/, `/`-separated) → defaults for models under it. */
  readonly folders: Readonly<Record<string, ModelConfigInput>>;
  /** The webhook source model the Segment function posts to (`segment.webhook_source`). */
  readonly webhookSource: { readonly model: string; readonly location: SourceLocation | undefined } | undefined;
  /** Where a key is written in project.yml, for errors raised later. */
  readonly locate: ParsedYaml['locate'];
}

/** The embedded local server: what a project gets with no `targets` at all. */
const IMPLICIT_LOCAL_TARGET: LocalTargetConfig = { type: 'local' };

export function loadProjectConfig(root: string): ProjectConfig {
  const file = path.join(root, PROJECT_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new ProjectError(`no ${PROJECT_FILE} in ${root}`, undefined, 'run the command from the project root, or pass --project-dir');
  }
  return parseProjectConfig(root, text);
}

export function parseProjectConfig(root: string, rawText: string): ProjectConfig {
  const parsed = parseYaml({ file: PROJECT_FILE, text: normalizeSourceText(rawText) });
  const config = validateYaml(parsed, ProjectSchema, {
    what: PROJECT_FILE,
    fixFor: (keyPath) => {
      if (keyPath[0] === 'targets' && keyPath.length === 2) return "a target needs `type: local` or `type: materialize`";
      if (keyPath[0] === 'secrets') return 'write `name: ENV_VAR` or `name: { env: ENV_VAR, local_default: "…" }`';
      return undefined;
    },
  });

  const targets: Record<string, TargetConfig> = { ...(config.targets ?? {}) };
  if (!targets.local) targets.local = IMPLICIT_LOCAL_TARGET;
  const defaultTarget = config.default_target ?? 'local';
  if (!targets[defaultTarget]) {
    throw new ProjectError(
      `default_target '${defaultTarget}' is not a target`,
      parsed.locate(['default_target']),
      `define it under targets, or use one of: ${Object.keys(targets).join(', ')}`,
    );
  }

  const secrets: Record<string, SecretConfig> = {};
  for (const [name, secret] of Object.entries(config.secrets ?? {})) {
    const location = parsed.locate(['secrets', name]);
    secrets[name] = typeof secret === 'string' ? { env: secret, localDefault: undefined, location } : { env: secret.env, localDefault: secret.local_default, location };
  }

  const folders: Record<string, ModelConfigInput> = {};
  for (const [folder, folderConfig] of Object.entries(config.folders ?? {})) {
    folders[folder.replace(/\\/g, '/').replace(/^models\//, '').replace(/\/+$/, '')] = folderConfig;
  }

  return {
    root,
    file: PROJECT_FILE,
    name: config.name,
    defaultTarget,
    targets,
    vars: config.vars ?? {},
    secrets,
    defaults: config.defaults,
    folders,
    webhookSource: config.segment?.webhook_source ? { model: config.segment.webhook_source, location: parsed.locate(['segment', 'webhook_source']) } : undefined,
    locate: parsed.locate,
  };
}

/** A target with its environment resolved: everything a compile or a deploy needs to know. */
export interface ResolvedTarget {
  readonly name: string;
  readonly type: 'local' | 'materialize';
  readonly database: string;
  readonly schema: string;
  /** The cluster for models that do not name one. */
  readonly cluster: string;
  /** Local targets: the data directory, absolute. */
  readonly dataDir?: string;
  /** Local targets with host/port set: the server to reach, instead of finding one. */
  readonly localServer?: { readonly host: string; readonly port: number };
  /** Materialize targets: how to connect. The password is only ever held here, never printed. */
  readonly connection?: MaterializeConnection;
}

export interface MaterializeConnection {
  readonly url?: string;
  readonly host?: string;
  readonly port: number;
  readonly user?: string;
  readonly password?: string;
  readonly database: string;
  readonly sslmode: 'disable' | 'require' | 'verify-full';
}

export const LOCAL_DATA_DIR = '.materialize/data';

/**
 * Resolves the selected target, reading the environment variables it names. A variable that is
 * named but unset is an error at the key that names it.
 */
export function resolveTarget(config: ProjectConfig, name: string | undefined, env: NodeJS.ProcessEnv = process.env): ResolvedTarget {
  const targetName = name ?? config.defaultTarget;
  const target = config.targets[targetName];
  if (!target) {
    throw new ProjectError(
      `unknown target '${targetName}'`,
      { file: config.file },
      `targets in ${config.file}: ${Object.keys(config.targets).join(', ')}`,
    );
  }
  if (target.type === 'local') {
    return {
      name: targetName,
      type: 'local',
      database: target.database ?? 'materialize',
      schema: target.schema ?? 'public',
      cluster: target.cluster ?? 'quickstart',
      dataDir: path.resolve(config.root, target.data_dir ?? LOCAL_DATA_DIR),
      ...(target.host !== undefined || target.port !== undefined ? { localServer: { host: target.host ?? '127.0.0.1', port: target.port ?? 6875 } } : {}),
    };
  }

  const read = (key: keyof MaterializeTargetConfig): string | undefined => {
    const variable = target[key];
    if (typeof variable !== 'string') return undefined;
    const value = env[variable];
    if (value === undefined || value === '') {
      throw new ProjectError(
        `${formatKey(['targets', targetName, key])}: environment variable ${variable} is not set`,
        config.locate(['targets', targetName, key]),
        `export ${variable}=… before running, or pick another target with --target`,
      );
    }
    return value;
  };
  const url = read('url_env');
  const host = read('host_env') ?? target.host;
  if (!url && !host) {
    throw new ProjectError(
      `target '${targetName}' has no address`,
      config.locate(['targets', targetName]),
      'set url_env (a postgres:// URL in an environment variable) or host / host_env',
    );
  }
  const portText = read('port_env');
  const port = portText !== undefined ? Number(portText) : (target.port ?? 6875);
  if (!Number.isInteger(port) || port <= 0) {
    throw new ProjectError(`${formatKey(['targets', targetName, 'port_env'])}: '${portText}' is not a port number`, config.locate(['targets', targetName, 'port_env']));
  }
  const database = read('database_env') ?? target.database ?? 'materialize';
  return {
    name: targetName,
    type: 'materialize',
    database,
    schema: target.schema ?? 'public',
    cluster: read('cluster_env') ?? target.cluster ?? 'quickstart',
    connection: {
      url,
      host,
      port,
      user: read('user_env') ?? target.user,
      password: read('password_env'),
      database,
      sslmode: target.sslmode ?? 'require',
    },
  };
}

/**
 * Parses `--vars` (YAML or JSON) and merges it over the project's vars. Every overridden var must
 * be declared in project.yml, so a typo cannot silently leave the default in place.
 */
export function mergeVars(config: ProjectConfig, overrides: string | undefined): Record<string, unknown> {
  const vars: Record<string, unknown> = { ...config.vars };
  // A null renders as empty text (INTERVAL ' minutes') and only fails at deploy: refuse it here.
  for (const [key, value] of Object.entries(vars)) {
    if (value === null) {
      throw new ProjectError(`var '${key}' has no value (null)`, config.locate(['vars', key]), `give it a default value; for a switch use true or false, for "nothing" an empty string ""`);
    }
  }
  if (!overrides) return vars;
  let parsed: unknown;
  try {
    parsed = parseYaml({ file: '--vars', text: overrides }).value;
  } catch (error) {
    throw new ProjectError(`--vars is not valid YAML or JSON: ${error instanceof Error ? error.message : String(error)}`, undefined, `pass an object: --vars '{"key": "value"}'`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ProjectError('--vars must be an object', undefined, `pass an object: --vars '{"key": "value"}'`);
  }
  for (const [key, value] of Object.entries(parsed)) {
    if (!(key in vars)) {
      throw new ProjectError(
        `--vars sets '${key}', which ${config.file} does not declare${didYouMean(key, Object.keys(vars))}`,
        config.locate(['vars']),
        `declare it with a default under vars: in ${config.file}` + (Object.keys(vars).length ? ` (declared: ${Object.keys(vars).join(', ')})` : ''),
      );
    }
    const declared = varType(vars[key]);
    const given = varType(value);
    if (given !== declared) {
      // "false" in quotes is truthy in a {{#section}} but false in `enabled:`: never guess.
      throw new ProjectError(
        `--vars sets '${key}' to ${describeVar(value)}, but ${config.file} declares it as ${declared === 'array' || declared === 'object' ? 'an' : 'a'} ${declared} (default ${JSON.stringify(vars[key])})`,
        config.locate(['vars', key]),
        given === 'string' && declared !== 'string' ? `pass it without quotes: --vars '{"${key}": ${String(value)}}'` : `pass a ${declared}, e.g. --vars '{"${key}": ${JSON.stringify(vars[key])}}'`,
      );
    }
    vars[key] = value;
  }
  return vars;
}

type VarType = 'string' | 'number' | 'boolean' | 'array' | 'object' | 'null';

function varType(value: unknown): VarType {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  const type = typeof value;
  return type === 'string' || type === 'number' || type === 'boolean' ? type : 'object';
}

function describeVar(value: unknown): string {
  if (value === null) return 'null';
  return `the ${varType(value)} ${JSON.stringify(value)}`;
}
