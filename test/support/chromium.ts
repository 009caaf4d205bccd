/**
 * A real Chromium for browser tests. Playwright's own browser download cannot work on a closed network, so the
 * tests drive Debian's `chromium` package through playwright-core; this installs it when it is missing and fails
 * loudly (never skips) when it cannot.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Where Debian's `chromium` package puts the browser. */
export const chromiumPath = '/usr/bin/chromium';

const installCommand = 'apt-get install -y --no-install-recommends chromium';

/** Flags for a headless, sandbox-free Chromium that talks to nothing but the loopback pages it is sent to. */
export const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function aptGet(args: string[]): { ok: boolean; output: string } {
  const res = spawnSync('apt-get', args, {
    encoding: 'utf8',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    // apt can take minutes on a slow mirror; a hung lock should still end the test run.
    timeout: 600_000,
  });
  const output = `${res.error?.message ?? ''}${res.stdout ?? ''}${res.stderr ?? ''}`;
  return { ok: res.status === 0, output: output.trim().split('\n').slice(-5).join('\n') };
}

/**
 * Returns the Chromium executable's path, installing Debian's package first if it is missing
 * (`apt-get update` only when the first install attempt fails, as the lists may just be stale).
 * @throws Error naming the command to run when Chromium is missing and cannot be installed.
 */
export function ensureChromium(): string {
  if (existsSync(chromiumPath)) return chromiumPath;
  let attempt = aptGet(['install', '-y', '--no-install-recommends', 'chromium']);
  if (!attempt.ok) {
    const update = aptGet(['update']);
    attempt = update.ok ? aptGet(['install', '-y', '--no-install-recommends', 'chromium']) : update;
  }
  if (attempt.ok && existsSync(chromiumPath)) return chromiumPath;
  throw new Error(
    `Chromium is required for the browser tests but ${chromiumPath} is missing and could not be installed.\n` +
      `Install it with: sudo ${installCommand} (after sudo apt-get update if needed).\n` +
      `apt-get said:\n${attempt.output}`,
  );
}
