/**
 * Ports handed out lie below the kernel's ephemeral range (where no outgoing
 * connection can take one before its owner listens) and are not handed out
 * again to another cutover process while their owner may still be starting.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../src/runtime/freePort';

const ephemeralStart = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);

test('ports below the ephemeral range, none handed out twice, not even to another process', async () => {
  const mine: number[] = [];
  for (let i = 0; i < 100; i++) mine.push(await freePort());
  expect(new Set(mine).size).toBe(100);
  for (const port of mine) {
    expect(port).toBeGreaterThanOrEqual(29_000);
    expect(port).toBeLessThan(ephemeralStart);
  }

  const script = `const { freePort } = require(${JSON.stringify(join(__dirname, '../../src/runtime/freePort.ts'))});
    (async () => { const ports = []; for (let i = 0; i < 100; i++) ports.push(await freePort()); console.log(JSON.stringify(ports)); })();`;
  const theirs = JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8' })) as number[];
  expect(theirs).toHaveLength(100);
  expect(theirs.filter((port) => mine.includes(port))).toEqual([]);
});
