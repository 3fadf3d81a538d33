import { observer } from 'mobx-react-lite';
import type { ReactNode } from 'react';

export function Loading({ what }: { what: string }) {
  return (
    <p className="state loading" role="status" data-testid="loading">
      Loading {what}…
    </p>
  );
}

/** "No data yet": where to point an exporter so there is some. */
export function Empty({ children }: { children?: ReactNode }) {
  return (
    <div className="state empty" data-testid="empty">
      {children ?? (
        <p>
          No data yet: point an exporter at <code>{location.origin}/v1/traces</code> (OTLP/HTTP), or widen the time range.
        </p>
      )}
    </div>
  );
}

export function ErrorState({ error, what }: { error: { status: number; message: string }; what: string }) {
  return (
    <p className="state error" role="alert" data-testid="error">
      Could not load {what}: {error.message}
      {error.status > 0 ? ` (HTTP ${error.status})` : ''}
    </p>
  );
}

/** A credential asking for what it may not see: no data, not even whether it exists. */
export function NotAllowed({ what }: { what: string }) {
  return (
    <div className="state not-allowed" role="alert" data-testid="not-allowed">
      <h2>Not allowed</h2>
      <p>Your credential does not allow viewing {what}. Sign in with the operator token, or with this tenant's own credential.</p>
    </div>
  );
}

/**
 * The usual three-way render of a Loadable: error, first load, or the value (refreshes keep the
 * previous value on screen). An observer itself: `children` often reads more observables.
 */
function LoadedImpl<T>({ value, error, what, children }: { value: T | undefined; error: { status: number; message: string } | undefined; what: string; children: (v: T) => ReactNode }) {
  if (error !== undefined) return <ErrorState error={error} what={what} />;
  if (value === undefined) return <Loading what={what} />;
  return <>{children(value)}</>;
}

export const Loaded = observer(LoadedImpl) as typeof LoadedImpl;
