/** Steering as the API does it, for tests that talk to the workflow directly: updates signed with the test key, which the test workers hold. */
import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import { SteeringKeys } from '../../src/config/steeringKeys';
import type { SteeringMessage } from '../../src/domain/steering';

export const TEST_STEERING_KEYS = new SteeringKeys([{ id: 'test', secret: Buffer.from('a steering key for the tests, 32 bytes or more') }]);

/** executeUpdate of approve, rollback, abort or reportReady with the API's signature (keys: who signs; default the test key). */
export async function signedUpdate<Ret, Req extends object>(
  handle: WorkflowHandle,
  update: UpdateDefinition<Ret, [Req]>,
  request: Req,
  keys: SteeringKeys = TEST_STEERING_KEYS,
): Promise<Ret> {
  const runId = (await handle.describe()).runId;
  const updateId = randomUUID();
  const signed = keys.signed({ message: update.name as SteeringMessage, workflowId: handle.workflowId, runId, updateId, request });
  return handle.executeUpdate(update, { args: [signed], updateId });
}
