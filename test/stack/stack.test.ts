import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { createKafka } from '../../src/kafka/client';
import { fraudSearchAttributes } from '../../src/search-attributes';
import { StackError, stackStatus, stackUp } from '../../src/stack';

const config = loadConfig();

describe('stack', () => {
  it('reports every service running and healthy', async () => {
    const status = await stackStatus(config);
    expect(status.map((s) => s.name)).toEqual(['temporal', 'kafka', 'ollama', 'codec']);
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

  it('has created the transactions, decisions and dead-letter topics with their partitions', async () => {
    const admin = createKafka(config, 'test-stack').admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: Object.values(config.kafka.topics) });
      const partitions = Object.fromEntries(topics.map((t) => [t.name, t.partitions.length]));
      expect(partitions).toEqual({
        [config.kafka.topics.transactions]: config.kafka.partitions,
        [config.kafka.topics.decisions]: config.kafka.partitions,
        [config.kafka.topics.deadLetter]: 1,
      });
    } finally {
      await admin.disconnect();
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
