/**
 * A Windows checkout (CRLF line endings, a byte-order mark from an editor) is the same project as a
 * Linux one: the same SQL, the same checksums, nothing to redeploy, no source refused as changed.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compileProject } from '../../scripts/runner/compile.ts';
import { changes, deployProject } from '../helpers/deploy.ts';
import { startTestServer, type TestServer } from '../helpers/local-server.ts';
import { copyOfSeedProject } from '../helpers/temp-project.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

/** Rewrites every file under `root` with CRLF endings; every other one also gets a BOM. */
function convertToWindows(root: string): number {
  let converted = 0;
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const full = path.join(dir, entry);
      if (statSync(full).isDirectory()) walk(full);
      else {
        const text = readFileSync(full, 'utf8').replace(/\n/g, '\r\n');
        writeFileSync(full, (converted++ % 2 === 0 ? '\ufeff' : '') + text);
      }
    }
  };
  walk(root);
  return converted;
}

it('compiles to the same SQL and checksums, and a deploy after the switch changes nothing', async () => {
  const root = copyOfSeedProject();
  const unix = compileProject(root, { env: {} });
  await deployProject(t, root);

  expect(convertToWindows(root)).toBeGreaterThan(20);
  const windows = compileProject(root, { env: {} });
  expect([...windows.nodes.values()].map((node) => [node.name, node.checksum, node.sql])).toEqual([...unix.nodes.values()].map((node) => [node.name, node.checksum, node.sql]));
  expect(changes(await deployProject(t, root))).toEqual({});
});

it('errors in a CRLF file still point at the right line', async () => {
  const root = copyOfSeedProject();
  convertToWindows(root);
  const file = path.join(root, 'models/marts/track_event_counts.sql');
  const lines = readFileSync(file, 'utf8').split('\r\n');
  const at = lines.findIndex((line) => line.startsWith('SELECT'));
  lines.splice(at + 1, 0, '  {{ vars.no_such_var }},');
  writeFileSync(file, lines.join('\r\n'));
  const error = (() => {
    try {
      compileProject(root, { env: {} });
    } catch (caught) {
      return caught as { format(): string };
    }
    throw new Error('compiled without the error');
  })();
  expect(error.format()).toMatch(new RegExp(`^models/marts/track_event_counts\\.sql:${at + 2}:\\d+: var 'no_such_var' is not declared`));
});
