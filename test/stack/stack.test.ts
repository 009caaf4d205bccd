import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { createKafka } from '../../src/kafka/client';
import { fraudSearchAttributes } from '../../src/search-attributes';
import { pingFeatureStore, StackError, stackStatus, stackUp } from '../../src/stack';
import { featureStoreService } from '../../src/stack/services';
import { stackLayout } from '../../src/stack/layout';

const config = loadConfig();

describe('stack', () => {
  it('reports every service running and healthy', async () => {
    const status = await stackStatus(config);
    expect(status.map((s) => s.name)).toEqual(['temporal', 'kafka', 'ollama', 'codec', 'redis']);
    for (const s of status) expect(s, s.name).toMatchObject({ running: true, healthy: true });
  });

  it('has the fraudflow search attributes registered on the Temporal namespace', async () => {
    const connection = await Connection.connect({ address: config.temporal.address });
    try {
      const res = await connection.operatorService.listSearchAttributes({ namespace: config.temporal.namespace });
      for (const key of fraudSearchAttributes) expect(Object.keys(res.customAttributes ?? {})).toContain(key.name);
    } finally {
      await connection.close();
    }
  });

  it('has created the transactions, decisions, labels and dead-letter topics with their partitions', async () => {
    const admin = createKafka(config, 'test-stack').admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: Object.values(config.kafka.topics) });
      const partitions = Object.fromEntries(topics.map((t) => [t.name, t.partitions.length]));
      expect(partitions).toEqual({
        [config.kafka.topics.transactions]: config.kafka.partitions,
        [config.kafka.topics.decisions]: config.kafka.partitions,
        [config.kafka.topics.deadLetter]: 1,
        [config.kafka.topics.labels]: config.kafka.partitions,
        [config.kafka.topics.labelsDeadLetter]: 1,
      });
    } finally {
      await admin.disconnect();
    }
  });

  it('runs the Redis feature store on FEATURE_STORE_URL: PONG, writes readable back, append-only file on', async () => {
    expect(config.featureStore.managed).toBe(true);
    await expect(pingFeatureStore(config.featureStore.url)).resolves.toBeUndefined();
    const redis = new Redis(config.featureStore.url, { maxRetriesPerRequest: 1 });
    const key = `test-stack:${process.pid}:${Date.now()}`;
    try {
      await redis.rpush(key, 'tx-1', 'tx-2');
      expect(await redis.lrange(key, 0, -1)).toEqual(['tx-1', 'tx-2']);
      expect(await redis.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
      expect(await redis.config('GET', 'dir')).toEqual(['dir', stackLayout(config).redisData]);
      expect(await redis.info('server')).toMatch(/^redis_version:7\./m);
    } finally {
      await redis.del(key);
      redis.disconnect();
    }
  });

  it('only health-checks a feature store with FEATURE_STORE_MANAGED=false, naming both variables when it is down', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fraudflow-stack-'));
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const closedPort = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    try {
      const external = (url: string) => {
        const other = loadConfig({
          ...process.env,
          FRAUDFLOW_DATA_DIR: dataDir,
          FEATURE_STORE_URL: url,
          FEATURE_STORE_MANAGED: 'false',
        });
        return featureStoreService(other, stackLayout(other));
      };
      const down = external(`redis://127.0.0.1:${closedPort}/0`);
      expect(down.managed).toBe(false);
      expect(down.ports).toEqual([]);
      await down.provision();
      down.start();
      expect(fs.existsSync(down.pidFile)).toBe(false);
      expect(await down.healthy()).toBe(false);
      const err = await down.ready(1500).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StackError);
      expect((err as Error).message).toContain(`127.0.0.1:${closedPort}`);
      expect((err as Error).message).toContain('FEATURE_STORE_URL');
      expect((err as Error).message).toContain('FEATURE_STORE_MANAGED=false');

      const up = external(config.featureStore.url);
      await expect(up.ready(5000)).resolves.toBeUndefined();
      expect(await up.healthy()).toBe(true);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('serves the Temporal Web UI', async () => {
    const res = await fetch(config.temporal.uiUrl);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<html');
  });

  it('is idempotent: a second up finds everything healthy and starts nothing', async () => {
    const lines: string[] = [];
    await stackUp(config, { log: (l) => lines.push(l) });
    expect(lines.filter((l) => l.startsWith('starting'))).toEqual([]);
    expect(lines.join('\n')).toContain(config.temporal.uiUrl);
    expect(lines.join('\n')).toContain(config.featureStore.url);
  });

  it('names the port and the variable to change when a port is taken by another process', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fraudflow-stack-'));
    const squatter = net.createServer();
    await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', r));
    const port = (squatter.address() as net.AddressInfo).port;
    try {
      const other = loadConfig({ ...process.env, FRAUDFLOW_DATA_DIR: dataDir, TEMPORAL_ADDRESS: `127.0.0.1:${port}` });
      const err = await stackUp(other, { log: () => undefined }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StackError);
      expect((err as Error).message).toContain(`127.0.0.1:${port}`);
      expect((err as Error).message).toContain('TEMPORAL_ADDRESS');
    } finally {
      squatter.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
