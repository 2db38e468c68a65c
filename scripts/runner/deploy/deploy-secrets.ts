/**
 * Secret values: read from the environment (or, on local targets only, project.yml's
 * `local_default`), bound into statements at the last moment, and remembered only as a salted
 * scrypt fingerprint so a deploy can tell that a value changed without storing it.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import type { CompiledProject } from '../compile.ts';
import { ProjectError } from '../errors.ts';
import { PROJECT_FILE } from '../project-config.ts';

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, keylen: number, options: { N: number; r: number; p: number }) => Promise<Buffer>;
// Cost: ~10 ms here per secret and deploy; a leaked fingerprint resists guessing far better than a plain hash.
const SCRYPT = { N: 1 << 13, r: 8, p: 1 };
const KEY_LENGTH = 32;

/** The value for each secret node to deploy, or an error naming the unset variable. */
export function secretValue(project: CompiledProject, name: string, env: NodeJS.ProcessEnv = process.env): string {
  const node = project.nodes.get(name)!;
  const config = project.secrets[name];
  const variable = node.secretEnv ?? config?.env ?? '';
  const value = env[variable];
  if (value !== undefined && value !== '') return value;
  if (project.target.type === 'local' && config?.localDefault !== undefined) return config.localDefault;
  throw new ProjectError(
    `secret ${name}: environment variable ${variable} is not set`,
    config?.location ?? { file: node.path },
    project.target.type === 'local'
      ? `export ${variable}=… or give the secret a local_default in ${PROJECT_FILE} (used on local targets only)`
      : `export ${variable}=… before deploying to ${project.target.name}`,
  );
}

export async function fingerprint(value: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(value, salt, KEY_LENGTH, SCRYPT);
  return `scrypt:${SCRYPT.N}:${salt.toString('base64')}:${key.toString('base64')}`;
}

/** Whether `value` is the one `recorded` was made from (false for anything unreadable). */
export async function matchesFingerprint(value: string, recorded: string | null): Promise<boolean> {
  const parts = recorded?.split(':');
  if (!parts || parts.length !== 4 || parts[0] !== 'scrypt') return false;
  const N = Number(parts[1]);
  const expected = Buffer.from(parts[3]!, 'base64');
  if (!Number.isInteger(N) || expected.length !== KEY_LENGTH) return false;
  const key = await scryptAsync(value, Buffer.from(parts[2]!, 'base64'), KEY_LENGTH, { ...SCRYPT, N });
  return timingSafeEqual(key, expected);
}

/** Removes every secret value from a text (error messages from statements that carried one). */
export function redact(text: string, values: Iterable<string>): string {
  let result = text;
  for (const value of values) if (value.length >= 1) result = result.split(value).join('[redacted]');
  return result;
}
