/**
 * One model: status (with the error and file:line when failed), its unit tests' last outcomes
 * (unit-tests.tsx), its live rows (first 100, sortable by any column, through SUBSCRIBE), columns
 * and types, dependencies both ways, template and compiled SQL, and the last status changes.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { fetchNode, quoteIdent, runSql, type GraphNode, type NodeDetail } from './api.ts';
import { Cells } from './cells.tsx';
import { formatCount, formatTime, kindLabel, statusLabel } from './format.ts';
import { compareCells, LIVE_ROW_LIMIT, useLiveRows } from './live-rows.ts';
import { useStore } from './store.ts';
import { UnitTests } from './unit-tests.tsx';

const QUERYABLE = new Set(['source', 'view', 'materialized_view']);

interface ColumnInfo {
  name: string;
  type: string;
  nullable: boolean;
}

interface Sort {
  column: string;
  descending: boolean;
}

export function ModelView(props: { name: string; onOpen: (name: string) => void; onClose: () => void }) {
  const node = useStore((state) => state.nodes.get(props.name));
  const counted = useStore((state) => state.counts.get(props.name));
  // The server's count comes at most every half second; while the live table holds every row of
  // the view (fewer than its limit), its own count is exact and current, and is shown instead.
  const [liveCount, setLiveCount] = useState<number | null>(null);
  useEffect(() => setLiveCount(null), [props.name]);
  const count = liveCount ?? counted;
  const [detail, setDetail] = useState<NodeDetail | null>(null);
  const [detailError, setDetailError] = useState<string | null>(null);
  // Template and SQL change only with a deploy: fetched again when the node's version moves.
  useEffect(() => {
    let current = true;
    fetchNode(props.name)
      .then((loaded) => current && (setDetail(loaded), setDetailError(null)))
      .catch((error: Error) => current && setDetailError(error.message));
    return () => {
      current = false;
    };
  }, [props.name, node?.version]);

  if (!node) return <aside class="panel" data-testid="model-view">No model named {props.name}.</aside>;
  const stored = node.kind === 'test' && detail?.sql.trimStart().toUpperCase().startsWith('CREATE MATERIALIZED VIEW');
  const queryable = QUERYABLE.has(node.kind) || stored;
  return (
    <aside class="panel" data-testid="model-view" aria-label={`Model ${node.name}`}>
      <header class="panel-head">
        <div>
          <h2>{node.name}</h2>
          <div class="muted">
            {kindLabel(node.kind)} in <code>{node.schema}</code> · <code>{node.path}</code>
            {count !== undefined && count !== null ? ` · ${formatCount(count)} rows` : ''}
          </div>
        </div>
        <button class="ghost" onClick={props.onClose} aria-label="Close model (Escape)" title="Close (Escape)">
          ✕
        </button>
      </header>
      <StatusLine node={node} />
      {node.test ? (
        <p class={`test-outcome test-${node.test.status}`} data-testid="test-outcome">
          Last run: {node.test.status}
          {node.test.failures > 0 ? `, ${node.test.failures} failing row${node.test.failures === 1 ? '' : 's'}` : ''}
        </p>
      ) : null}
      <UnitTests node={node} onOpen={props.onOpen} />
      {queryable && node.status !== 'not_deployed' ? <RowsSection node={node} onWholeCount={setLiveCount} /> : null}
      <Dependencies node={node} onOpen={props.onOpen} />
      {detailError ? <p class="error-text">{detailError}</p> : null}
      {detail?.description ? <p>{detail.description}</p> : null}
      {detail?.template !== null && detail?.template !== undefined ? (
        <details open>
          <summary>Template</summary>
          <pre class="code" data-testid="template">{detail.template}</pre>
        </details>
      ) : null}
      {detail ? (
        <details>
          <summary>Compiled SQL</summary>
          <pre class="code" data-testid="compiled-sql">{detail.sql}</pre>
        </details>
      ) : null}
      <History node={node} />
    </aside>
  );
}

function StatusLine({ node }: { node: GraphNode }) {
  return (
    <div class={`status-line status-${node.status}`} data-testid="model-status" data-status={node.status}>
      <span class="dot" aria-hidden="true" />
      <strong>{statusLabel(node.status)}</strong>
      {node.location ? <code class="location"> {node.location}</code> : null}
      {node.error ? <pre class="error-text">{node.error}</pre> : null}
    </div>
  );
}

/** `onWholeCount`: how many rows the view has, when the live table holds all of them (else null). */
function RowsSection({ node, onWholeCount }: { node: GraphNode; onWholeCount: (count: number | null) => void }) {
  const [columns, setColumns] = useState<ColumnInfo[] | null>(null);
  const [sort, setSort] = useState<Sort | null>(null);
  const relation = `${quoteIdent(node.schema)}.${quoteIdent(node.name)}`;
  // Columns and types from SHOW COLUMNS; asked again after each deploy of this node.
  useEffect(() => {
    let current = true;
    void runSql(`SHOW COLUMNS FROM ${relation}`).then((results) => {
      const result = results[0];
      if (!current || !result || !('rows' in result)) return setColumns([]);
      const found = result.rows.map((row) => ({ name: String(row[0]), nullable: row[1] === true, type: String(row[2]) }));
      setColumns(found);
      setSort((before) => (before && found.some((column) => column.name === before.column) ? before : defaultSort(found)));
    });
    return () => {
      current = false;
    };
  }, [relation, node.deployedVersion]);
  const query = columns === null ? null : sort ? `SELECT * FROM ${relation} ORDER BY ${quoteIdent(sort.column)} ${sort.descending ? 'DESC' : 'ASC'} NULLS LAST LIMIT ${LIVE_ROW_LIMIT}` : `SELECT * FROM ${relation} LIMIT ${LIVE_ROW_LIMIT}`;
  // A redeploy may change the columns: subscribe again (the comment makes the query new).
  const live = useLiveRows(query === null ? null : `${query} /* deploy ${node.deployedVersion} */`);
  const wholeCount = useMemo(() => {
    if (!live.ready || live.error) return null;
    const total = live.rows.reduce((sum, row) => sum + row.count, 0);
    return total < LIVE_ROW_LIMIT ? total : null;
  }, [live.ready, live.error, live.rows]);
  useEffect(() => onWholeCount(wholeCount), [wholeCount, onWholeCount]);
  useEffect(() => () => onWholeCount(null), [onWholeCount]);
  const sortedRows = useMemo(() => {
    if (!sort) return live.rows;
    const index = live.columns.findIndex((column) => column.name === sort.column);
    if (index < 0) return live.rows;
    return [...live.rows].sort((a, b) => {
      const order = compareCells(a.values[index], b.values[index]);
      return sort.descending ? (a.values[index] === null ? 1 : b.values[index] === null ? -1 : -order) : order;
    });
  }, [live.rows, live.columns, sort]);
  const now = Date.now();
  return (
    <section class="rows" aria-label="Rows">
      <h3>
        Rows <span class="muted">(first {LIVE_ROW_LIMIT}, live)</span>
        <span class="muted last-change" data-testid="last-change">
          {live.lastChange ? `last change ${formatTime(live.lastChange)}` : live.ready ? 'no change since opened' : 'subscribing…'}
        </span>
      </h3>
      {live.error ? <p class="error-text">{live.error.message}</p> : null}
      {columns && columns.length > 0 ? (
        <div class="table-wrap">
          <table class="grid" data-testid="live-table">
            <thead>
              <tr>
                {live.columns.map((column) => {
                  const info = columns.find((candidate) => candidate.name === column.name);
                  const active = sort?.column === column.name;
                  return (
                    <th key={column.name} aria-sort={active ? (sort!.descending ? 'descending' : 'ascending') : 'none'}>
                      <button
                        class="sort"
                        onClick={() => setSort({ column: column.name, descending: active ? !sort!.descending : false })}
                        title={`Sort by ${column.name}`}
                      >
                        {column.name}
                        <span class="type">{info?.type ?? ''}</span>
                        {active ? (sort!.descending ? ' ▾' : ' ▴') : ''}
                      </button>
                    </th>
                  );
                })}
              </tr>
            </thead>
            <tbody>
              {sortedRows.flatMap((row) =>
                Array.from({ length: Math.min(row.count, LIVE_ROW_LIMIT) }, (_, copy) => (
                  <tr key={`${row.key}#${copy}`} class={row.changedAt && now - row.changedAt < 2000 ? 'fresh' : ''}>
                    <Cells values={row.values} />
                  </tr>
                )),
              )}
            </tbody>
          </table>
          {live.ready && sortedRows.length === 0 ? <p class="muted">No rows yet.</p> : null}
        </div>
      ) : null}
      {columns && columns.length > 0 ? (
        <details>
          <summary>Columns ({columns.length})</summary>
          <table class="grid compact" data-testid="columns">
            <tbody>
              {columns.map((column) => (
                <tr key={column.name}>
                  <td>{column.name}</td>
                  <td class="muted">{column.type}</td>
                  <td class="muted">{column.nullable ? 'nullable' : 'not null'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      ) : null}
    </section>
  );
}

/**
 * Latest first when there are timestamp columns — by the last one, which in event models is the
 * most recent kind of time (updated_at after created_at) — else the first column.
 */
function defaultSort(columns: ColumnInfo[]): Sort | null {
  const time = [...columns].reverse().find((column) => column.type.startsWith('timestamp'));
  if (time) return { column: time.name, descending: true };
  return columns[0] ? { column: columns[0].name, descending: false } : null;
}

function Dependencies({ node, onOpen }: { node: GraphNode; onOpen: (name: string) => void }) {
  const list = (names: string[]) =>
    names.length === 0 ? (
      <span class="muted">none</span>
    ) : (
      names.map((name) => (
        <button key={name} class="chip" onClick={() => onOpen(name)}>
          {name}
        </button>
      ))
    );
  return (
    <section class="deps" aria-label="Dependencies">
      <div>
        <h3>Reads</h3>
        {list(node.dependsOn)}
      </div>
      <div>
        <h3>Read by</h3>
        {list(node.dependents)}
      </div>
    </section>
  );
}

function History({ node }: { node: GraphNode }) {
  if (node.history.length === 0) return null;
  return (
    <details open>
      <summary>Status changes</summary>
      <ol class="history" data-testid="history">
        {[...node.history].reverse().map((event, index) => (
          <li key={index} data-status={event.status}>
            <span class="muted">{formatTime(event.time)}</span> <strong>{statusLabel(event.status)}</strong>
            {event.detail ? <span class="muted"> — {event.detail}</span> : null}
          </li>
        ))}
      </ol>
    </details>
  );
}
