import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * Ports are handed out below the kernel's ephemeral range and above the
 * sandboxes' fixed defaults (2xxxx): a port the kernel picked for us (listen
 * on 0) lies in the ephemeral range, where any outgoing connection may take it
 * as its local end between our check and the listen that follows, seconds
 * later for a node that starts slowly (an EADDRINUSE now and then). Each
 * process walks the range from a random start, so two processes seldom try
 * the same port at once.
 */
const FIRST = 29_000;

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
let next = FIRST + Math.floor(Math.random() * Math.max(SPAN, 1));

/** A TCP port on loopback that nothing listens on right now (and that this process has not handed out lately). */
export async function freePort(): Promise<number> {
  for (let tried = 0; tried < SPAN; tried++) {
    const port = next;
    next = next >= LAST ? FIRST : next + 1;
    if (await portIsFree(port)) return port;
  }
  // a kernel whose ephemeral range starts below ours: let it choose
  return kernelPort();
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
