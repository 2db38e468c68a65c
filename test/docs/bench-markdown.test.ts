/** `npm run bench -- --markdown <file>`: the page bench/markdown.ts writes from the printed lines. */
import { describe, expect, it } from 'vitest';
import { benchEnvironment, commitInfo, FigureRecorder, machineInfo, renderBenchMarkdown } from '../../bench/markdown.ts';
import { REPO_ROOT } from '../../scripts/docs-cli-reference.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runSectionProcess } from '../../bench/section-process.ts';

describe('bench --markdown', () => {
  it('files each printed line under the section that printed it, as printed', () => {
    const recorder = new FigureRecorder();
    recorder.record('node: %s, as the commands that host the local server run', '--single-threaded-gc');
    recorder.section('Compile');
    recorder.record('\u001b[32mcompile:\u001b[39m 10000 models in 352 ms (target < 500 ms)');
    recorder.record('two lines\nat once');
    recorder.section('Empty');
    recorder.section('Console');
    recorder.record('console: skipped (no chromium at /usr/bin/chromium; apt-get install chromium)');
    const load = expect.any(Number);
    expect(recorder.sections).toEqual([
      { title: 'Setup', lines: ['node: --single-threaded-gc, as the commands that host the local server run'], loadAtStart: load },
      { title: 'Compile', lines: ['compile: 10000 models in 352 ms (target < 500 ms)', 'two lines', 'at once'], loadAtStart: load },
      { title: 'Empty', lines: [], loadAtStart: load },
      { title: 'Console', lines: ['console: skipped (no chromium at /usr/bin/chromium; apt-get install chromium)'], loadAtStart: load },
    ]);
  });

  it('tees console.log: the terminal still gets every line', () => {
    const recorder = new FigureRecorder();
    const printed: unknown[][] = [];
    const original = console.log;
    console.log = (...args: unknown[]) => void printed.push(args);
    try {
      const restore = recorder.teeConsole();
      console.log('figure: %d ms', 12);
      restore();
      console.log('after');
    } finally {
      console.log = original;
    }
    expect(printed).toEqual([['figure: %d ms', 12], ['after']]);
    expect(recorder.sections).toEqual([{ title: 'Setup', lines: ['figure: 12 ms'], loadAtStart: expect.any(Number) }]);
  });

  it('writes the machine, date and commit, then the figures; Markdown-sensitive characters escaped', () => {
    const page = renderBenchMarkdown({
      started: new Date('2026-11-24T01:00:00.123Z'),
      finished: new Date('2026-11-24T01:30:00Z'),
      machine: { cpu: 'AMD EPYC', cores: 2, memoryGiB: 23.5, os: 'Linux 6.1 (x64)', node: 'v20.20.2', nodeFlags: ['--single-threaded-gc'] },
      commit: { hash: '7d55169f00aa11bb22cc33dd44ee55ff66778899', dirty: true },
      environment: { BENCH_MV_EVENTS: '1000000' },
      sections: [
        { title: 'Compile', lines: ['compile: 10000 models in 352 ms (target < 500 ms; *cold*, model_05002)'], loadAtStart: 3.5 },
        { title: 'Nothing printed', lines: [] },
      ],
    });
    expect(page).toContain('| Date | 2026-11-24T01:00:00Z (30.0 min) |');
    expect(page).toContain('| Commit | `7d55169f00aa` with uncommitted changes |');
    expect(page).toContain('| Machine | AMD EPYC, 2 cores, 23.5 GiB |');
    expect(page).toContain('| Node | v20.20.2 with `--single-threaded-gc` |');
    expect(page).toContain('| Environment | `BENCH_MV_EVENTS=1000000` |');
    expect(page).toContain('## Compile\n\nLoad average at the start: 3.50 (2 cores).\n\n- compile: 10000 models in 352 ms (target &lt; 500 ms; \\*cold\\*, model\\_05002)\n');
    expect(page).not.toContain('Nothing printed');
    expect(page.startsWith('# Benchmarks\n')).toBe(true);
  });

  it('reads the machine, the checkout and the BENCH_ variables', () => {
    const machine = machineInfo();
    expect(machine.cores).toBeGreaterThan(0);
    expect(machine.node).toBe(process.version);
    expect(commitInfo(REPO_ROOT).hash).toMatch(/^[0-9a-f]{40}$/);
    expect(benchEnvironment({ BENCH_MODELS: '100', PATH: '/bin', CHROMIUM_PATH: '/x' })).toEqual({ BENCH_MODELS: '100', CHROMIUM_PATH: '/x' });
  });

  it("files the unit-test figures under 'Unit tests': unit tests of the seed models, and a save to its unit tests' outcome", async () => {
    // npm run bench runs the section under that title (what --markdown writes).
    const { runUnitTestsBench } = await import('../../bench/unit-tests.ts');
    const { SECTIONS } = await import('../../bench/sections.ts');
    expect(await SECTIONS.find(([title]) => title === 'Unit tests')?.[1]()).toBe(runUnitTestsBench);
    const recorder = new FigureRecorder();
    const original = console.log;
    console.log = () => {};
    const restore = recorder.teeConsole();
    try {
      recorder.section('Unit tests');
      // The bench's sizes (100 tests, 15 saves) cost ~15 s of CPU here; what is checked is that the section runs and prints.
      await runUnitTestsBench({ tests: 20, saves: 3 });
    } finally {
      restore();
      console.log = original;
    }
    const lines = recorder.sections.find((section) => section.title === 'Unit tests')!.lines;
    expect(lines).toEqual([
      expect.stringMatching(/^unit tests: 20 unit tests of the seed models .* run on the local server: \d+ ms .*20 of 20 passed\) — goal ≤ 2 s$/),
      expect.stringMatching(/^unit tests: save a model in watch → its \d+ unit tests' outcome: p50 \d+ ms .* goal p50 ≤ 300 ms/),
    ]);
  }, 120_000);

  it('runs a section in a process of its own, relaying its lines in order, and names the section when it fails', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bench-section-'));
    try {
      // A stand-in section: prints two figures (one in two writes, one line split across them), then exits with the code asked.
      const script = path.join(dir, 'section.mjs');
      writeFileSync(script, `process.stdout.write('first: 1 ms\\nsecond: '); setTimeout(() => { process.stdout.write('2 ms\\n'); process.exit(Number(process.argv[2])); }, 20);`);
      const lines: string[] = [];
      await runSectionProcess('Stand-in', script, ['0'], (line) => lines.push(line));
      expect(lines).toEqual(['first: 1 ms', 'second: 2 ms']);
      await expect(runSectionProcess('Stand-in', script, ['3'], () => {})).rejects.toThrow('bench section "Stand-in" failed (exit code 3)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
