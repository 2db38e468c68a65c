/**
 * The console page: a header with the project and the views (Lineage, Ingest, SQL, Activations),
 * routed by the URL's hash so a view or a model can be linked and the back button works.
 * Keys: 1/2/3/4 switch views, / filters models, t toggles the theme, Escape closes a model.
 */
import { useEffect, useState } from 'preact/hooks';
import { ActivationsView } from './activations-view.tsx';
import { fetchGraph, fetchInfo, fetchRequests, listenToServer, type ConsoleInfo } from './api.ts';
import { IngestView } from './ingest-view.tsx';
import { isTyping, Lineage } from './lineage.tsx';
import { ModelView } from './model-view.tsx';
import { SqlShell } from './sql-shell.tsx';
import { store, useStore } from './store.ts';

type Route = { view: 'lineage'; model: string | null } | { view: 'ingest' } | { view: 'sql' } | { view: 'activations' };

function parseRoute(hash: string): Route {
  const [view, ...rest] = hash.replace(/^#\/?/, '').split('/');
  if (view === 'ingest') return { view: 'ingest' };
  if (view === 'sql') return { view: 'sql' };
  if (view === 'activations') return { view: 'activations' };
  if (view === 'model' && rest.length > 0) return { view: 'lineage', model: decodeURIComponent(rest.join('/')) };
  return { view: 'lineage', model: null };
}

function go(hash: string): void {
  if (location.hash !== hash) location.hash = hash;
}

const openModel = (name: string) => go(`#/model/${encodeURIComponent(name)}`);

export function App() {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  const [info, setInfo] = useState<ConsoleInfo | null>(null);
  const [theme, setTheme] = useState(() => document.documentElement.dataset.theme ?? 'dark');
  const project = useStore((state) => state.project);
  const connected = useStore((state) => state.connected);

  useEffect(() => {
    const onHash = () => setRoute(parseRoute(location.hash));
    window.addEventListener('hashchange', onHash);
    void fetchInfo().then(setInfo);
    const reload = () => {
      void fetchGraph().then((graph) => store.setGraph(graph));
      void fetchRequests().then((log) => store.update({ requests: [...log.recent].reverse(), targets: log.targets }));
    };
    const stop = listenToServer({
      open: () => {
        store.update({ connected: true });
        reload();
      },
      graph: () => void fetchGraph().then((graph) => store.setGraph(graph)),
      nodes: ({ nodes }) => store.setNodes(nodes),
      counts: ({ counts }) => store.setCounts(counts),
      requests: ({ records, targets }) => store.addRequests(records, targets),
    });
    // The chart scrolls with time even when nothing arrives.
    const tick = setInterval(() => {
      if (store.state.targets.length > 0) void fetchRequests().then((log) => store.update({ targets: log.targets }));
    }, 5_000);
    return () => {
      window.removeEventListener('hashchange', onHash);
      stop();
      clearInterval(tick);
    };
  }, []);

  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem('console-theme', theme);
  }, [theme]);

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (isTyping(event) || event.ctrlKey || event.metaKey || event.altKey) return;
      if (event.key === '1') go('#/lineage');
      else if (event.key === '2') go('#/ingest');
      else if (event.key === '3') go('#/sql');
      else if (event.key === '4') go('#/activations');
      else if (event.key === 't') setTheme((current) => (current === 'dark' ? 'light' : 'dark'));
      else if (event.key === 'Escape' && route.view === 'lineage' && route.model) go('#/lineage');
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [route]);

  const tab = (view: Route['view'], label: string, key: string, hash: string) => (
    <a href={hash} class={`tab${route.view === view ? ' active' : ''}`} aria-current={route.view === view ? 'page' : undefined} title={`${label} (${key})`}>
      {label}
      <kbd>{key}</kbd>
    </a>
  );

  return (
    <div class="app">
      <header class="top">
        <strong class="brand">segment-materialize</strong>
        <span class="muted">{project ?? 'no project'}</span>
        <nav aria-label="Views">
          {tab('lineage', 'Lineage', '1', '#/lineage')}
          {tab('ingest', 'Ingest', '2', '#/ingest')}
          {tab('sql', 'SQL', '3', '#/sql')}
          {tab('activations', 'Activations', '4', '#/activations')}
        </nav>
        <span class="spacer" />
        {info ? (
          <code class="muted" title="Connect with psql">
            {info.pgUrl}
          </code>
        ) : null}
        <span class={`live ${connected ? 'on' : 'off'}`} data-testid="connection">
          {connected ? 'live' : 'reconnecting…'}
        </span>
        <button class="ghost" onClick={() => setTheme(theme === 'dark' ? 'light' : 'dark')} aria-label="Toggle theme (t)" title="Toggle theme (t)" data-testid="theme-toggle">
          {theme === 'dark' ? '☀' : '☾'}
        </button>
      </header>
      <main class={`view-${route.view}`}>
        {route.view === 'lineage' ? (
          <div class={`split${route.model ? ' with-panel' : ''}`}>
            <Lineage selected={route.model} onOpen={openModel} />
            {route.model ? <ModelView key={route.model} name={route.model} onOpen={openModel} onClose={() => go('#/lineage')} /> : null}
          </div>
        ) : null}
        {route.view === 'ingest' ? <IngestView key={theme} /> : null}
        {route.view === 'sql' ? <SqlShell /> : null}
        {route.view === 'activations' ? <ActivationsView /> : null}
      </main>
    </div>
  );
}
