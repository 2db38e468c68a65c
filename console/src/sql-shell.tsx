/**
 * A SQL shell on the local server's WebSocket API: each run is one session; results as tables,
 * errors with the position they point at, and SUBSCRIBE streaming into the table until stopped.
 * Ctrl/Cmd+Enter runs; Escape stops a subscription.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { SqlSocket, type SqlColumn, type SqlError } from './api.ts';
import { Cells } from './cells.tsx';
import { errorPosition, pointAt } from './error-pointer.ts';

interface StatementOutput {
  columns: SqlColumn[];
  rows: unknown[][];
  tag: string | null;
  streaming: boolean;
}

interface RunState {
  running: boolean;
  outputs: StatementOutput[];
  error: SqlError | null;
  notices: string[];
  ms: number | null;
}

const IDLE: RunState = { running: false, outputs: [], error: null, notices: [], ms: null };
/** Rows kept per statement (a long SUBSCRIBE keeps the newest). */
const ROW_LIMIT = 1000;

export function SqlShell() {
  const [text, setText] = useState(() => localStorage.getItem('console-sql') ?? 'SELECT name, type FROM mz_catalog.mz_objects ORDER BY 1 LIMIT 20;');
  const [state, setState] = useState<RunState>(IDLE);
  const [ranText, setRanText] = useState('');
  const socket = useRef<SqlSocket | null>(null);
  const editor = useRef<HTMLTextAreaElement>(null);

  const stop = () => {
    socket.current?.close();
    socket.current = null;
    setState((current) => ({ ...current, running: false }));
  };
  useEffect(() => () => socket.current?.close(), []);

  const run = () => {
    socket.current?.close();
    const query = text;
    localStorage.setItem('console-sql', query);
    setRanText(query);
    const started = performance.now();
    const outputs: StatementOutput[] = [];
    let error: SqlError | null = null;
    const notices: string[] = [];
    let frame = 0;
    const publish = (running: boolean) => {
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(() =>
        setState({ running, outputs: outputs.map((output) => ({ ...output, rows: output.rows.slice() })), error, notices: [...notices], ms: running ? null : performance.now() - started }),
      );
    };
    setState({ ...IDLE, running: true });
    socket.current = new SqlSocket(query, {
      onColumns: (columns, streaming) => {
        outputs.push({ columns, rows: [], tag: null, streaming });
        publish(true);
      },
      onRow: (row) => {
        const output = outputs[outputs.length - 1];
        if (!output) return;
        output.rows.push(row);
        if (output.rows.length > ROW_LIMIT) output.rows.splice(0, output.rows.length - ROW_LIMIT);
        publish(true);
      },
      onComplete: (tag) => {
        const last = outputs[outputs.length - 1];
        if (last && last.tag === null) last.tag = tag;
        else outputs.push({ columns: [], rows: [], tag, streaming: false });
        publish(true);
      },
      onError: (failure) => {
        error = failure;
        publish(true);
      },
      onNotice: (message) => notices.push(message),
      onDone: () => {
        socket.current?.close();
        socket.current = null;
        publish(false);
      },
      onClosed: () => {
        error ??= { message: 'the connection to the server closed', code: '08006' };
        publish(false);
      },
    });
  };

  return (
    <section class="shell" aria-label="SQL shell">
      <label class="muted" for="sql-input">
        SQL against the local server — Ctrl+Enter runs{state.running ? ', Escape stops' : ''}
      </label>
      <textarea
        id="sql-input"
        ref={editor}
        class="code editor"
        spellcheck={false}
        value={text}
        rows={6}
        onInput={(event) => setText((event.target as HTMLTextAreaElement).value)}
        onKeyDown={(event) => {
          if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
            event.preventDefault();
            run();
          }
          if (event.key === 'Escape' && state.running) stop();
        }}
      />
      <div class="toolbar">
        <button class="primary" onClick={run} data-testid="run-sql">
          Run
        </button>
        {state.running ? (
          <button onClick={stop} data-testid="stop-sql">
            Stop
          </button>
        ) : null}
        <span class="muted" data-testid="sql-status">
          {state.running ? (state.outputs.some((output) => output.streaming) ? 'streaming…' : 'running…') : state.ms !== null ? `done in ${state.ms.toFixed(0)} ms` : ''}
        </span>
      </div>
      {state.error ? <ErrorBox error={state.error} query={ranText} /> : null}
      {state.notices.map((notice, index) => (
        <p key={index} class="notice">
          NOTICE: {notice}
        </p>
      ))}
      {state.outputs.map((output, index) => (
        <Output key={index} output={output} />
      ))}
    </section>
  );
}

function Output({ output }: { output: StatementOutput }) {
  if (output.columns.length === 0) return <p class="ok">{output.tag ?? 'OK'}</p>;
  return (
    <div class="table-wrap">
      <table class="grid" data-testid="sql-result">
        <thead>
          <tr>
            {output.columns.map((column, index) => (
              <th key={index}>{column.name}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {output.rows.map((row, rowIndex) => (
            <tr key={rowIndex}>
              <Cells values={row} />
            </tr>
          ))}
        </tbody>
      </table>
      <p class="muted">{output.tag ?? `${output.rows.length} row${output.rows.length === 1 ? '' : 's'} so far`}</p>
    </div>
  );
}

/** The error, and when it points somewhere, the line with a caret under the spot. */
function ErrorBox({ error, query }: { error: SqlError; query: string }) {
  const position = errorPosition(query, error.message);
  const pointer = position ? pointAt(query, position) : null;
  return (
    <div class="error-box" role="alert" data-testid="sql-error">
      <strong>ERROR:</strong> {error.message}
      {pointer ? <span class="muted" data-testid="sql-error-position"> (at line {pointer.line}, column {pointer.column})</span> : null}
      {pointer ? (
        <pre class="code caret">
          {pointer.text}
          {'\n'}
          {' '.repeat(pointer.column - 1)}^
        </pre>
      ) : null}
      {error.detail ? <p>DETAIL: {error.detail}</p> : null}
      {error.hint ? <p>HINT: {error.hint}</p> : null}
    </div>
  );
}
