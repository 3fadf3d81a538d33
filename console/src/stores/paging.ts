/** Sorting and paging shared by the list stores (tenants, sessions): one comparator, one slicer. */

/** Sorts in place by `key` (missing values last when descending), ties broken by `id` ascending. */
export function sortBy<T>(rows: T[], key: (row: T) => number | string, id: (row: T) => string, descending: boolean): T[] {
  const dir = descending ? -1 : 1;
  return rows.sort((x, y) => {
    const a = key(x);
    const b = key(y);
    const ix = id(x);
    const iy = id(y);
    return (a < b ? -1 : a > b ? 1 : 0) * dir || (ix < iy ? -1 : ix > iy ? 1 : 0);
  });
}

export function pageCount(total: number, size: number): number {
  return Math.max(1, Math.ceil(total / size));
}

/** The rows of page `page` (clamped to the last page: a filter may shrink the list under it). */
export function pageOf<T>(rows: readonly T[], page: number, size: number): T[] {
  const p = Math.max(0, Math.min(page, pageCount(rows.length, size) - 1));
  return rows.slice(p * size, (p + 1) * size);
}
