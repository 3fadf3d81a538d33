import { action, computed, makeObservable, observable } from 'mobx';
import type { ApiClient } from '../api/client.ts';
import type { Comparison, CriticalPath, OperationCount, Range, TenantSummary } from '../api/types.ts';
import { Loadable } from './loadable.ts';

/** Compare A vs B: latency gaps per endpoint and view·action, and critical-path attribution. */
export class CompareStore {
  a = '';
  b = '';
  operation = '';
  readonly tenants = new Loadable<TenantSummary[]>('loadCompareTenants');
  readonly comparison = new Loadable<Comparison>('loadComparison');
  readonly operations = new Loadable<OperationCount[]>('loadOperations');
  readonly criticalPath = new Loadable<CriticalPath>('loadCriticalPath');

  constructor(private readonly api: ApiClient) {
    makeObservable(this, { a: observable, b: observable, operation: observable, chosenOperation: computed, setParams: action });
  }

  setParams(a: string, b: string, operation: string): void {
    this.a = a;
    this.b = b;
    this.operation = operation;
  }

  /** The operation asked for, else the one with the most traces on both sides. */
  get chosenOperation(): string | undefined {
    if (this.operation !== '') return this.operation;
    const ops = this.operations.value ?? [];
    const both = ops.filter((o) => o.a > 0 && o.b > 0);
    return (both[0] ?? ops[0])?.operation;
  }

  /** Fills in a and b from the tenant list when the URL names none: fastest vs slowest P99. */
  static pickPair(tenants: readonly TenantSummary[]): [string, string] | undefined {
    const ranked = tenants.filter((t) => t.backend.p99 !== null || t.frontend.p99 !== null).sort((x, y) => (x.backend.p99 ?? x.frontend.p99 ?? 0) - (y.backend.p99 ?? y.frontend.p99 ?? 0));
    const a = ranked[0]?.tenant;
    const b = ranked[ranked.length - 1]?.tenant;
    return a !== undefined && b !== undefined && a !== b ? [a, b] : undefined;
  }

  async load(range: Range): Promise<void> {
    const rk = `${range.from}/${range.to}`;
    await this.tenants.load(rk, () => this.api.tenants(range));
    const { a, b } = this;
    if (a === '' || b === '') return;
    const k = `${a}/${b}/${rk}`;
    await Promise.all([this.comparison.load(k, () => this.api.compare(a, b, range)), this.operations.load(k, () => this.api.operations(a, b, range))]);
    const op = this.chosenOperation;
    if (op === undefined) this.criticalPath.reset();
    else await this.criticalPath.load(`${k}/${op}`, () => this.api.criticalPath(a, b, op, range));
  }
}
