/** `fraudflow decision <transactionId>`: the decision on one transaction, as published, read from its workflow. */
import type { Config } from '../config';
import { connectClient } from '../temporal/client';
import { decisionOfTransaction } from '../temporal/published-decision';

export async function printDecision(config: Config, transactionId: string): Promise<void> {
  const client = await connectClient(config);
  try {
    console.log(JSON.stringify(await decisionOfTransaction(client, transactionId), null, 2));
  } finally {
    await client.connection.close();
  }
}
