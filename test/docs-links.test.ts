/**
 * Every relative link in the user-facing docs resolves: the file (or folder) exists, and a
 * `#fragment` names a heading (GitHub's slug) or an `<a id>` of the target Markdown file. Links to
 * other sites are not fetched (CI has no network). Run alone: `node --import tsx --test test/docs-links.test.ts`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** The docs a reader sees: the README, docs/ and the packages' READMEs. */
export function docFiles(): string[] {
  const docs = readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => join('docs', f));
  return ['README.md', ...docs, 'console/README.md', 'web-sdk/README.md', 'charts/tenantlens/README.md'].map((f) => join(ROOT, f));
}

/** Lines outside fenced code blocks, with their 1-based numbers. */
function proseLines(text: string): Array<{ line: string; n: number }> {
  const out: Array<{ line: string; n: number }> = [];
  let fence: string | undefined;
  text.split('\n').forEach((line, i) => {
    const m = /^\s*(`{3,}|~{3,})/.exec(line);
    if (m !== null) {
      const mark = m[1] as string;
      if (fence === undefined) fence = mark[0];
      else if (mark[0] === fence) fence = undefined;
      return;
    }
    if (fence === undefined) out.push({ line, n: i + 1 });
  });
  return out;
}

/** GitHub's heading anchor: the heading's text, lower-cased, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
}

const anchorCache = new Map<string, Set<string>>();

/** Every anchor a Markdown file defines: heading slugs (duplicates numbered as GitHub does) and `<a id|name>`. */
export function anchors(file: string): Set<string> {
  const cached = anchorCache.get(file);
  if (cached !== undefined) return cached;
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const { line } of proseLines(readFileSync(file, 'utf8'))) {
    const h = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (h !== null) {
      const base = slug(h[1] as string);
      const k = seen.get(base) ?? 0;
      seen.set(base, k + 1);
      out.add(k === 0 ? base : `${base}-${k}`);
    }
    for (const a of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) out.add(a[1] as string);
  }
  anchorCache.set(file, out);
  return out;
}

/** `[text](target)` and `![alt](target)` targets on prose lines, without a title. */
export function links(file: string): Array<{ target: string; n: number }> {
  const out: Array<{ target: string; n: number }> = [];
  for (const { line, n } of proseLines(readFileSync(file, 'utf8'))) {
    // Inline code is not a link, unless it is a link's text: drop code spans not followed by `](`.
    const prose = line.replace(/`[^`]*`(?!\]\()/g, '``');
    for (const m of prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) out.push({ target: m[1] as string, n });
  }
  return out;
}

/** What is wrong with one link, or undefined when it resolves. */
export function brokenLink(file: string, target: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return undefined; // https:, mailto:, …: not fetched
  const hash = target.indexOf('#');
  const path = decodeURIComponent(hash === -1 ? target : target.slice(0, hash));
  const fragment = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1));
  const dest = path === '' ? file : resolve(dirname(file), path);
  if (!existsSync(dest)) return `no such file: ${relative(ROOT, dest)}`;
  if (fragment === undefined || fragment === '') return undefined;
  if (statSync(dest).isDirectory() || !dest.endsWith('.md')) return undefined;
  return anchors(dest).has(fragment) ? undefined : `no heading or anchor "#${fragment}" in ${relative(ROOT, dest)}`;
}

test('slugs follow GitHub: code, slashes and punctuation dropped, spaces to hyphens', () => {
  assert.equal(slug('Metrics (`/v1/metrics`)'), 'metrics-v1metrics');
  assert.equal(slug('`GET /api/v1/operations?a=&b=&from=&to=`'), 'get-apiv1operationsabfromto');
  assert.equal(slug('Into a real influxd 1.6.7'), 'into-a-real-influxd-167');
  assert.equal(slug("The console's files and telemetry"), 'the-consoles-files-and-telemetry');
  assert.equal(slug('What Telegraf writes: `caddy_http_requests`'), 'what-telegraf-writes-caddy_http_requests');
});

test('every relative link in the README, docs/ and the package READMEs resolves', () => {
  const files = docFiles();
  assert.ok(files.length >= 10, `expected the README, docs/*.md and three package READMEs, found ${files.length}`);
  const broken: string[] = [];
  let checked = 0;
  for (const file of files) {
    for (const { target, n } of links(file)) {
      checked++;
      const why = brokenLink(file, target);
      if (why !== undefined) broken.push(`${relative(ROOT, file)}:${n}: (${target}) ${why}`);
    }
  }
  assert.ok(checked > 50, `only ${checked} links found: the link scanner is broken`);
  assert.deepEqual(broken, [], `broken links:\n${broken.join('\n')}`);
});
