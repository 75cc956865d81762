/** Running one activity outside a worker, as the activity tests do. */
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { DefaultLogger } from '@temporalio/worker';

/** Runs an activity in a fresh context (a cancelled context stays cancelled), collecting its heartbeats. */
export function run<A, R>(fn: (a: A) => Promise<R>, input: A): { result: Promise<R>; heartbeats: unknown[]; env: MockActivityEnvironment } {
  // Failures are what many tests expect: keep the worker's warnings about them out of the output.
  const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
  const heartbeats: unknown[] = [];
  env.on('heartbeat', (d: unknown) => heartbeats.push(d));
  return { result: env.run(fn, input), heartbeats, env };
}

export const exec = <A, R>(fn: (a: A) => Promise<R>, input: A): Promise<R> => run(fn, input).result;

/** The ApplicationFailure an activity call ends with. */
export async function failure(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}
