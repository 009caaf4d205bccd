import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metrics } from '../../src/observability/metrics';
import type { HostedTestServer } from '../../src/testing/hosted-provider';
import { startHostedTestServer } from '../../src/testing/hosted-provider';
import type { TestPipeline } from '../support/pipeline';
import { sampleTransaction, startTestPipeline } from '../support/pipeline';

/**
 * Personal data typed into free text (a merchant name, a city, an attribute) never reaches a hosted provider:
 * events go through Kafka, the real ingest, Temporal and the workers, escalate by rule (MCC 4829, money transfer)
 * to a capturing hosted stand-in, and every request body it received is searched for the values.
 */
describe('personal data in free text', () => {
  let local: HostedTestServer;
  let hosted: HostedTestServer;
  let pipeline: TestPipeline;

  beforeAll(async () => {
    local = await startHostedTestServer();
    hosted = await startHostedTestServer({ apiKey: 'key-pii' });
    local.setBehaviour(() => ({ kind: 'answer', riskScore: 0.1, confidence: 0.9 }));
    hosted.setBehaviour(() => ({ kind: 'answer', riskScore: 0.2, confidence: 0.9 }));
    pipeline = await startTestPipeline({
      name: 'pii',
      ingest: true,
      env: {
        LOCAL_MODEL_BASE_URL: local.baseURL,
        PII_HOSTED_KEY: 'key-pii',
        RULE_ESCALATE_MCCS: '4829',
        // Attributes and the city survive field redaction here, so only free-text masking stands between them and
        // the provider.
        HOSTED_REDACTED_FIELDS:
          'customer,cardToken,customerId,accountId,ipAddress,device.id,device.userAgent,geo.lat,geo.lon',
      },
      hostedProviders: [
        { name: 'pii-hosted', baseURL: hosted.baseURL, apiKeyEnv: 'PII_HOSTED_KEY', model: 'frontier' },
      ],
    });
  });
  afterAll(async () => {
    await pipeline?.close();
    await Promise.all([local, hosted].map((s) => s?.close()));
  });

  it('masks card numbers, e-mail, phones, IBANs and national ids before the hosted call', async () => {
    const secrets = {
      card: '4111 1111 1111 1111',
      cardCompact: '5500000000000004',
      email: 'jane.doe@example.com',
      phone: '+44 20 7946 0958',
      nationalPhone: '(415) 555-2671',
      iban: 'GB82 WEST 1234 5698 7654 32',
      ibanCompact: 'DE89370400440532013000',
      ssn: '123-45-6789',
    };
    const events = [
      sampleTransaction({
        merchant: {
          id: 'm-pii-1',
          name: `Quick Transfer ${secrets.card} ${secrets.email} ${secrets.phone}`,
          mcc: '4829',
          category: `transfer ${secrets.nationalPhone}`,
          country: 'US',
        },
        geo: { lat: 51.5, lon: -0.12, city: `London ${secrets.iban}`, country: 'GB' },
        attributes: { memo: `refund to ${secrets.ibanCompact}`, payer: `ssn ${secrets.ssn}`, tries: 2 },
      }),
      sampleTransaction({
        merchant: { id: 'm-pii-2', name: `WIRE ${secrets.cardCompact}`, mcc: '4829', country: 'US' },
        device: { type: `kiosk ${secrets.email}` },
      }),
    ];
    const maskedBefore = await maskedByKind();

    await pipeline.send(events.map((e) => ({ key: e.transactionId, value: e })));
    const decisions = await pipeline.waitForDecisions(events.length);

    // Both escalated by the rule and answered by the hosted stand-in: the prompts did reach it.
    for (const d of decisions) {
      expect(d.path).toBe('escalated');
      expect(d.modelCalls.map((c) => [c.provider, c.outcome])).toContainEqual(['pii-hosted', 'ok']);
    }
    const chat = hosted.requests.filter((r) => r.path === '/v1/chat/completions');
    expect(chat).toHaveLength(events.length);
    const sent = JSON.stringify(hosted.requests.map((r) => r.body));
    for (const [what, value] of Object.entries(secrets)) expect(sent, what).not.toContain(value);
    expect(sent).toContain('Quick Transfer [card] [email] [phone]');
    expect(sent).toContain('transfer [phone]');
    expect(sent).toContain('London [iban]');
    expect(sent).toContain('refund to [iban]');
    expect(sent).toContain('ssn [national-id]');
    expect(sent).toContain('WIRE [card]');
    expect(sent).toContain('kiosk [email]');
    // The card-history feature line (aggregates) still goes.
    expect(sent).toContain('Card history: card history:');

    // The local model is inside the network and keeps the full view.
    const localSent = JSON.stringify(local.requests.map((r) => r.body));
    expect(localSent).toContain(secrets.card);

    const delta = diff(maskedBefore, await maskedByKind());
    expect(delta).toMatchObject({ card: 2, email: 2, phone: 2, iban: 2, 'national-id': 1 });
  });
});

async function maskedByKind(): Promise<Record<string, number>> {
  const { values } = await metrics.personalDataMasked.get();
  return Object.fromEntries(values.map((v) => [String(v.labels.kind), v.value]));
}

function diff(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]));
}
