/** The console's entry point (bundled by scripts/console/console-bundle.ts). */
import { render } from 'preact';
import { App } from './app.tsx';
import './styles.css';

render(<App />, document.getElementById('app')!);
