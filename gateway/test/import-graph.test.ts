/**
 * No import cycles in gateway/src, between files or between folders. A cycle makes load order
 * matter (an import is undefined while its module is still being evaluated) and hides a layer
 * that is not one: two folders that import each other are one folder. Type-only imports count
 * too: they are the same design dependency. The folder boundaries themselves (which folder may
 * import which) are ESLint's job (eslint.config.mjs, GATEWAY_LAYERS).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';

const SRC = resolve(import.meta.dirname, '..', 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/** file → the gateway/src files it imports (static, type-only and dynamic `import()`), paths relative to gateway/src. */
function importGraph(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const file of sourceFiles(SRC)) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const targets = importedFiles.filter((i) => i.fileName.startsWith('.')).map((i) => relative(SRC, resolve(dirname(file), i.fileName)));
    graph.set(relative(SRC, file), new Set(targets));
  }
  return graph;
}

/** The graph between groups of files (`groupOf`), without edges inside a group. */
function collapse(graph: Map<string, Set<string>>, groupOf: (file: string) => string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const [from, targets] of graph) {
    const a = groupOf(from);
    if (!out.has(a)) out.set(a, new Set());
    for (const to of targets) {
      const b = groupOf(to);
      if (a !== b) out.get(a)!.add(b);
    }
  }
  return out;
}

/** Every cycle found by a depth-first search, each once, as `a → b → … → a`. */
function cycles(graph: Map<string, Set<string>>): string[] {
  const found = new Set<string>();
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  function visit(node: string): void {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') {
        const loop = stack.slice(stack.indexOf(next));
        // Rotated to start at its smallest node, so a cycle is reported once whatever the entry.
        const start = loop.indexOf([...loop].sort()[0]!);
        const rotated = [...loop.slice(start), ...loop.slice(0, start)];
        found.add([...rotated, rotated[0]].join(' → '));
      } else if (state.get(next) === undefined) {
        visit(next);
      }
    }
    stack.pop();
    state.set(node, 'done');
  }
  for (const node of [...graph.keys()].sort()) if (state.get(node) === undefined) visit(node);
  return [...found].sort();
}

/** A file at the top of gateway/src is its own node (app.ts, main.ts, config.ts, errors.ts). */
const topFolder = (file: string): string => file.split('/')[0]!;
const folder = (file: string): string => (file.includes('/') ? dirname(file) : file);

const graph = importGraph();

test('the import graph is read: every relative import names a file of gateway/src', () => {
  assert.ok(graph.size > 50, `${graph.size} files`);
  for (const [from, targets] of graph) for (const to of targets) assert.ok(graph.has(to), `${from} imports ${to}, which is not a gateway/src .ts file`);
});

test('no import cycle between files of gateway/src', () => {
  assert.deepEqual(cycles(graph), []);
});

test('no import cycle between the folders of gateway/src (top-level: mapping/, influx/, …)', () => {
  assert.deepEqual(cycles(collapse(graph, topFolder)), []);
});

test('no import cycle between folders at any depth (ingest/ and ingest/trace-lines/, alerts/ and alerts/notify/)', () => {
  assert.deepEqual(cycles(collapse(graph, folder)), []);
});

test('the cycle finder finds cycles (the checks above would pass vacuously otherwise)', () => {
  const g = new Map([
    ['a', new Set(['b'])],
    ['b', new Set(['c'])],
    ['c', new Set(['a'])],
    ['d', new Set(['a'])],
  ]);
  assert.deepEqual(cycles(g), ['a → b → c → a']);
  assert.deepEqual(cycles(collapse(new Map([['x/1.ts', new Set(['y/2.ts'])], ['y/2.ts', new Set(['x/3.ts'])], ['x/3.ts', new Set<string>()]]), topFolder)), ['x → y → x']);
});
