// A stand-in shared by tests and benchmarks: no production code imports src/testing.
/** The hosted-provider stand-in: an OpenAI-compatible server whose every answer a test scripts (see server.ts). */
export { deterministicEmbedding } from './answers';
export { behaviourFromMarkers } from './behaviour';
export type { Behaviour, BehaviourFn } from './behaviour';
export type {
  CapturedChatRequest,
  CapturedEmbeddingRequest,
  CapturedModelRequest,
  CapturedRequest,
  ChatCompletionRequestBody,
  EmbeddingRequestBody,
} from './requests';
export { startHostedTestServer } from './server';
export type { HostedTestServer, HostedTestServerOptions } from './server';
