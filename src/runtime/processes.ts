/**
 * What runs on this machine, read from Linux's /proc: which process listens on
 * a loopback port, which processes are in a process group, and stopping a set
 * of them (SIGTERM, then SIGKILL). npm start uses these to name the process
 * that holds a port it needs, and to find what a killed run left behind (its
 * process group, nginx workers by the log file they hold).
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface ProcessInfo {
  pid: number;
  /** Its command line, as ps shows it. */
  command: string;
}

const pids = (): number[] =>
  readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);

export function commandOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return undefined;
  }
}

/** Fields of /proc/<pid>/stat after the command (which may hold spaces and parentheses). */
function stat(pid: number): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** The process group of a process (this one's by default). */
export function processGroupOf(pid = process.pid): number | undefined {
  const s = stat(pid);
  return s ? Number(s[2]) : undefined;
}

export function isAlive(pid: number): boolean {
  const s = stat(pid);
  return !!s && s[0] !== 'Z';
}

/** The live processes of a process group. */
export function groupMembers(pgid: number): number[] {
  return pids().filter((pid) => processGroupOf(pid) === pgid && isAlive(pid));
}

/** The socket inodes listening on a TCP port (IPv4 or IPv6). */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is HEX_IP:HEX_PORT; state 0A is LISTEN.
      if (f.length > 9 && f[3] === '0A' && parseInt(f[1]!.split(':')[1]!, 16) === port) inodes.add(f[9]!);
    }
  }
  return inodes;
}

/** The processes with an open file descriptor whose target (as /proc/<pid>/fd/* links it) matches: a file's path, "socket:[inode]". */
export function fdHolders(match: (target: string) => boolean): ProcessInfo[] {
  const holders: ProcessInfo[] = [];
  for (const pid of pids()) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    const holds = fds.some((fd) => {
      try {
        return match(readlinkSync(`/proc/${pid}/fd/${fd}`));
      } catch {
        return false;
      }
    });
    if (holds) holders.push({ pid, command: commandOf(pid) ?? '?' });
  }
  return holders;
}

/** The processes listening on a TCP port (as far as this user may see: all of them as root, one's own otherwise). */
export function portHolders(port: number): ProcessInfo[] {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return [];
  return fdHolders((target) => inodes.has(/^socket:\[(\d+)\]$/.exec(target)?.[1] ?? ''));
}

/** "port 7233 is taken by pid 123 (temporal server start-dev ...)", or by a process this user cannot see. */
export function describePortTaken(port: number, what: string): string {
  const holders = portHolders(port);
  const by = holders.length
    ? holders.map((h) => `pid ${h.pid} (${h.command.length > 120 ? `${h.command.slice(0, 117)}...` : h.command})`).join(', ')
    : 'a process of another user';
  return `port ${port} (${what}) is taken by ${by}`;
}

/** SIGTERM to each, SIGKILL to those still alive after graceMs; resolves once all are gone. */
export async function terminate(list: number[], graceMs = 5000): Promise<void> {
  const signal = (pid: number, s: NodeJS.Signals) => {
    try {
      process.kill(pid, s);
    } catch {
      // gone already
    }
  };
  for (const pid of list) signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (list.some(isAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const pid of list.filter(isAlive)) signal(pid, 'SIGKILL');
  while (list.some(isAlive)) await new Promise((r) => setTimeout(r, 20));
}
