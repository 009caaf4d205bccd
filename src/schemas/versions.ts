/**
 * Contract versions, free of zod so that workflow code can stamp them without pulling the schema library into the
 * workflow bundle.
 */

/** Decision schema version (src/schemas/decision.ts). */
export const decisionVersion = 1;
