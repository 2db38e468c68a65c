/**
 * The sections of `npm run bench`, each a function that prints its figures (bench/run.ts runs each
 * in a process of its own). Each is imported only when its section runs: importing them all cost
 * every process ~1.5 s of CPU, and left each section's process holding the others' modules.
 */

/** A section's run function, loaded on demand. */
type LoadSection = () => Promise<() => unknown>;

/** The sections, in the order they run. */
export const SECTIONS: ReadonlyArray<readonly [title: string, load: LoadSection]> = [
  ['Compile', async () => (await import('./compile.ts')).runCompileBench],
  ['Deploy and watch', async () => (await import('./deploy.ts')).runDeployBench],
  ['Segment function', async () => (await import('./function.ts')).runFunctionBench],
  ['Local server: webhook ingest and the HTTP SQL API', async () => (await import('./local-server.ts')).runLocalServerBench],
  ['Local server: what a session per connection costs', async () => (await import('./session-cost.ts')).runSessionCostBench],
  ['SUBSCRIBE', async () => (await import('./subscribe.ts')).runSubscribeBench],
  ['Materialized views', async () => (await import('./materialized-views.ts')).runMaterializedViewsBench],
  ['Kept views at 100,000 and 1,000,000 events: temporal filters, count(DISTINCT), data tests, ingest', async () => (await import('./kept-views.ts')).runKeptViewsBench],
  ['Watch with data', async () => (await import('./watch-with-data.ts')).runWatchWithDataBench],
  ['Blue/green', async () => (await import('./blue-green.ts')).runBlueGreenBench],
  ['Data tests', async () => (await import('./data-tests.ts')).runDataTestsBench],
  ['Unit tests', async () => (await import('./unit-tests.ts')).runUnitTestsBench],
  ['Console', async () => (await import('./console.ts')).runConsoleBench],
  ['Activation', async () => (await import('./activation.ts')).runActivationBench],
];
