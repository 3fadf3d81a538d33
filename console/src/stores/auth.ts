import { action, computed, makeObservable, observable, observableRef, runInAction } from 'mobx';
import type { ApiClient } from '../api/client.ts';
import { ApiError } from '../api/client.ts';
import type { Whoami } from '../api/types.ts';

/** sessionStorage only: the token dies with the tab and never travels in a URL to a server. */
export const TOKEN_KEY = 'tenantlens.console.token';

/** The console's own telemetry tenant when an older gateway does not name it in whoami. */
export const DEFAULT_CONSOLE_TENANT = 'tenantlens-console';

function storage(): Storage | undefined {
  try {
    return sessionStorage;
  } catch {
    return undefined; // storage disabled: the token lives in memory for this page only
  }
}

/**
 * Reads `#token=…` once (a link from `npm start`), keeps it in sessionStorage and removes it from
 * the address bar and history, so the token is not bookmarked, shared or sent as a Referer.
 * Also turns an alert's drill-down link (`/console/?tenant=&from=&to=`) into the tenant route.
 */
export function takeTokenFromUrl(): string | undefined {
  let token: string | undefined;
  const m = /^#token=([^&]+)/.exec(location.hash);
  if (m?.[1] !== undefined) token = decodeURIComponent(m[1]);
  const search = new URLSearchParams(location.search);
  const tenant = search.get('tenant');
  let hash = token === undefined ? location.hash : '#/';
  if (tenant !== null && tenant !== '') {
    const q = new URLSearchParams();
    for (const k of ['from', 'to']) {
      const v = search.get(k);
      if (v !== null) q.set(k, v);
    }
    hash = `#/tenant/${encodeURIComponent(tenant)}${q.size > 0 ? `?${q}` : ''}`;
  }
  if (token !== undefined || tenant !== null) history.replaceState(null, '', `${location.pathname}${hash}`);
  return token;
}

export type AuthState = 'signed-out' | 'checking' | 'signed-in';

export class AuthStore {
  state: AuthState = 'signed-out';
  who: Whoami | undefined = undefined;
  /** Why the sign-in page is showing (a 401's message), if not a first visit. */
  reason: string | undefined = undefined;
  private memoryToken: string | undefined;

  constructor(private readonly api: () => ApiClient) {
    makeObservable<AuthStore, 'setSignedIn'>(this, {
      state: observable,
      who: observableRef,
      reason: observable,
      isAdmin: computed,
      ownTenant: computed,
      consoleTenant: computed,
      hiddenTenants: computed,
      signOut: action,
      unauthorized: action,
      setSignedIn: action,
    });
  }

  token(): string | undefined {
    return storage()?.getItem(TOKEN_KEY) ?? this.memoryToken;
  }

  get isAdmin(): boolean {
    return this.who?.admin === true;
  }

  /** The tenant a tenant credential is for; undefined for the operator. */
  get ownTenant(): string | undefined {
    return this.who !== undefined && !this.who.admin ? this.who.tenant : undefined;
  }

  get consoleTenant(): string {
    return this.who?.consoleTenant ?? DEFAULT_CONSOLE_TENANT;
  }

  /** Tenantlens's own tenants (the console's, the ingress's): hidden from lists unless asked for. */
  get hiddenTenants(): readonly string[] {
    const infra = this.who?.infraTenant;
    return infra === undefined ? [this.consoleTenant] : [this.consoleTenant, infra];
  }

  /** May this credential see `tenant`? The API enforces it too; the UI never even asks. */
  canSee(tenant: string): boolean {
    return this.isAdmin || this.ownTenant === tenant;
  }

  /** Keeps the token, then asks the gateway who it is; a 401 lands back on sign-in with its reason. */
  async signIn(token: string): Promise<void> {
    const t = token.trim();
    if (t === '') {
      runInAction(() => (this.reason = 'enter a token'));
      return;
    }
    const s = storage();
    if (s !== undefined) s.setItem(TOKEN_KEY, t);
    else this.memoryToken = t;
    runInAction(() => {
      this.state = 'checking';
      this.reason = undefined;
    });
    try {
      const who = await this.api().whoami();
      this.setSignedIn(who);
    } catch (err) {
      // 401 already went through unauthorized(); anything else keeps the token (a network blip).
      if (!(err instanceof ApiError && err.status === 401)) {
        runInAction(() => {
          this.state = 'signed-out';
          this.reason = `could not check the token: ${(err as Error).message}`;
        });
      }
    }
  }

  private setSignedIn(who: Whoami): void {
    this.who = who;
    this.state = 'signed-in';
  }

  signOut(): void {
    storage()?.removeItem(TOKEN_KEY);
    this.memoryToken = undefined;
    this.who = undefined;
    this.state = 'signed-out';
    this.reason = undefined;
  }

  /** Any 401: the token is expired or wrong; forget it and say why on the sign-in page. */
  unauthorized(reason: string): void {
    storage()?.removeItem(TOKEN_KEY);
    this.memoryToken = undefined;
    this.who = undefined;
    this.state = 'signed-out';
    this.reason = reason;
  }
}
