/**
 * The rest of the loop on a laptop: what a real Segment workspace does with the calls the worker
 * sends — deliver them to its destinations, among them this project's destination function — done
 * for the Tracking API stand-in. Each call is handed to the built function
 * (dist/functions/materialize-destination.js, `npm run function:build`), loaded the way Segment
 * runs it (segment-sandbox.ts), with the settings a deployed destination has (`webhookUrl`,
 * `sharedSecret`): the function signs it and posts it to the local webhook source, where it lands
 * in stg_segment_identifies (or _tracks, _groups) like any event.
 *
 * The call is given the fields Segment's pipeline adds before destinations see it (receivedAt,
 * sentAt, originalTimestamp); the library's own `_metadata` is dropped, as Segment does.
 */
import { readFileSync } from 'node:fs';
import { BUNDLE_PATH, buildBundle } from '../../functions/build/build-bundle.ts';
import { handlerFor, loadFunction } from '../../functions/harness/segment-sandbox.ts';
import type { CallForwarder, TrackingCall } from './tracking-stand-in.ts';

export interface FunctionForwarderOptions {
  /** The webhook source's URL (the destination's `webhookUrl` setting). */
  readonly webhookUrl: string;
  /** Its shared secret (`sharedSecret`). */
  readonly sharedSecret: string;
  /** A bundle to load as it is (default: functions/ built now into dist/functions/materialize-destination.js). */
  readonly bundlePath?: string;
  /** More settings of the function (e.g. signatureAlgorithm). */
  readonly settings?: Readonly<Record<string, unknown>>;
}

export interface FunctionForwarder {
  readonly forward: CallForwarder;
  /** Where the function's code came from. */
  readonly bundle: string;
}

export async function createFunctionForwarder(options: FunctionForwarderOptions): Promise<FunctionForwarder> {
  let code: string;
  let bundle: string;
  if (options.bundlePath) {
    code = readFileSync(options.bundlePath, 'utf8');
    bundle = options.bundlePath;
  } else {
    // As events:send does: built from functions/ now (what npm run function:build writes to
    // dist/functions), so a stale dist/ is never what runs.
    const built = await buildBundle(BUNDLE_PATH);
    code = built.code;
    bundle = BUNDLE_PATH;
  }
  const handlers = loadFunction({ code });
  const settings = { ...options.settings, webhookUrl: options.webhookUrl, sharedSecret: options.sharedSecret };
  return {
    bundle,
    forward: async (call: TrackingCall) => {
      await handlerFor(handlers, call.type)(asDeliveredEvent(call), settings);
    },
  };
}

/** A Tracking API call as a destination receives it from Segment. */
export function asDeliveredEvent(call: TrackingCall, now = new Date()): Record<string, unknown> {
  const { _metadata: _dropped, ...event } = call as TrackingCall & { _metadata?: unknown };
  const at = now.toISOString();
  const timestamp = typeof event.timestamp === 'string' ? event.timestamp : at;
  return { ...event, originalTimestamp: timestamp, timestamp, sentAt: at, receivedAt: at };
}
