/**
 * Local models in Ollama: the Modelfile fraudflow imports a GGUF with (SmolLM2's ChatML template, greedy decoding),
 * importing one under a tag, and reading a tag's digest.
 */
import { runToLog } from '../tools';

const chatMlTemplate = `TEMPLATE """{{- range .Messages }}<|im_start|>{{ .Role }}
{{ .Content }}<|im_end|>
{{ end }}<|im_start|>assistant
"""
PARAMETER stop "<|im_end|>"
PARAMETER stop "<|im_start|>"
PARAMETER temperature 0
PARAMETER num_ctx 2048
`;

/** The Modelfile for a GGUF file: `FROM` it, with the chat template and parameters every fraudflow model uses. */
export function modelfileFor(gguf: string): string {
  return `FROM ${gguf}\n${chatMlTemplate}`;
}

/** `ollama create <tag> -f <modelfile>` against the server at `host` (host:port). */
export async function createOllamaModel(opts: {
  ollamaBin: string;
  host: string;
  tag: string;
  modelfile: string;
  logFile: string;
}): Promise<void> {
  await runToLog(opts.ollamaBin, ['create', opts.tag, '-f', opts.modelfile], {
    env: { OLLAMA_HOST: opts.host },
    logFile: opts.logFile,
    what: `importing ${opts.tag} into Ollama from ${opts.modelfile}`,
  });
}

/** The digest Ollama gives a model tag (sha256 of its manifest), or undefined when it has no such model. */
export async function ollamaDigest(apiBase: string, tag: string): Promise<string | undefined> {
  const res = await fetch(`${apiBase}/api/tags`, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`Ollama ${apiBase}/api/tags answered ${res.status}`);
  const body = (await res.json()) as { models?: Array<{ name: string; digest: string }> };
  const wanted = tag.includes(':') ? tag : `${tag}:latest`;
  return body.models?.find((m) => m.name === wanted)?.digest;
}
