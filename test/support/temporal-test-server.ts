/**
 * Temporal's time-skipping test server for `TestWorkflowEnvironment.createTimeSkipping`. The SDK would download a
 * native build from GitHub, which this network cannot reach; the same server ships on Maven Central as
 * `io.temporal:temporal-test-server` (Java). It is fetched once with Maven into the cache, keyed by version, and run
 * through a small wrapper that takes the port as its first argument, as the SDK passes it.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../../src/config';

/** The Java SDK release whose test server is used. */
export const testServerVersion = '1.31.0';

/** Path of an executable that starts the test server: `<path> <port>`. Fetches the jars on first use. */
export function temporalTestServerExecutable(config: Config): string {
  const home = path.join(config.cacheDir, 'temporal-test-server', testServerVersion);
  const libs = path.join(home, 'libs');
  const wrapper = path.join(home, 'temporal-test-server');
  if (fs.existsSync(wrapper)) return wrapper;

  fs.mkdirSync(home, { recursive: true });
  const pom = path.join(home, 'pom.xml');
  fs.writeFileSync(
    pom,
    `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>fraudflow.local</groupId><artifactId>temporal-test-server</artifactId><version>1</version>
  <dependencies>
    <dependency>
      <groupId>io.temporal</groupId><artifactId>temporal-test-server</artifactId><version>${testServerVersion}</version>
    </dependency>
  </dependencies>
</project>
`,
  );
  execFileSync(
    'mvn',
    ['-q', '-f', pom, 'dependency:copy-dependencies', `-DoutputDirectory=${libs}`, '-DincludeScope=runtime'],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  // Written last, so an interrupted fetch is retried on the next run.
  fs.writeFileSync(
    `${wrapper}.part`,
    `#!/bin/sh\nexec java -Xmx256m -cp '${libs}/*' io.temporal.testserver.TestServer "$@"\n`,
    { mode: 0o755 },
  );
  fs.renameSync(`${wrapper}.part`, wrapper);
  return wrapper;
}
