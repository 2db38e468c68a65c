/**
 * A model's unit tests (EXECUTE UNIT TEST) in its panel, each with its last outcome: pass; fail
 * with the rows the view did not produce (missing) and those it produced unexpectedly; invalid
 * (a validation failure: missing mock, wrong type…) or error, with the reason and file:line.
 * Under `dev` they follow every save as soon as the watcher knows them; under `local` they are the
 * outcomes of one run at the console's start. A unit test's own panel shows just that test.
 */
import { useEffect, useState } from 'preact/hooks';
import type { GraphNode, UnitTestView } from './api.ts';
import { Cells } from './cells.tsx';
import { formatTime } from './format.ts';
import { store } from './store.ts';
import './unit-tests.css';

export function UnitTests({ node, onOpen }: { node: GraphNode; onOpen: (name: string) => void }) {
  const own = node.unitTestOf !== undefined;
  const tests = useUnitTestsOf(own ? null : node.name);
  const shown = own ? [node] : tests;
  if (shown.length === 0) return null;
  // What needs attention first: fail, invalid, error, then pass and not run yet.
  const counts = new Map<Outcome, number>(OUTCOME_ORDER.map((outcome) => [outcome, 0]));
  for (const test of shown) counts.set(outcomeOf(test), counts.get(outcomeOf(test))! + 1);
  return (
    <section class="unit-tests" aria-label="Unit tests" data-testid="unit-tests">
      <h3>
        {own ? 'Unit test' : `Unit tests (${shown.length})`}
        {own ? (
          node.unitTestOf ? (
            <span class="muted">
              of{' '}
              <button class="link" onClick={() => onOpen(node.unitTestOf!)}>
                {node.unitTestOf}
              </button>
            </span>
          ) : null
        ) : (
          <span class="muted" data-testid="unit-tests-summary">
            {[...counts].filter(([, count]) => count > 0).map(([outcome, count]) => `${count} ${OUTCOME_LABELS[outcome]}`).join(' · ')}
          </span>
        )}
      </h3>
      <ul class="unit-test-list">
        {shown.map((test) => (
          <UnitTestItem key={test.name} test={test} onOpen={own ? null : onOpen} />
        ))}
      </ul>
    </section>
  );
}

type Outcome = UnitTestView['outcome'] | 'not_run';

const OUTCOME_ORDER: Outcome[] = ['fail', 'invalid', 'error', 'pass', 'not_run'];

const OUTCOME_LABELS: Record<Outcome, string> = { pass: 'pass', fail: 'fail', invalid: 'invalid', error: 'error', not_run: 'not run yet' };

function outcomeOf(test: GraphNode): Outcome {
  return test.unit?.outcome ?? 'not_run';
}

function UnitTestItem({ test, onOpen }: { test: GraphNode; onOpen: ((name: string) => void) | null }) {
  const unit = test.unit;
  const outcome = outcomeOf(test);
  return (
    <li class={`unit-test outcome-${outcome}`} data-testid="unit-test" data-test={test.name} data-outcome={outcome}>
      <div class="unit-head">
        <span class="outcome-badge">{OUTCOME_LABELS[outcome]}</span>
        {onOpen ? (
          <button class="link name" onClick={() => onOpen(test.name)} title="Open the test">
            {test.name}
          </button>
        ) : (
          <strong class="name">{test.name}</strong>
        )}
        <code class="muted">{unit?.location ?? test.path}</code>
        {unit ? (
          <span class="muted when" data-testid="unit-test-ran">
            {outcome === 'fail' ? `${unit.missingCount} missing, ${unit.unexpectedCount} unexpected · ` : ''}
            {unit.ms} ms · ran {formatTime(unit.ranAt)}
          </span>
        ) : null}
      </div>
      {unit?.error ? (
        <div class="unit-error" data-testid="unit-test-error">
          <pre class="error-text">{unit.error.message}</pre>
          {unit.error.location ? (
            <div>
              at <code class="location">{unit.error.location}</code>
            </div>
          ) : null}
          {unit.error.hint ? <div class="muted">fix: {unit.error.hint}</div> : null}
        </div>
      ) : null}
      {unit && outcome === 'fail' ? (
        <>
          <RowTable title="Missing" explain="expected, not produced by the view" kind="missing" rows={unit.missing} count={unit.missingCount} />
          <RowTable title="Unexpected" explain="produced by the view, not expected" kind="unexpected" rows={unit.unexpected} count={unit.unexpectedCount} />
        </>
      ) : null}
    </li>
  );
}

function RowTable(props: { title: string; explain: string; kind: string; rows: Record<string, unknown>[]; count: number }) {
  if (props.count === 0) return null;
  const columns: string[] = [];
  for (const row of props.rows) for (const column of Object.keys(row)) if (!columns.includes(column)) columns.push(column);
  return (
    <div class={`unit-rows ${props.kind}`}>
      <div class="unit-rows-title">
        <strong>{props.title}</strong> <span class="muted">— {props.explain}</span>
        {props.count > props.rows.length ? <span class="muted"> (first {props.rows.length} of {props.count})</span> : null}
      </div>
      <div class="table-wrap">
        <table class="grid compact" data-testid={`unit-${props.kind}`}>
          <thead>
            <tr>
              {columns.map((column) => (
                <th key={column}>{column}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {props.rows.map((row, index) => (
              <tr key={index}>
                <Cells values={columns.map((column) => (column in row ? row[column] : null))} />
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

/** The unit test nodes testing `model`, re-rendering only when one of them changes. */
function useUnitTestsOf(model: string | null): GraphNode[] {
  const select = (): GraphNode[] => (model === null ? [] : [...store.state.nodes.values()].filter((node) => node.unitTestOf === model));
  const [tests, setTests] = useState(select);
  useEffect(() => {
    const check = () =>
      setTests((before) => {
        const now = select();
        return now.length === before.length && now.every((node, index) => node === before[index]) ? before : now;
      });
    check();
    return store.subscribe(check);
  }, [model]);
  return tests;
}
