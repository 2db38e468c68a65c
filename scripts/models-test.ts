/** npm run models:test — run the project's unit tests (on the local server) and data tests (against a target). */
import { Command } from 'commander';
import pc from 'picocolors';
import { compileProject } from './runner/compile.ts';
import { Deployer } from './runner/deploy/deployer.ts';
import { selectNodes } from './runner/select.ts';
import { isFailure, isUnitTest, runTests, storedAndCurrent, testNodes } from './runner/tests/test-runner.ts';
import { openUnitTestServer, UnitTestRunner } from './runner/tests/unit-test-run.ts';
import { writeJunitXml } from './runner/tests/junit-xml.ts';
import { projectRoot, runCli, withProjectOptions, withSelectionOptions, type ProjectOptions } from './cli/common.ts';
import { parseSeconds } from './cli/ports.ts';
import { formatResult } from './cli/deploy-output.ts';
import { formatTestResult, formatTestSummary, summarizeTests, testsJson } from './cli/test-output.ts';

const program = withSelectionOptions(withProjectOptions(new Command('models:test')))
  .description(
    "Run the unit tests (EXECUTE UNIT TEST after a model's statement or in tests/*.sql: mocked inputs, expected rows, on the local server) and the data tests (tests: in a model's front matter, and tests/*.sql) against the target: each counts the rows that break it. Prints pass/warn/fail per test with the diff or sample failing rows; exits 1 when an error-severity test fails or cannot run.",
  )
  .option('--json', 'print the results as JSON: {"tests": [...], "summary": {...}}')
  .option('--fail-fast', 'stop at the first failing test')
  .option('--junit-xml <file>', 'also write the results as JUnit XML (for CI), as mz-deploy test --junit-xml does')
  .option('--store-failures', 'keep every selected test as a materialized view of its failing rows (deployed first, only what changed), and read the results from those views')
  .option('--sample <rows>', 'failing rows shown per test', (value) => {
    const rows = Number(value);
    if (!Number.isInteger(rows) || rows < 0 || rows > 1000) throw new Error(`--sample must be a whole number from 0 to 1000, not '${value}'`);
    return rows;
  }, 5)
  .option('--lease-wait <seconds>', 'with stored failures to deploy: how long to wait for another deploy to the same target', parseSeconds, 60)
  .addHelpText(
    'after',
    `
Selecting a model selects its tests (and excluding it leaves them out); tests are also selected by
name, by kind:test (kind:unit for unit tests, kind:data for data tests), by tag and by path like
models. Unit tests never need the target's data: they run on the local server (the local target's,
or one started in memory for another target), each as one query over its mocks, in parallel.

Tests whose failures are stored (store_failures: true on the test, on its model or folder, or
--store-failures) are materialized views in <schema>_tests, kept by models:deploy: Materialize
evaluates them on every event, and models:test only reads them.

Examples:
  npm run models:test
  npm run models:test -- --select stg_segment_events
  npm run models:test -- --select "tag:marts" --json
  npm run models:test -- --select kind:unit --junit-xml target/unit-tests.xml
  npm run models:test -- --store-failures --fail-fast`,
  );

await runCli(async () => {
  program.parse();
  const options = program.opts<ProjectOptions & { json?: boolean; failFast?: boolean; storeFailures?: boolean; sample: number; leaseWait: number; junitXml?: string }>();
  const root = projectRoot(options);
  const started = performance.now();
  const project = compileProject(root, { ...options, ...(options.storeFailures ? { storeFailures: true } : {}) });
  const selected = options.select || options.exclude ? selectNodes(project, options.select, options.exclude) : undefined;
  const tests = testNodes(project, selected);
  const log = options.json ? undefined : (line: string) => console.error(pc.dim(line));
  if (tests.length === 0) {
    if (options.json) process.stdout.write(`${JSON.stringify(testsJson([], summarizeTests([], 0)), null, 2)}\n`);
    else console.log(`no tests selected${selected ? '' : ": declare them under tests: in a model's front matter, as tests/*.sql, or as EXECUTE UNIT TEST statements"}`);
    if (options.junitXml) writeJunitXml(options.junitXml, project.name, []);
    return;
  }

  const unitOnly = tests.every(isUnitTest);
  // Unit tests read no data of the target: with only those selected, a remote target is not even reached.
  const deployer = unitOnly && project.target.type !== 'local' ? undefined : await Deployer.open(project, { leaseWaitMs: options.leaseWait * 1000, ...(log ? { log } : {}) });
  const unitTests = tests.filter(isUnitTest);
  const server = unitTests.length ? await openUnitTestServer(project, project.target.type === 'local' ? deployer?.connection.config : undefined) : undefined;
  const unit = server ? new UnitTestRunner(server.config) : undefined;
  try {
    if (!options.json) console.log(`testing ${pc.bold(project.name)} on ${pc.bold(project.target.name)}: ${deployer?.description ?? 'the local server (unit tests only)'} ${pc.dim(`(${tests.length} test${tests.length === 1 ? '' : 's'})`)}`);
    const stored = tests.filter((node) => node.test!.storeFailures).map((node) => node.name);
    let state = await deployer?.deployedState();
    // Stored failures are views: bring the selected ones up to date first when one is missing or
    // changed. When all are current no deploy runs (it would take the target's deploy lease, waiting
    // while another deploy holds it, to find nothing to do), so the run is reads.
    const current = state ? storedAndCurrent(project, state) : new Set<string>();
    if (deployer && stored.some((name) => !current.has(name))) {
      const report = await deployer.deploy({ project, selected: new Set(stored), ...(options.json ? {} : { onResult: (result) => console.log(formatResult(result)) }) });
      for (const note of report.plan.notes) log?.(`note: ${note}`);
      state = await deployer.deployedState();
    }
    const results = await runTests(await deployer?.session(), project, tests, {
      ...(state ? { state } : {}),
      ...(unit ? { unit } : {}),
      sampleSize: options.sample,
      failFast: options.failFast ?? false,
      ...(options.json ? {} : { onResult: (result) => console.log(formatTestResult(result).join('\n')) }),
    });
    const summary = summarizeTests(results, performance.now() - started);
    if (options.json) process.stdout.write(`${JSON.stringify(testsJson(results, summary), null, 2)}\n`);
    else {
      if (results.length < tests.length) console.log(pc.yellow(`stopped at the first failure (--fail-fast): ${tests.length - results.length} test(s) not run`));
      console.log(formatTestSummary(summary));
    }
    if (options.junitXml) writeJunitXml(options.junitXml, project.name, results);
    if (results.some(isFailure)) process.exitCode = 1;
  } finally {
    await unit?.close();
    await server?.close();
    await deployer?.close();
  }
});


