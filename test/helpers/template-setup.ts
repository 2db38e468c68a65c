/**
 * vitest's globalSetup: the local server's bootstrapped template built once, before the test
 * workers start. On a machine without one (a clean clone, as in CI) the first servers of every
 * worker, and the deploy processes a file starts, each built it at the same time: three or four
 * builds of ~10 s of CPU each at the start of a run on 2 cores. With it there, every start loads it.
 */
import { existsSync } from 'node:fs';
import { openDatabase, templatePath } from '../../scripts/local/engine/engine.ts';

export default async function buildTemplateOnce(): Promise<void> {
  if (existsSync(templatePath())) return;
  const db = await openDatabase({ sharedBuffers: '16MB', log: (line) => console.log(`[template] ${line}`) });
  await db.close();
}
