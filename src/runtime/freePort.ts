import { closeSync, mkdirSync, openSync, readFileSync, statSync, utimesSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Ports are handed out below the kernel's ephemeral range and above the
 * sandboxes' fixed defaults (2xxxx). A port the kernel picks (listen on 0) lies
 * in the ephemeral range, where any outgoing connection may take it as its
 * local end between our check and the listen that follows, seconds later for a
 * process that starts slowly (EADDRINUSE of an nginx or a node under load).
 * Below that range only a listener can take a port, and the listeners that
 * matter are other cutover processes (a test and the npm start it runs, the
 * parallel test files): a port handed out is reserved for all of them by a file
 * in the temporary directory for a while, so none hands it out again before its
 * owner listens. Picks are random, so processes seldom even try the same port.
 */
const FIRST = 29_000;
const RESERVED_MS = 120_000;
const RESERVATIONS = join(tmpdir(), 'cutover-ports');

function ephemeralStart(): number {
  try {
    const start = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return start > 0 ? start : 32_768;
  } catch {
    return 32_768; // no /proc: Linux's default; macOS's range starts at 49152
  }
}

const LAST = ephemeralStart() - 1;
const SPAN = LAST - FIRST + 1;

/** A TCP port on loopback that nothing listens on now and no other cutover process was handed lately. */
export async function freePort(): Promise<number> {
  if (SPAN > 0) {
    mkdirSync(RESERVATIONS, { recursive: true });
    for (let tried = 0; tried < SPAN; tried++) {
      const port = FIRST + Math.floor(Math.random() * SPAN);
      if (reserve(port) && (await portIsFree(port))) return port;
    }
  }
  // a kernel whose ephemeral range starts below ours, or every port reserved: let it choose
  return kernelPort();
}

/** Claims the port's reservation: a new file, or one older than the reservation time. */
function reserve(port: number): boolean {
  const file = join(RESERVATIONS, String(port));
  try {
    closeSync(openSync(file, 'wx'));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return false;
  }
  try {
    if (Date.now() - statSync(file).mtimeMs < RESERVED_MS) return false;
    const now = new Date();
    utimesSync(file, now, now);
    return true;
  } catch {
    return false;
  }
}

function kernelPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Whether nothing listens on this loopback port now. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}
