/**
 * Reading a field under its earlier name: a zod preprocess step for contracts whose field was renamed, so records
 * written before the rename (stored decisions, assignments in Redis, configuration) still parse. A record that has
 * the new name is taken as it is.
 */
export function readRenamed(from: string, to: string): (value: unknown) => unknown {
  return (value) => {
    if (typeof value !== 'object' || value === null || to in value || !(from in value)) return value;
    const { [from]: renamed, ...rest } = value as Record<string, unknown>;
    return { ...rest, [to]: renamed };
  };
}
