/**
 * The one way fraudflow makes a Temporal client: the configured server and namespace, and the payload codec every
 * worker uses, so a client can read what the workers wrote. Close it with `client.connection.close()`. `address`
 * overrides the configured server (a test reaching a deployment from outside it).
 */
import { Client, Connection } from '@temporalio/client';
import { dataConverterFor } from '../codec';
import type { Config } from '../config';

export async function connectClient(config: Config, opts: { address?: string } = {}): Promise<Client> {
  const connection = await Connection.connect({ address: opts.address ?? config.temporal.address });
  return new Client({ connection, namespace: config.temporal.namespace, dataConverter: dataConverterFor(config) });
}
