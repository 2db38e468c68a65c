/**
 * Activations inside `npm run dev`: every enabled activation runs against the dev server, and
 * those to Segment go to a Tracking API stand-in on 127.0.0.1:6877 (another port if that one is
 * taken) unless SEGMENT_TRACKING_URL names a real one. A broken declaration or a missing variable
 * is printed and leaves the rest of dev running.
 *
 * With `forwardCalls` (npm run dev -- --forward-segment-calls) the stand-in also hands every call it
 * receives to the built Segment function, which posts it to the project's webhook source on the
 * dev server: the whole loop — event in, mart, activation, Segment, function, webhook source — on
 * a laptop.
 */
import pc from 'picocolors';
import type { CompiledProject } from '../runner/compile.ts';
import { ProjectError, ProjectErrors } from '../runner/errors.ts';
import { LOCAL_DATABASE, LOCAL_USER } from '../local/engine/database-identity.ts';
import { formatActivationEvent } from './activation-output.ts';
import { bindActivations, loadActivations, selectActivations } from './declarations.ts';
import { destinationSettings } from '../runner/destination-settings.ts';
import { createFunctionForwarder } from './function-forwarder.ts';
import { startTrackingStandIn, type TrackingStandIn } from './tracking-stand-in.ts';
import { ActivationWorker } from './worker.ts';

export const DEV_TRACKING_PORT = 6877;
/** The write key dev sends with when SEGMENT_WRITE_KEY is unset (the stand-in accepts any). */
export const LOCAL_WRITE_KEY = 'local-development-write-key';

export interface DevActivations {
  /** The Tracking API stand-in, when one was started. */
  readonly standIn: TrackingStandIn | null;
  stop(): Promise<void>;
}

export interface DevActivationOptions {
  /** Forward the stand-in's calls through the built function into the project's webhook source. */
  readonly forwardCalls?: boolean;
  /** Told about the stand-in once it listens (the console's Activations view shows its calls). */
  readonly onStandIn?: (standIn: TrackingStandIn) => void;
}

export async function startDevActivations(
  project: CompiledProject,
  server: { readonly host: string; readonly pgPort: number; webhookUrl(source: string, schema: string): string },
  log: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
  options: DevActivationOptions = {},
): Promise<DevActivations | null> {
  let standIn: TrackingStandIn | null = null;
  try {
    const bound = bindActivations(selectActivations(loadActivations(project.root), undefined, undefined), project);
    if (bound.length === 0) return null;
    const toSegment = bound.some((each) => each.activation.destination.kind === 'segment');
    let trackingUrl = env.SEGMENT_TRACKING_URL;
    if (options.forwardCalls && (!toSegment || trackingUrl)) {
      log(pc.yellow(`  --forward-segment-calls: nothing to forward (${toSegment ? 'SEGMENT_TRACKING_URL names a real Tracking API' : 'no activation sends to Segment'})`));
    }
    if (toSegment && !trackingUrl) {
      let forward: Parameters<typeof startTrackingStandIn>[0] = {};
      if (options.forwardCalls) {
        const settings = await destinationSettings(project.root, { target: project.target.name, webhookUrl: 'http://unused.invalid' });
        const source = project.nodes.get(settings.sourceModel)!;
        const webhookUrl = server.webhookUrl(source.name, source.schema);
        const forwarder = await createFunctionForwarder({ webhookUrl, sharedSecret: settings.sharedSecret, settings: { signatureAlgorithm: settings.signatureAlgorithm } });
        forward = { forward: forwarder.forward };
        log(`  forward   each call through ${forwarder.bundle} → ${webhookUrl}`);
      }
      standIn = await startTrackingStandIn({ port: DEV_TRACKING_PORT, ...forward }).catch(() => startTrackingStandIn({ port: 0, ...forward }));
      trackingUrl = standIn.url;
      log(`  segment   ${standIn.url}   (Tracking API stand-in: calls at ${standIn.url}/stand-in/calls)`);
      if (options.forwardCalls) {
        standIn.onForwarded = (recorded) => {
          if (recorded.forwarded?.ok === false) log(pc.red(`  forward   ${recorded.call.type} ${recorded.call.messageId} failed: ${recorded.forwarded.error}`));
        };
      }
      options.onStandIn?.(standIn);
    }
    const worker = new ActivationWorker(bound, {
      connection: { host: server.host, port: server.pgPort, user: LOCAL_USER, database: LOCAL_DATABASE },
      env,
      ...(toSegment ? { segment: { trackingUrl: trackingUrl!, writeKey: env.SEGMENT_WRITE_KEY || LOCAL_WRITE_KEY } } : {}),
      onEvent: (event) => log(`  ${formatActivationEvent(event)}`),
    });
    log(pc.dim(`  activate  ${bound.map((each) => each.activation.name).join(', ')}`));
    const running = worker.run();
    return {
      standIn,
      async stop() {
        await worker.stop();
        await running;
        await standIn?.close();
      },
    };
  } catch (error) {
    await standIn?.close();
    if (!(error instanceof ProjectError || error instanceof ProjectErrors)) throw error;
    log(pc.red(`activations not started: ${error.format()}`));
    return null;
  }
}
