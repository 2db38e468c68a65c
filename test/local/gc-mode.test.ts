import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SERVER_GC_FLAG, usesSingleThreadedGc } from '../../scripts/local/engine/gc-mode.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('the Node flags of the commands that host the local server', () => {
  it('pass the GC flag to every command that hosts the server, and to the bench that measures it', () => {
    const scripts = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    for (const name of ['local', 'dev', 'models:deploy', 'models:watch', 'models:test', 'bench']) {
      expect(scripts[name], name).toMatch(new RegExp(`^tsx ${SERVER_GC_FLAG} `));
    }
  });

  it('uses a flag this Node accepts (an unknown one would stop every command at start)', () => {
    const accepted = spawnSync(process.execPath, [SERVER_GC_FLAG, '-e', 'process.stdout.write("started")'], { encoding: 'utf8' });
    expect(accepted.stderr).toBe('');
    expect(accepted.stdout).toBe('started');
    const unknown = spawnSync(process.execPath, ['--no-such-gc-flag-here', '-e', '0'], { encoding: 'utf8' });
    expect(unknown.status).not.toBe(0);
  });

  it('tells whether a process was started with it', () => {
    expect(usesSingleThreadedGc(['--import', 'tsx', SERVER_GC_FLAG])).toBe(true);
    expect(usesSingleThreadedGc(['--import', 'tsx'])).toBe(false);
  });
});
