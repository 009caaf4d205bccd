/**
 * TEMPORAL_BACKEND=postgres: the configuration that puts the Temporal server on PostgreSQL beside the dev server,
 * and the server config the stack writes for it. No service is started.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { stackServices } from '../../src/stack';
import { historyShards, serverConfig, serverPorts } from '../../src/stack/services/temporal-server';

const dev = loadConfig({});
const postgres = loadConfig({ TEMPORAL_BACKEND: 'postgres' });

describe('TEMPORAL_BACKEND', () => {
  it('defaults to the dev server on 7233; postgres moves the default address to 7243', () => {
    expect(dev.env.TEMPORAL_BACKEND).toBe('dev');
    expect(dev.temporal.address).toBe('127.0.0.1:7233');
    expect(postgres.temporal.address).toBe('127.0.0.1:7243');
    expect(loadConfig({ TEMPORAL_BACKEND: 'postgres', TEMPORAL_ADDRESS: '127.0.0.1:9733' }).temporal.address).toBe(
      '127.0.0.1:9733',
    );
    expect(() => loadConfig({ TEMPORAL_BACKEND: 'cassandra' })).toThrow(/TEMPORAL_BACKEND/);
  });

  it('replaces the dev server with PostgreSQL and the Temporal server in the stack, the rest unchanged', () => {
    const names = (c: typeof dev) => stackServices(c).map((s) => s.name);
    expect(names(dev)).toContain('temporal');
    expect(names(postgres)).toEqual(['postgres', 'temporal-server', ...names(dev).filter((n) => n !== 'temporal')]);
    // Their own pid files and logs: `status` and `down` never mistake one server for the other.
    const files = (c: typeof dev) => stackServices(c).map((s) => s.pidFile);
    expect(new Set([...files(dev), ...files(postgres)]).size).toBe(new Set([...names(dev), ...names(postgres)]).size);
  });

  it('binds no port of the dev server, its UI or the PostgreSQL', () => {
    const ports =
      stackServices(postgres)
        .find((s) => s.name === 'temporal-server')
        ?.ports.map((p) => p.port) ?? [];
    expect(ports).toEqual(serverPorts(7243));
    expect(new Set(ports).size).toBe(ports.length);
    for (const taken of [7233, dev.env.TEMPORAL_UI_PORT, postgres.env.TEMPORAL_POSTGRES_PORT, dev.codec.serverPort])
      expect(ports).not.toContain(taken);
  });

  it('writes a server config with the frontend on TEMPORAL_ADDRESS and both stores on the stack PostgreSQL', () => {
    const yaml = serverConfig(postgres, '/tmp/dynamicconfig.yaml');
    expect(yaml.services.frontend.rpc).toMatchObject({ grpcPort: 7243, bindOnIP: '127.0.0.1' });
    const rpcPorts = Object.values(yaml.services).flatMap((s) => [s.rpc.grpcPort, s.rpc.membershipPort]);
    expect(rpcPorts.sort()).toEqual(
      serverPorts(7243)
        .filter((p) => p !== 7244)
        .sort(),
    );
    expect(yaml.persistence.numHistoryShards).toBe(historyShards);
    for (const store of Object.values(yaml.persistence.datastores)) {
      expect(store.sql).toMatchObject({ pluginName: 'postgres12', connectAddr: '127.0.0.1:5442', user: 'temporal' });
    }
    expect(Object.values(yaml.persistence.datastores).map((d) => d.sql.databaseName)).toEqual([
      'temporal',
      'temporal_visibility',
    ]);
    expect(yaml.clusterMetadata.clusterInformation.active.rpcAddress).toBe(postgres.temporal.address);
  });
});
