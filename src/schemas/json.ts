/** JSON text as a value for a schema to judge, or `undefined` when it is not JSON (the schema then refuses it). */
export function jsonOrUndefined(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
