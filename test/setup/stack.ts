/**
 * Vitest global setup: the suite needs the real stack. `npm test` brings it up before vitest starts; this makes
 * a bare `npx vitest` do the same, and fails the run (never skips) if a service cannot be made healthy.
 */
import { loadConfig } from '../../src/config';
import { stackStatus, stackUp } from '../../src/stack';

export default async function setup(): Promise<void> {
  const config = loadConfig();
  const status = await stackStatus(config);
  if (status.every((s) => s.healthy)) return;
  await stackUp(config, { log: (line) => console.log(`[stack] ${line}`) });
}
