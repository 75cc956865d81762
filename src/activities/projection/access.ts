/** A projection target's access block with its secrets read from the worker's environment, when an activity runs. */
import { ApplicationFailure } from '@temporalio/activity';
import { readSecret, type TargetLookup } from '../../config/targets';
import { DEFAULT_PROCESSOR_TEMPLATE } from '../../domain/projection/naming';
import type { ResolvedProjectionAccess } from '.';

export function projectionAccess(targets: TargetLookup, env: NodeJS.ProcessEnv = process.env): (target: string) => ResolvedProjectionAccess {
  return (target) => {
    try {
      const a = targets(target).projection;
      if (!a) throw new Error(`target '${target}' has no projection section (catchUp, databasesUrl, rolePasswordSecret) in the worker's configuration`);
      return {
        catchUp: a.catchUp,
        eventStoreUrl: a.eventStoreUrl && readSecret(a.eventStoreUrl, env),
        databasesUrl: readSecret(a.databasesUrl, env),
        rolePasswordSecret: readSecret(a.rolePasswordSecret, env),
        processorName: a.processorName ?? DEFAULT_PROCESSOR_TEMPLATE,
      };
    } catch (err) {
      throw ApplicationFailure.nonRetryable((err as Error).message, 'Misconfigured');
    }
  };
}
