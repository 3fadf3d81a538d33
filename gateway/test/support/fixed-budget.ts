import type { ColumnBudget } from '../../src/mapping/column-budget.ts';

/**
 * A column budget that decides at once, the same way every time it is asked the same things in
 * the same order: the first `max` columns asked for per measurement are admitted. For tests that
 * hold two paths to the same bytes (the real one decides asynchronously, mapping/column-budget.ts).
 */
export function fixedBudget(max: number): ColumnBudget & { readonly asked: Map<string, Set<string>> } {
  const asked = new Map<string, Set<string>>();
  return {
    asked,
    admits(table, column) {
      let set = asked.get(table);
      if (set === undefined) asked.set(table, (set = new Set()));
      if (set.has(column)) return true;
      if (set.size >= max) return false;
      set.add(column);
      return true;
    },
    version: 0,
    max,
    inUse: () => new Map([...asked].map(([t, s]) => [t, s.size])),
    ready: () => Promise.resolve(),
    settled: () => Promise.resolve(),
    close: () => undefined,
  };
}
