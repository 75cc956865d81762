/** What is retried and for how long: HTTP statuses, PostgreSQL's SQLSTATEs, and the attempts a window of backoff holds. */
import { ApplicationFailure } from '@temporalio/common';
import { pgFailure } from '../../src/activities/pg';
import { attemptsWithin, isTransientStatus, RETRY_WINDOW_MS } from '../../src/domain/retry';
import { STEPS } from '../../src/domain/upgrade';

test.each([
  [500, true],
  [502, true],
  [503, true],
  [504, true],
  [408, true],
  [429, true],
  [400, false],
  [401, false],
  [403, false],
  [404, false],
  [405, false],
  [409, false],
  [422, false],
])('HTTP %i is transient: %s', (status, transient) => {
  expect(isTransientStatus(status)).toBe(transient);
});

test('the attempts a window holds: the first, then one after each wait of 1, 2, 4, 8, 16, then 30 s that still fits', () => {
  expect(attemptsWithin(0)).toBe(1);
  expect(attemptsWithin(999)).toBe(1);
  expect(attemptsWithin(1000)).toBe(2);
  expect(attemptsWithin(2999)).toBe(2);
  expect(attemptsWithin(3000)).toBe(3);
  expect(attemptsWithin(31_000)).toBe(6);
  expect(attemptsWithin(61_000)).toBe(7);
  // ten minutes: 31 s of doubling waits, then 18 of 30 s
  expect(attemptsWithin(10 * 60_000)).toBe(24);
});

test('every step has a retry window, longer after the point of no return', () => {
  expect(Object.keys(RETRY_WINDOW_MS).sort()).toEqual([...STEPS].sort());
  expect(RETRY_WINDOW_MS.finalize).toBeGreaterThan(RETRY_WINDOW_MS.verify);
  expect(RETRY_WINDOW_MS.cleanUpBlue).toBeGreaterThan(RETRY_WINDOW_MS.promote);
});

const pgError = (message: string, code?: string) => Object.assign(new Error(message), code ? { code } : {});

test.each([
  ['a connection refused', pgError('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'), false, 'DatabaseUnavailable'],
  ['a connection reset', pgError('read ECONNRESET', 'ECONNRESET'), false, 'DatabaseUnavailable'],
  ['a connection closed by the server', pgError('Connection terminated unexpectedly'), false, 'DatabaseUnavailable'],
  ['too many connections', pgError('sorry, too many clients already', '53300'), false, 'DatabaseUnavailable'],
  ['a server shutting down', pgError('terminating connection due to administrator command', '57P01'), false, 'DatabaseUnavailable'],
  ['a serialization failure', pgError('could not serialize access due to concurrent update', '40001'), false, 'DatabaseUnavailable'],
  ['a deadlock', pgError('deadlock detected', '40P01'), false, 'DatabaseUnavailable'],
  ['a wrong password', pgError('password authentication failed for user "kong"', '28P01'), true, 'Unauthorized'],
  ['no right', pgError('permission denied to create database', '42501'), true, 'Unauthorized'],
  ['a database that is not there', pgError('database "kong" does not exist', '3D000'), true, 'NotFound'],
  ['a bad statement', pgError('syntax error at or near "SELEC"', '42601'), true, 'DatabaseRefused'],
])('PostgreSQL: %s', (_what, err, nonRetryable, type) => {
  const f = pgFailure(err, 'creating the database of orders-2-0-0');
  expect(f).toBeInstanceOf(ApplicationFailure);
  expect(f.nonRetryable).toBe(nonRetryable);
  expect(f.type).toBe(type);
  expect(f.message).toContain('creating the database of orders-2-0-0');
});
