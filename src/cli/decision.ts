/** `fraudflow decision <transactionId>`: the decision on one transaction, as published, read from its workflow. */
import { isGrpcServiceError, WorkflowNotFoundError } from '@temporalio/client';
import type { Config } from '../config';
import { connectClient } from '../temporal/client';
import { DecisionNotFound, decisionOfTransaction } from '../temporal/published-decision';

/** gRPC's NOT_FOUND status: the server has no such workflow (fetching a history does not map it for us). */
const grpcNotFound = 5;

export async function printDecision(config: Config, transactionId: string): Promise<void> {
  const client = await connectClient(config);
  try {
    console.log(JSON.stringify(await decisionOfTransaction(client, transactionId), null, 2));
  } catch (err) {
    if (err instanceof WorkflowNotFoundError || (isGrpcServiceError(err) && Number(err.code) === grpcNotFound))
      throw new DecisionNotFound(`no scoring workflow for transaction ${transactionId} (or its history has expired)`);
    throw err;
  } finally {
    await client.connection.close();
  }
}
