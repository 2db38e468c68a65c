/** Temporary projects on disk for tests: a folder with the given files, removed after the test. */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const created: string[] = [];
/** Removes the projects made since the last call: after each test (test/helpers/per-file-cleanup.ts). */
export function removeTemporaryProjects(): void {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export const MINIMAL_PROJECT_YML = 'name: test_project\n';

/** An empty directory of the system's temporary ones, removed after the test as the projects are. */
export function temporaryDirectory(prefix = 'segmat-test-'): string {
  const root = mkdtempSync(path.join(tmpdir(), prefix));
  created.push(root);
  return root;
}

/** A project with `files` (path → content); project.yml defaults to a minimal one. */
export function tempProject(files: Record<string, string>): string {
  const root = temporaryDirectory('segmat-test-');
  writeFiles(root, { 'project.yml': MINIMAL_PROJECT_YML, ...files });
  return root;
}

/** A copy of this repository's project (project.yml, models/, macros/, tests/) to edit freely. */
export function copyOfSeedProject(): string {
  const root = temporaryDirectory('segmat-seed-');
  for (const entry of ['project.yml', 'models', 'macros', 'tests']) cpSync(path.join(REPO_ROOT, entry), path.join(root, entry), { recursive: true });
  return root;
}

export function writeFiles(root: string, files: Record<string, string>): void {
  for (const [file, content] of Object.entries(files)) {
    const full = path.join(root, file);
    mkdirSync(path.dirname(full), { recursive: true });
    writeFileSync(full, content);
  }
}

export function removeFile(root: string, file: string): void {
  rmSync(path.join(root, file));
}
