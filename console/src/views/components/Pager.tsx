export function Pager({ page, pages, total, onPage, label }: { page: number; pages: number; total: number; onPage: (p: number) => void; label: string }) {
  if (pages <= 1) return <p className="muted pager-summary">{total.toLocaleString()} {label}</p>;
  return (
    <nav className="pager" aria-label={`${label} pages`}>
      <button type="button" onClick={() => onPage(page - 1)} disabled={page <= 0}>
        ‹ Previous
      </button>
      <span aria-live="polite">
        page {page + 1} of {pages} · {total.toLocaleString()} {label}
      </span>
      <button type="button" onClick={() => onPage(page + 1)} disabled={page >= pages - 1}>
        Next ›
      </button>
    </nav>
  );
}

/** A real column header that sorts: a button inside <th>, with aria-sort. */
export function SortHeader<K extends string>({ label, k, sort, descending, onSort, num }: { label: string; k: K; sort: K; descending: boolean; onSort: (k: K) => void; num?: boolean }) {
  const active = sort === k;
  return (
    <th scope="col" className={num === true ? 'num' : undefined} aria-sort={active ? (descending ? 'descending' : 'ascending') : 'none'}>
      <button type="button" className="sort" onClick={() => onSort(k)}>
        {label}
        <span aria-hidden="true">{active ? (descending ? ' ▼' : ' ▲') : ''}</span>
      </button>
    </th>
  );
}
