/**
 * docker-compose.yml (and docker-compose.production.yml) as the tests read them: parsed with YAML merge keys, `${...}` substitutions resolved as Compose
 * resolves them, and typed with zod. Shared by test/compose.test.ts (the file against the code) and
 * test/deploy/compose-services.test.ts (its services run as processes).
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';

export const repoRoot = path.resolve(__dirname, '..', '..');

export const ComposeService = z.object({
  image: z.string().optional(),
  build: z.unknown().optional(),
  entrypoint: z.array(z.string()).optional(),
  command: z.array(z.string()).optional(),
  // Mapping form only, every value set: a pass-through `KEY:` would make the containers depend on the host.
  environment: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String)).optional(),
  ports: z.array(z.string()).optional(),
  volumes: z.array(z.string()).optional(),
  healthcheck: z.object({ test: z.array(z.string()) }).optional(),
  depends_on: z.record(z.string(), z.object({ condition: z.string() })).optional(),
  deploy: z.object({ replicas: z.number().int().positive().optional() }).optional(),
});
export type ComposeService = z.infer<typeof ComposeService>;
const ComposeFile = z.object({ services: z.record(z.string(), ComposeService) });

/** Thrown when a `${NAME:?message}` variable is required and not given, as `docker compose` refuses to start. */
export class MissingComposeVariable extends Error {
  override name = 'MissingComposeVariable';
}

/**
 * Compose's substitutions: `${NAME:-default}` / `${NAME-default}` take `vars[NAME]` or the default, `${NAME:?msg}` /
 * `${NAME?msg}` take `vars[NAME]` or fail, `$$` is a literal `$`. `vars` stands for `.env` plus the shell.
 */
export function interpolate(value: unknown, vars: Record<string, string> = {}): unknown {
  if (typeof value === 'string') {
    return value.replace(
      /\$(\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*)|(:?\?)([^}]*))?\}|[A-Za-z_][A-Za-z0-9_]*)/g,
      (
        match: string,
        token: string,
        name: string | undefined,
        dash: string | undefined,
        fallback: string | undefined,
        question: string | undefined,
        message: string | undefined,
      ) => {
        if (token === '$') return '$';
        const given = name === undefined ? undefined : vars[name];
        const usable = given !== undefined && !(given === '' && (dash === ':-' || question === ':?'));
        if (usable) return given;
        if (dash !== undefined) return fallback ?? '';
        if (question !== undefined) throw new MissingComposeVariable(`${name}: ${message ?? 'required'}`);
        throw new Error(`${match} in docker-compose.yml has no default`);
      },
    );
  }
  if (Array.isArray(value)) return value.map((v) => interpolate(v, vars));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, vars)]));
  }
  return value;
}

export function readRepoFile(file: string): string {
  return fs.readFileSync(path.join(repoRoot, file), 'utf8');
}

/** The development compose file, and the production topology beside it. */
export const composeFiles = { dev: 'docker-compose.yml', production: 'docker-compose.production.yml' } as const;
type ComposeFileName = (typeof composeFiles)[keyof typeof composeFiles];

/** The raw file, substitutions unresolved. */
export function rawCompose(file: ComposeFileName = composeFiles.dev): unknown {
  return parse(readRepoFile(file), { merge: true });
}

/** The services with `vars` substituted (default: no `.env`, no shell variables). */
export function loadComposeServices(
  vars: Record<string, string> = {},
  file: ComposeFileName = composeFiles.dev,
): Record<string, ComposeService> {
  return ComposeFile.parse(interpolate(rawCompose(file), vars)).services;
}

/** The services built from this repository's Dockerfile, as opposed to the Kafka/Temporal/Ollama/Redis images. */
export function projectServicesOf(services: Record<string, ComposeService>): Array<[string, ComposeService]> {
  return Object.entries(services).filter(([, s]) => s.build !== undefined);
}

export function environmentOf(s: ComposeService): Record<string, string> {
  return s.environment ?? {};
}

/** Short port syntax `[ip:]host:container[/proto]`. */
export function publishedPorts(s: ComposeService): Array<{ hostIp: string; hostPort: number; containerPort: number }> {
  return (s.ports ?? []).map((spec) => {
    const m = /^(?:(\d+\.\d+\.\d+\.\d+):)?(\d+):(\d+)(?:\/(?:tcp|udp))?$/.exec(spec);
    if (!m) throw new Error(`unsupported port syntax ${spec}`);
    return { hostIp: m[1] ?? '0.0.0.0', hostPort: Number(m[2]), containerPort: Number(m[3]) };
  });
}

/** Value of `--flag value` in a command, or undefined. */
export function flagValue(command: string[], flag: string): string | undefined {
  const i = command.indexOf(flag);
  return i >= 0 ? command[i + 1] : undefined;
}
