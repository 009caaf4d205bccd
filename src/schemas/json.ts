/**
 * JSON text read at a boundary (a file, a message). The value is for a zod schema to judge: nothing here trusts it.
 */

/** The value of JSON text; an Error naming `source` when the text is not JSON. */
export function readJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${source} is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** JSON text as a value for a schema to judge, or `undefined` when it is not JSON (the schema then refuses it). */
export function jsonOrUndefined(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
