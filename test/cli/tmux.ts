/** A pseudo-terminal for a test: a tmux server of its own (Debian's tmux), its screen and scrollback as a person would see them. */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * tmux keeps a cleared screen in its scrollback when the clear starts at the
 * top left (scroll-on-clear, on by default); most terminals do not. Off, the
 * scrollback holds what scrolled off, so a redraw in place leaves nothing there.
 */
const CONF = join(tmpdir(), 'cutover-test-tmux.conf');
writeFileSync(CONF, 'set -g scroll-on-clear off\n');

export class Terminal {
  private constructor(
    private readonly socket: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /** Runs `command` (argv) in a terminal of this size; the pane stays after it ends, with "[exit N]" last. */
  static async open(command: string[], env: NodeJS.ProcessEnv, size = { columns: 140, rows: 60 }): Promise<Terminal> {
    const t = new Terminal(`cutover-test-${randomUUID().slice(0, 8)}`, env);
    const quoted = command.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    await t.tmux('new-session', '-d', '-s', 'main', '-x', String(size.columns), '-y', String(size.rows), `${quoted}; echo "[exit $?]"; sleep 600`);
    return t;
  }

  private tmux(...args: string[]) {
    return run('tmux', ['-L', this.socket, '-f', CONF, ...args], { env: this.env });
  }

  /** What the screen shows now. */
  async screen(): Promise<string> {
    return (await this.tmux('capture-pane', '-p', '-t', 'main')).stdout;
  }

  /** Everything that was written, scrolled off the screen or not. */
  async scrollback(): Promise<string> {
    return (await this.tmux('capture-pane', '-p', '-S', '-', '-E', '-', '-t', 'main')).stdout;
  }

  async close(): Promise<void> {
    await this.tmux('kill-server').catch(() => undefined);
  }
}
