/**
 * The commands that host the local server (`local`, `dev`, `models:deploy`, `models:watch`,
 * `models:test`, and `bench`, which hosts it as they do) run Node with `--single-threaded-gc`
 * (package.json). V8 otherwise marks the heaps of both the server's thread and the database's
 * thread concurrently, on four helper threads of its own, a cycle every ~100 ms under load. On a
 * 2-core machine those helpers take the cores the database thread needs: during batched webhook
 * ingest they used ~250 ms of CPU for every ~870 ms of load, and the database thread, the
 * bottleneck, waited for them. Collected on the threads that own the heaps instead, the same load
 * went at 82–86k events/s against 69–73k (alternated runs, 2026-11-24). The heaps are small
 * (15–25 MB) and the pauses stay short. A process started without the flag works the same, slower.
 */

export const SERVER_GC_FLAG = '--single-threaded-gc';

/** Whether this process was started with SERVER_GC_FLAG. */
export function usesSingleThreadedGc(execArgv: readonly string[] = process.execArgv): boolean {
  return execArgv.includes(SERVER_GC_FLAG);
}
