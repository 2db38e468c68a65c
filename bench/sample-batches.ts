/**
 * Sample traffic as signed-load batches, built on a thread of its own. The benches run the local
 * server in their own process: a million event objects built there and dropped left the server's
 * thread to collect them during the first timed load, and ingest of the first 50,000 events then
 * read 17–31k events/s against 42–48k once collected (single-threaded GC, 2026-11-24). Only the
 * batches' JSON text crosses over.
 */
import { startTypeScriptThread } from '../scripts/local/engine/typescript-thread.ts';
import type { TrafficOptions } from '../functions/samples/traffic.ts';
import type { EventBatches } from './signed-load.ts';

export async function sampleBatches(count: number, options: TrafficOptions): Promise<EventBatches> {
  const worker = await startTypeScriptThread(new URL('./sample-batches-thread.ts', import.meta.url), { count, options });
  return new Promise((resolve, reject) => {
    worker.once('message', (batches: EventBatches) => {
      resolve(batches);
      void worker.terminate();
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the sample traffic thread exited (code ${code}) before answering`)));
  });
}
