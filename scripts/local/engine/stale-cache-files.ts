/**
 * Cached files made from the code (the bootstrapped template, thread bundles) are named by a hash
 * of what made them, so every edit writes a new one: left alone, a template directory grew by
 * 49 MB per bootstrap edit. When a new file is written, its older siblings go.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';

/**
 * Removes the files and directories in `file`'s directory whose names start with `prefix`, other
 * than `file`, not modified for an hour: a process that chose one a moment ago (another checkout,
 * a test worker) has read it by then. Failures are ignored — it is tidying, never a reason to stop
 * a start.
 */
export async function removeStaleSiblings(file: string, prefix: string): Promise<void> {
  const directory = path.dirname(file);
  const cutoff = Date.now() - 60 * 60 * 1000;
  try {
    for (const name of await readdir(directory)) {
      const sibling = path.join(directory, name);
      if (!name.startsWith(prefix) || sibling === file) continue;
      const { mtimeMs } = await stat(sibling);
      // A file (a template, an older single-file bundle) or a directory (a bundle and its chunks).
      if (mtimeMs < cutoff) await rm(sibling, { recursive: true, force: true });
    }
  } catch {
    // Tidying only (see above).
  }
}
