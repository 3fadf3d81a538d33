import type { AlertView } from './state.ts';

/** The generic webhook body: one POST per evaluation that changed something. */
export interface WebhookPayload {
  readonly version: 1;
  readonly source: 'tenantlens';
  /** When the evaluation ran (ISO-8601). */
  readonly evaluatedAt: string;
  /** Alerts that fired or resolved in this evaluation. */
  readonly alerts: readonly AlertView[];
}

export function webhookPayload(alerts: readonly AlertView[], evaluatedAtMs: number): WebhookPayload {
  return { version: 1, source: 'tenantlens', evaluatedAt: new Date(evaluatedAtMs).toISOString(), alerts };
}
