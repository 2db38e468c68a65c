/**
 * Builds the local server's bootstrapped template (scripts/local/engine/engine.ts) once, before any
 * test file starts. On a clean clone (CI) every file's first server would otherwise find no
 * template, and the first files would each build one at once, racing their setup hooks' timeout.
 */
import { openDatabase } from '../scripts/local/engine/engine.ts';

export default async function buildTemplateOnce(): Promise<void> {
  const started = performance.now();
  const db = await openDatabase({ log: (line) => console.log(`global setup: ${line}`) });
  await db.close();
  const ms = performance.now() - started;
  if (ms > 3_000) console.log(`global setup: bootstrapped template ready in ${(ms / 1000).toFixed(1)} s`);
}
