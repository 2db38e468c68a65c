/**
 * Activations inside `npm run dev`: every enabled activation runs against the dev server, and
 * those to Segment go to a Tracking API stand-in on 127.0.0.1:6877 (another port if that one is
 * taken) unless SEGMENT_TRACKING_URL names a real one. A broken declaration or a missing variable
 * is printed and leaves the rest of dev running.
 */
import pc from 'picocolors';
import type { CompiledProject } from '../runner/compile.ts';
import { ProjectError, ProjectErrors } from '../runner/errors.ts';
import { LOCAL_DATABASE, LOCAL_USER } from '../local/engine.ts';
import { formatActivationEvent } from './activation-output.ts';
import { bindActivations, loadActivations, selectActivations } from './declarations.ts';
import { startTrackingStandIn, type TrackingStandIn } from './tracking-stand-in.ts';
import { ActivationWorker } from './worker.ts';

export const DEV_TRACKING_PORT = 6877;
/** The write key dev sends with when SEGMENT_WRITE_KEY is unset (the stand-in accepts any). */
export const LOCAL_WRITE_KEY = 'local-development-write-key';

export interface DevActivations {
  stop(): Promise<void>;
}

export async function startDevActivations(
  project: CompiledProject,
  server: { readonly host: string; readonly pgPort: number },
  log: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): Promise<DevActivations | null> {
  let standIn: TrackingStandIn | null = null;
  try {
    const bound = bindActivations(selectActivations(loadActivations(project.root), undefined, undefined), project);
    if (bound.length === 0) return null;
    const toSegment = bound.some((each) => each.activation.destination.kind === 'segment');
    let trackingUrl = env.SEGMENT_TRACKING_URL;
    if (toSegment && !trackingUrl) {
      standIn = await startTrackingStandIn({ port: DEV_TRACKING_PORT }).catch(() => startTrackingStandIn({ port: 0 }));
      trackingUrl = standIn.url;
      log(`  segment   ${standIn.url}   (Tracking API stand-in: calls at ${standIn.url}/stand-in/calls)`);
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
