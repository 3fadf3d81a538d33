import { action, computed, makeObservable, observable } from 'mobx';

export type Route =
  | { readonly name: 'tenants' }
  | { readonly name: 'tenant'; readonly tenant: string }
  | { readonly name: 'trace'; readonly traceId: string }
  | { readonly name: 'compare' }
  | { readonly name: 'missing'; readonly path: string };

/** Hash routes only (`#/tenant/acme?range=1h`): nothing but static files ever reaches the server. */
export function parseHash(hash: string): { route: Route; query: URLSearchParams } {
  const h = hash.replace(/^#/, '');
  const q = h.indexOf('?');
  const path = q < 0 ? h : h.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : h.slice(q + 1));
  const parts = path.split('/').filter((p) => p !== '').map((p) => safeDecode(p));
  const [head, arg] = parts;
  if (head === undefined) return { route: { name: 'tenants' }, query };
  if (head === 'tenant' && arg !== undefined && parts.length === 2) return { route: { name: 'tenant', tenant: arg }, query };
  if (head === 'trace' && arg !== undefined && parts.length === 2) return { route: { name: 'trace', traceId: arg }, query };
  if (head === 'compare' && parts.length === 1) return { route: { name: 'compare' }, query };
  return { route: { name: 'missing', path }, query };
}

function safeDecode(p: string): string {
  try {
    return decodeURIComponent(p);
  } catch {
    return p;
  }
}

export function hrefFor(path: string, query: URLSearchParams): string {
  const qs = query.toString();
  return `#${path}${qs === '' ? '' : `?${qs}`}`;
}

/** The location hash as observable state. */
export class RouterStore {
  hash: string;
  private readonly onChange = (): void => this.setHash(location.hash);

  constructor() {
    this.hash = location.hash;
    makeObservable(this, { hash: observable, parsed: computed, route: computed, query: computed, setHash: action });
    // pushState fires neither event; back/forward fire popstate, a typed hash fires hashchange.
    window.addEventListener('hashchange', this.onChange);
    window.addEventListener('popstate', this.onChange);
  }

  dispose(): void {
    window.removeEventListener('hashchange', this.onChange);
    window.removeEventListener('popstate', this.onChange);
  }

  setHash(hash: string): void {
    this.hash = hash;
  }

  get parsed(): { route: Route; query: URLSearchParams } {
    return parseHash(this.hash);
  }

  get route(): Route {
    return this.parsed.route;
  }

  get query(): URLSearchParams {
    return this.parsed.query;
  }

  /** Goes to `href` (`#/…`); `replace` leaves no history entry (filters, sorting, paging). */
  go(href: string, replace = false): void {
    if (replace) history.replaceState(history.state, '', href);
    else history.pushState(history.state, '', href);
    this.setHash(location.hash);
  }
}
