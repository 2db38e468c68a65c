/**
 * The destination's settings, as Segment passes them (camelCase, strings and booleans), with
 * defaults and validation. A setting that makes delivery impossible is a misconfiguration users
 * can fix: the caller turns it into a RetryError, so events wait for the fix instead of being lost.
 */

export type SignatureAlgorithm = 'sha1' | 'sha256';
export type SignatureEncoding = 'hex' | 'base64';

/** What users set in Segment (all optional here: Segment may omit any). */
export interface RawSettings {
  webhookUrl?: unknown;
  sharedSecret?: unknown;
  batching?: unknown;
  signatureHeader?: unknown;
  signatureAlgorithm?: unknown;
  signatureEncoding?: unknown;
  timeoutMs?: unknown;
  maxBodyBytes?: unknown;
}

export interface DeliverySettings {
  readonly webhookUrl: string;
  readonly sharedSecret: string;
  /** onBatch posts one JSON array per batch (the source must be BODY FORMAT JSON ARRAY). */
  readonly batching: boolean;
  readonly signatureHeader: string;
  readonly signatureAlgorithm: SignatureAlgorithm;
  readonly signatureEncoding: SignatureEncoding;
  /** Per request; Segment gives a handler 5 s in all. */
  readonly timeoutMs: number;
  /** Materialize refuses bodies over 2 MB (413): batches are split before they get there. */
  readonly maxBodyBytes: number;
}

/** The settings a user sees, with their defaults: the bundle header, README and deploy schema. */
export const SETTINGS_DOCUMENTATION = [
  { name: 'webhookUrl', type: 'string', required: true, description: 'The Materialize webhook source URL: https://<host>/api/webhook/<database>/<schema>/<source> (http only to localhost).' },
  { name: 'sharedSecret', type: 'string', required: true, sensitive: true, description: "The secret the source's CHECK verifies the signature with (the SECRET in CREATE SOURCE … CHECK)." },
  { name: 'batching', type: 'boolean', required: false, default: true, description: 'onBatch posts each batch as one JSON array, signed as a whole (source: BODY FORMAT JSON ARRAY). Off: one request per event.' },
  { name: 'signatureHeader', type: 'string', required: false, default: 'X-Signature', description: 'Header carrying the signature.' },
  { name: 'signatureAlgorithm', type: 'string', required: false, default: 'sha1', description: 'HMAC algorithm: sha1 or sha256 (must match the CHECK).' },
  { name: 'signatureEncoding', type: 'string', required: false, default: 'hex', description: 'Signature encoding: hex or base64 (must match the CHECK).' },
  { name: 'timeoutMs', type: 'number', required: false, default: 4000, description: 'Per-request timeout in ms (Segment allows 5 s per call; a timeout is retried).' },
  { name: 'maxBodyBytes', type: 'number', required: false, default: 2_000_000, description: "Largest body sent; larger batches are split (Materialize's limit is 2 MB)." },
] as const;

export const DEFAULTS = {
  batching: true,
  signatureHeader: 'X-Signature',
  signatureAlgorithm: 'sha1',
  signatureEncoding: 'hex',
  timeoutMs: 4000,
  maxBodyBytes: 2_000_000,
} as const;

export class SettingsError extends Error {}

/** Validated settings, or a SettingsError naming the setting and the fix. */
export function readSettings(raw: RawSettings | undefined): DeliverySettings {
  const settings = raw ?? {};
  const webhookUrl = text(settings.webhookUrl);
  if (!webhookUrl) throw new SettingsError('setting webhookUrl is empty: set it to the Materialize webhook source URL (…/api/webhook/<database>/<schema>/<source>)');
  let url: URL;
  try {
    url = new URL(webhookUrl);
  } catch {
    throw new SettingsError(`setting webhookUrl is not a URL: '${webhookUrl}'`);
  }
  const local = url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]';
  if (!(url.protocol === 'https:' || (url.protocol === 'http:' && local))) {
    throw new SettingsError(`setting webhookUrl must use https (http is allowed only to localhost): '${url.protocol}//${url.host}'`);
  }
  if (url.username || url.password) throw new SettingsError('setting webhookUrl must not contain credentials; the signature authenticates requests');
  const sharedSecret = typeof settings.sharedSecret === 'string' ? settings.sharedSecret : '';
  if (!sharedSecret) throw new SettingsError('setting sharedSecret is empty: set it to the secret of the webhook source’s CHECK');
  const signatureHeader = text(settings.signatureHeader) || DEFAULTS.signatureHeader;
  if (!/^[A-Za-z0-9-]+$/.test(signatureHeader)) throw new SettingsError(`setting signatureHeader is not a header name: '${signatureHeader}'`);
  const signatureAlgorithm = (text(settings.signatureAlgorithm) || DEFAULTS.signatureAlgorithm).toLowerCase();
  if (signatureAlgorithm !== 'sha1' && signatureAlgorithm !== 'sha256') throw new SettingsError(`setting signatureAlgorithm must be sha1 or sha256, not '${signatureAlgorithm}'`);
  const signatureEncoding = (text(settings.signatureEncoding) || DEFAULTS.signatureEncoding).toLowerCase();
  if (signatureEncoding !== 'hex' && signatureEncoding !== 'base64') throw new SettingsError(`setting signatureEncoding must be hex or base64, not '${signatureEncoding}'`);
  return {
    webhookUrl: url.toString(),
    sharedSecret,
    batching: flag(settings.batching, DEFAULTS.batching),
    signatureHeader,
    signatureAlgorithm,
    signatureEncoding,
    timeoutMs: positive(settings.timeoutMs, DEFAULTS.timeoutMs, 'timeoutMs'),
    maxBodyBytes: positive(settings.maxBodyBytes, DEFAULTS.maxBodyBytes, 'maxBodyBytes'),
  };
}

function text(value: unknown): string {
  return typeof value === 'string' ? value.trim() : '';
}

function flag(value: unknown, fallback: boolean): boolean {
  if (typeof value === 'boolean') return value;
  if (value === 'true') return true;
  if (value === 'false') return false;
  return fallback;
}

function positive(value: unknown, fallback: number, name: string): number {
  if (value === undefined || value === null || value === '') return fallback;
  const number = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new SettingsError(`setting ${name} must be a positive number, not '${String(value)}'`);
  return number;
}
