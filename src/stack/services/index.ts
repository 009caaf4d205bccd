/**
 * The services of the local stack, one file each: a Temporal dev server, a single-node KRaft Kafka broker, Ollama
 * with a quantized model, the codec server and the Redis feature store. Each knows how to provision itself into the
 * cache, start detached, and prove real health.
 */
export type { StackService } from './shared';
export { codecService } from './codec';
export { featureStoreHealthy, featureStoreService, pingFeatureStore } from './feature-store';
export { kafkaService } from './kafka';
export { ollamaService } from './ollama';
export { temporalService } from './temporal';
export { postgresService } from './postgres';
export { temporalServerService } from './temporal-server';
