/**
 * Thrown inside the fused encoder to hand a request back to the reference path (a span it would
 * refuse, a limit, a reserved name, …). Preallocated, so bailing out captures no stack.
 */
export const HAND_BACK = new Error('fused trace encoder: use the reference path');
