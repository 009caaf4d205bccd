// A stand-in shared by tests and benchmarks: no production code imports src/testing.
/** The fault proxy: seeded faults between the `openai` SDK and a model endpoint (see proxy.ts). */
export type { FaultCounts, FaultKind, FaultRates } from './faults';
export { startFaultProxy } from './proxy';
export type { FaultProxy, FaultProxyOptions } from './proxy';
