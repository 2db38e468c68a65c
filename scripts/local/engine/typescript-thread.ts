/**
 * Starts a worker thread running a TypeScript module. The thread does not inherit a loader under
 * every runner (vitest has none), so the module is loaded there through tsx's API, in a namespace
 * of its own.
 */
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);

export function startTypeScriptThread(entry: URL, workerData: unknown): Worker {
  // The ES module build: tsx's CommonJS build of this API mislocates its own files from an eval.
  const tsx = pathToFileURL(path.join(path.dirname(require.resolve('tsx/esm/api')), 'index.mjs')).href;
  const script = `import(${JSON.stringify(tsx)}).then((api) => api.tsImport(${JSON.stringify(entry.href)}, ${JSON.stringify(import.meta.url)}))`;
  return new Worker(script, { eval: true, workerData, execArgv: [] });
}
