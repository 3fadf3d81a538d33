/** Thin fetch wrappers for the demo API (the tenant JWT is the credential). */

async function getJson<T>(url: string, headers: Record<string, string> = {}): Promise<T> {
  const res = await fetch(url, { headers });
  const body = (await res.json()) as T & { error?: { message?: string } | string };
  if (!res.ok) {
    const e = body.error;
    throw new Error(typeof e === 'string' ? e : (e?.message ?? `HTTP ${res.status}`));
  }
  return body;
}

export async function login(tenant: string): Promise<string> {
  const res = await fetch('/demo-api/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tenant }) });
  if (!res.ok) throw new Error(`login failed: HTTP ${res.status}`);
  return ((await res.json()) as { token: string }).token;
}

export function demoApi<T>(path: string, token: string): Promise<T> {
  return getJson<T>(`/demo-api/${path}`, { authorization: `Bearer ${token}` });
}

/**
 * The Tenantlens console, signed in with this tenant's own JWT (so it shows this tenant only).
 * `/console/` on the demo origin redirects to the gateway's console; the fragment survives the
 * redirect, never reaches a server, and the console removes it from history once read.
 */
export function consoleHref(token: string): string {
  return `/console/#token=${encodeURIComponent(token)}`;
}
