/** fraudflow's codec server, so the Temporal UI can show decrypted payloads to whoever can reach it. */
import path from 'node:path';
import type { Config } from '../../config';
import type { StackLayout } from '../layout';
import { spawnDetached } from '../processes';
import type { StackService } from './shared';
import { processFiles, waitForProcess } from './shared';

/** The folder that holds `src/`: the checkout when run from source, `dist/` when compiled. */
const root = path.join(__dirname, '..', '..', '..');

export function codecService(config: Config, layout: StackLayout): StackService {
  const host = new URL(config.codec.serverUrl).hostname;
  const port = config.codec.serverPort;
  const files = processFiles(layout, 'codec');
  const fromSource = __filename.endsWith('.ts');
  const cli = path.join(root, 'src', 'cli', fromSource ? 'main.ts' : 'main.js');

  async function decodes(): Promise<boolean> {
    try {
      const res = await fetch(`${config.codec.serverUrl}/decode`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(config.codec.serverToken ? { authorization: `Bearer ${config.codec.serverToken}` } : {}),
        },
        body: JSON.stringify({ payloads: [] }),
        signal: AbortSignal.timeout(2000),
      });
      return res.ok;
    } catch {
      return false;
    }
  }

  return {
    name: 'codec',
    managed: true,
    ports: [{ host, port, env: 'CODEC_SERVER_PORT' }],
    ...files,
    provision: () => Promise.resolve(),
    start() {
      spawnDetached({
        command: process.execPath,
        args: [...(fromSource ? ['--import', 'tsx'] : []), cli, 'codec-server'],
        cwd: root,
        ...files,
      });
    },
    async ready(timeoutMs) {
      await waitForProcess('codec server', decodes, files, timeoutMs);
    },
    healthy: decodes,
    endpoints() {
      return [{ name: 'Codec server (UI decryption)', value: config.codec.serverUrl }];
    },
  };
}
