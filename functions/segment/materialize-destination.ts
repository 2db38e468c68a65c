/**
 * The Segment Destination Function entry. Built by `npm run function:build` into one plain script
 * (dist/functions/materialize-destination.js) whose top-level handlers Segment calls. It uses only
 * the sandbox's globals: fetch, crypto, btoa, and the error classes.
 */
import { deliverBatch, deliverEvent, type BatchStatus, type DeliveryRuntime } from '../delivery/deliver.ts';
import { readSettings, SettingsError, type DeliverySettings, type RawSettings } from '../delivery/settings.ts';

/** Segment's sandbox globals this file relies on (declared, not imported: they are not modules). */
declare const RetryError: new (message: string) => Error;
declare const ValidationError: new (message: string) => Error;
declare const InvalidEventPayload: new (message: string) => Error;
declare const btoa: (data: string) => string;
interface NodeCryptoLike {
  createHmac?: (algorithm: string, key: string) => { update(data: string, encoding: 'utf8'): { digest(encoding: 'hex' | 'base64'): string } };
  subtle?: import('node:crypto').webcrypto.SubtleCrypto;
}
declare const crypto: NodeCryptoLike;

/**
 * Segment's `crypto` is Node's crypto module (createHmac, synchronous and cheap); a runtime that
 * only has Web Crypto gets the same bytes through crypto.subtle.
 */
async function sign(algorithm: 'sha1' | 'sha256', encoding: 'hex' | 'base64', secret: string, body: string): Promise<string> {
  if (typeof crypto.createHmac === 'function') return crypto.createHmac(algorithm, secret).update(body, 'utf8').digest(encoding);
  const subtle = crypto.subtle!;
  const encoder = new TextEncoder();
  const key = await subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: algorithm === 'sha1' ? 'SHA-1' : 'SHA-256' }, false, ['sign']);
  const bytes = new Uint8Array(await subtle.sign('HMAC', key, encoder.encode(body)));
  if (encoding === 'hex') return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
  return btoa(String.fromCharCode(...bytes));
}

const runtime: DeliveryRuntime = {
  fetch: (url, init) => fetch(url, init),
  sign,
  errors: { RetryError, ValidationError, InvalidEventPayload },
};

function settingsOrRetry(settings: RawSettings): DeliverySettings {
  try {
    return readSettings(settings);
  } catch (error) {
    // A misconfiguration is fixable: keep the events (retried for up to 4 hours) rather than drop them.
    if (error instanceof SettingsError) throw new RetryError(`misconfigured destination: ${error.message}`);
    throw error;
  }
}

async function onEvent(event: unknown, settings: RawSettings): Promise<void> {
  await deliverEvent(event, settingsOrRetry(settings), runtime);
}

export async function onTrack(event: unknown, settings: RawSettings): Promise<void> {
  await onEvent(event, settings);
}
export async function onPage(event: unknown, settings: RawSettings): Promise<void> {
  await onEvent(event, settings);
}
export async function onIdentify(event: unknown, settings: RawSettings): Promise<void> {
  await onEvent(event, settings);
}
export async function onScreen(event: unknown, settings: RawSettings): Promise<void> {
  await onEvent(event, settings);
}
export async function onGroup(event: unknown, settings: RawSettings): Promise<void> {
  await onEvent(event, settings);
}
export async function onAlias(event: unknown, settings: RawSettings): Promise<void> {
  await onEvent(event, settings);
}
/** Delete requests reach Materialize like any event; the seed's marts leave deleted users out. */
export async function onDelete(event: unknown, settings: RawSettings): Promise<void> {
  await onEvent(event, settings);
}

export async function onBatch(events: unknown[], settings: RawSettings): Promise<BatchStatus[]> {
  if (!Array.isArray(events)) throw new InvalidEventPayload('onBatch expects an array of events');
  return deliverBatch(events, settingsOrRetry(settings), runtime);
}
