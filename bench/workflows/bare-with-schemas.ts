/**
 * The bare workflow plus the modules scoreTransactionWorkflow's bundle evaluates: the zod contracts (decision,
 * money). The SDK re-evaluates a bundle's modules for every workflow execution (each keeps its own module state),
 * so what a workflow imports is paid per workflow, not once per worker.
 */
export { bareWorkflow } from './bare';
export { decisionVersion } from '../../src/schemas/decision';
export { toMajorUnits } from '../../src/schemas/money';
