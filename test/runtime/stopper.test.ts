/**
 * How npm start stops (src/runtime/stopper.ts): the first Ctrl-C stops the
 * parts last started first and exits 0; the copies of the same Ctrl-C that
 * arrive within a second change nothing; a later one forces (exit 130); a
 * Ctrl-C during the start stops a part registered after it at once, and the
 * start ends there.
 */
import pino from 'pino';
import { Stopper, Stopping } from '../../src/runtime/stopper';

let now = 1_000_000;
let exit: jest.SpyInstance;
beforeEach(() => {
  jest.spyOn(Date, 'now').mockImplementation(() => now);
  exit = jest.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
});
afterEach(() => jest.restoreAllMocks());

const log = pino({ level: 'silent' });
const flush = () => new Promise((r) => setImmediate(r));

/** A part whose stop is recorded, and hangs until released. */
function part(stopped: string[], name: string) {
  let release!: () => void;
  const done = new Promise<void>((r) => (release = r));
  return {
    stop: async () => {
      stopped.push(name);
      await done;
    },
    release: () => release(),
  };
}

test('the first Ctrl-C stops every part, last started first, then exits 0', async () => {
  const stopped: string[] = [];
  const force = jest.fn();
  const stopper = new Stopper(log, force);
  const dev = part(stopped, 'dev server');
  const api = part(stopped, 'API');
  stopper.add('dev server', dev.stop);
  stopper.add('API', api.stop);
  stopper.up();

  stopper.signal('SIGINT');
  await flush();
  expect(stopped).toEqual(['API']);
  api.release();
  await flush();
  expect(stopped).toEqual(['API', 'dev server']);
  expect(exit).not.toHaveBeenCalled();
  dev.release();
  await flush();
  expect(exit).toHaveBeenCalledWith(0);
  expect(force).not.toHaveBeenCalled();
});

test('a second signal within a second is the same Ctrl-C; one a second or more later forces: force() runs, exit 130', async () => {
  const stopped: string[] = [];
  const force = jest.fn();
  const stopper = new Stopper(log, force);
  const hanging = part(stopped, 'sandbox');
  stopper.add('sandbox', hanging.stop);
  stopper.up();

  stopper.signal('SIGINT');
  now += 999;
  stopper.signal('SIGINT');
  await flush();
  expect(stopped).toEqual(['sandbox']);
  expect(force).not.toHaveBeenCalled();
  expect(exit).not.toHaveBeenCalled();

  now += 1;
  stopper.signal('SIGINT');
  expect(force).toHaveBeenCalledTimes(1);
  expect(exit).toHaveBeenCalledWith(130);
});

test('a Ctrl-C during the start stops what started so far; a part registered later is stopped at once and the start ends (Stopping), exit left to it', async () => {
  const stopped: string[] = [];
  const stopper = new Stopper(log, jest.fn());
  stopper.add('dev server', async () => void stopped.push('dev server'));

  stopper.signal('SIGINT');
  const stopping = stopper.stopAll();
  expect(() => stopper.add('sandbox', async () => void stopped.push('sandbox'))).toThrow(Stopping);
  await stopping;
  expect(stopped).toEqual(['dev server', 'sandbox']);
  expect(() => stopper.up()).toThrow(Stopping);
  expect(stopper.signalled).toBe(true);
  // The start exits once it has ended, not the signal: what it was starting would outlive an exit now.
  expect(exit).not.toHaveBeenCalled();
});

test('stopAll waits for a late part whose stop is slow', async () => {
  const stopped: string[] = [];
  const stopper = new Stopper(log, jest.fn());
  void stopper.stopAll();
  const late = part(stopped, 'worker');
  expect(() => stopper.add('worker', late.stop)).toThrow(Stopping);
  let done = false;
  void stopper.stopAll().then(() => (done = true));
  await flush();
  expect(stopped).toEqual(['worker']);
  expect(done).toBe(false);
  late.release();
  await flush();
  expect(done).toBe(true);
  expect(stopper.signalled).toBe(false);
});
