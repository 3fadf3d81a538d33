import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
const SRC = resolve('gateway/src');
function files(d: string): string[] { return readdirSync(d, { withFileTypes: true }).flatMap((e) => e.isDirectory() ? files(join(d, e.name)) : e.name.endsWith('.ts') ? [join(d, e.name)] : []); }
const all = files(SRC);
const edges = new Map<string, string[]>();
for (const f of all) {
  const info = ts.preProcessFile(readFileSync(f, 'utf8'), true, true);
  edges.set(relative(SRC, f), info.importedFiles.map((i) => i.fileName).filter((s) => s.startsWith('.')).map((s) => relative(SRC, resolve(dirname(f), s))));
}
const folder = (f: string) => f.includes('/') ? f.split('/')[0]! : f;
const fe = new Map<string, Set<string>>();
for (const [f, ts_] of edges) for (const t of ts_) { const a = folder(f), b = folder(t); if (a !== b) { if (!fe.has(a)) fe.set(a, new Set()); fe.get(a)!.add(b); if (process.argv[2]) console.log(a, '->', b, ':', f, '->', t); } }
for (const [a, bs] of fe) for (const b of bs) if (fe.get(b)?.has(a) && a < b) console.log('2-cycle', a, b);
console.log([...fe].map(([a, b]) => a + ' -> ' + [...b].sort().join(' ')).sort().join('\n'));
