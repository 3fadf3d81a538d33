import { reaction } from 'mobx';
import { createRoot } from 'react-dom/client';
import { enterView } from '@tenantlens/web-sdk';
import { takeTokenFromUrl } from './stores/auth.ts';
import { RootStore } from './stores/root.ts';
import { startConsoleTelemetry } from './telemetry.ts';
import { App } from './views/App.tsx';
import './styles.css';

// Before anything reads the URL: a `#token=` link signs in once and leaves no token in history.
const linkToken = takeTokenFromUrl();
const root = new RootStore();
startConsoleTelemetry(() => root.auth.token());
// Spans carry the console view they happened in (view_name), like any instrumented app's.
let leaveView: (() => void) | undefined;
reaction(
  () => root.route.name,
  (name) => {
    leaveView?.();
    leaveView = enterView(name);
  },
  { fireImmediately: true, name: 'consoleView' },
);
root.start();
const existing = root.auth.token();
if (linkToken !== undefined) void root.auth.signIn(linkToken);
else if (existing !== undefined) void root.auth.signIn(existing);

const el = document.getElementById('root');
if (el !== null) createRoot(el).render(<App root={root} />);
