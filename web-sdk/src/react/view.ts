import { createContext, createElement, useContext, useInsertionEffect, type ReactNode } from 'react';
import { enterView } from '../core/view.ts';

export interface ViewContextValue {
  readonly name: string | undefined;
  readonly depth: number;
}

/** The nearest enclosing `<TenantlensView>`: its name and its depth in the view tree. */
export const ViewContext = createContext<ViewContextValue>({ name: undefined, depth: 0 });

/**
 * Marks `name` as the current view while the component is mounted.
 *
 * An insertion effect, not useEffect: React runs children's effects before their parents', and
 * all insertion effects before any layout or passive effect, so a child that loads data in its
 * own `useEffect` on mount already sees this view. The tree depth decides between nested views.
 */
export function useViewName(name: string): void {
  const depth = useContext(ViewContext).depth + 1;
  useInsertionEffect(() => enterView(name, depth), [name, depth]);
}

export interface TenantlensViewProps {
  name: string;
  children?: ReactNode;
}

/** `<TenantlensView name="UserListView">…</TenantlensView>`: `view_name` of every span while mounted. */
export function TenantlensView({ name, children }: TenantlensViewProps): ReactNode {
  const parent = useContext(ViewContext);
  const depth = parent.depth + 1;
  useInsertionEffect(() => enterView(name, depth), [name, depth]);
  return createElement(ViewContext.Provider, { value: { name, depth } }, children);
}
