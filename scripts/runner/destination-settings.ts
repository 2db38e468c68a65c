/**
 * The function's destination settings as the deployed models dictate them, so nobody types them:
 * `webhookUrl` is the URL the target reports for the deployed webhook source
 * (mz_internal.mz_webhook_sources), `sharedSecret` the value of the secret its CHECK reads (the
 * environment variable models:deploy uses), `signatureAlgorithm` the hash the CHECK computes.
 */
import { compileProject, type CompiledNode, type CompiledProject } from './compile.ts';
import { ProjectError, type SourceLocation } from './errors.ts';
import { loadProjectConfig } from './project-config.ts';
import { secretValue } from './deploy/deploy-secrets.ts';
import { openSession } from './deploy/sql-session.ts';
import { connectionError } from './deploy/deployer.ts';
import { connectTarget } from './deploy/target-connection.ts';

export interface DestinationSettings {
  readonly webhookUrl: string;
  readonly sharedSecret: string;
  readonly signatureAlgorithm: 'sha1' | 'sha256';
  /** The webhook source model the settings come from. */
  readonly sourceModel: string;
  /** Where the URL came from, for people. */
  readonly urlFrom: string;
}

export interface SettingsOptions {
  readonly target?: string;
  /** The webhook source model (default: project.yml's segment.webhook_source, else the only one). */
  readonly webhookSource?: string;
  /** Use this URL instead of asking the target (e.g. behind a proxy). */
  readonly webhookUrl?: string;
  readonly log?: (line: string) => void;
}

export async function destinationSettings(root: string, options: SettingsOptions = {}): Promise<DestinationSettings> {
  const project = compileProject(root, options.target ? { target: options.target } : {});
  const named = options.webhookSource ? { model: options.webhookSource, location: undefined, from: '--webhook-source' } : fromProjectFile(root);
  const source = webhookSourceModel(project, named);
  const secretName = source.dependsOn.find((name) => project.nodes.get(name)?.kind === 'secret');
  if (!secretName) throw new ProjectError(`webhook source ${source.name} has no secret in its CHECK`, { file: source.path }, 'the function signs every request: give the source CHECK (… SECRET {{ref.<secret>}} …)');
  const sharedSecret = secretValue(project, secretName);
  const signatureAlgorithm = /hmac\s*\([^)]*'sha256'\s*\)/i.test(source.sql) ? 'sha256' : 'sha1';
  if (options.webhookUrl) return { webhookUrl: options.webhookUrl, sharedSecret, signatureAlgorithm, sourceModel: source.name, urlFrom: '--webhook-url' };

  const connection = await connectTarget(project.target, {
    ...(options.log ? { log: options.log } : {}),
    // A server started inside this command closes its ports when it ends: its URL would be dead on arrival.
    whenNoLocalServer: () => {
      throw new ProjectError(`no local server is running for target ${project.target.name}`, undefined, 'start one (npm run local or npm run dev) so the webhook URL stays up, or pass --webhook-url');
    },
  });
  try {
    let session;
    try {
      session = await openSession(connection.config, project.target.cluster);
    } catch (error) {
      throw connectionError(project.target.name, connection.description, error);
    }
    try {
      const { rows } = await session.query<{ url: string }>(
        `SELECT w.url FROM mz_internal.mz_webhook_sources AS w
           JOIN mz_catalog.mz_sources AS s ON s.id = w.id
           JOIN mz_catalog.mz_schemas AS sc ON sc.id = s.schema_id
          WHERE s.name = $1 AND sc.name = $2`,
        [source.name, source.schema],
      );
      if (!rows[0]) {
        throw new ProjectError(`webhook source ${source.schema}.${source.name} is not deployed on target ${project.target.name}`, { file: source.path }, `run npm run models:deploy${options.target ? ` -- --target ${options.target}` : ''} first`);
      }
      return { webhookUrl: rows[0].url, sharedSecret, signatureAlgorithm, sourceModel: source.name, urlFrom: `mz_internal.mz_webhook_sources on ${connection.description}` };
    } finally {
      await session.close();
    }
  } finally {
    await connection.close();
  }
}

interface NamedSource {
  readonly model: string;
  readonly location: SourceLocation | undefined;
  readonly from: string;
}

function fromProjectFile(root: string): NamedSource | undefined {
  const named = loadProjectConfig(root).webhookSource;
  return named ? { ...named, from: 'segment.webhook_source' } : undefined;
}

function webhookSourceModel(project: CompiledProject, named: NamedSource | undefined): CompiledNode {
  const webhooks = [...project.nodes.values()].filter((node) => node.kind === 'source' && /\bFROM\s+WEBHOOK\b/i.test(node.sql));
  if (named) {
    const found = webhooks.find((node) => node.name === named.model);
    if (found) return found;
    throw new ProjectError(`${named.from} ${named.model} is not a webhook source model`, named.location, webhooks.length ? `webhook sources: ${webhooks.map((node) => node.name).join(', ')}` : 'the project has no webhook source (FROM WEBHOOK) model');
  }
  if (webhooks.length === 1) return webhooks[0]!;
  throw new ProjectError(
    webhooks.length ? `the project has ${webhooks.length} webhook sources: ${webhooks.map((node) => node.name).join(', ')}` : 'the project has no webhook source (FROM WEBHOOK) model',
    undefined,
    webhooks.length ? 'name one in project.yml (segment: { webhook_source: <model> }) or pass --webhook-source <model>' : 'add a source model with FROM WEBHOOK … CHECK (…)',
  );
}
