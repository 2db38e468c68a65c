/** Builds sample traffic's signed-load batches on a thread of its own (see bench/sample-batches.ts). */
import { parentPort, workerData } from 'node:worker_threads';
import { sampleTraffic, type TrafficOptions } from '../functions/samples/traffic.ts';
import { toBatches } from './signed-load.ts';

const { count, options } = workerData as { count: number; options: TrafficOptions };
parentPort!.postMessage(toBatches(sampleTraffic(count, options)));
