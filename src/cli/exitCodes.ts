/** What `cutover` exits with, so a pipeline can tell an upgrade's outcome from a refused request (README "CLI"). */
export const EXIT = {
  /** Done; with --wait, the upgrade SUCCEEDED. */
  ok: 0,
  /** The API failed (5xx) or something unexpected happened. */
  error: 1,
  /** Unknown command or option, a missing argument, a bad value. */
  usage: 2,
  /** With --wait: the upgrade ended ROLLED_BACK. */
  rolledBack: 3,
  /** With --wait: the upgrade ended FAILED, or Temporal stopped it without its rollback (terminated, timed out). */
  failed: 4,
  /** The API refused the request: invalid (400), unknown (404), conflict (409), too many requests (429). */
  refused: 5,
  /** The token is missing or unknown (401), or lacks the role (403). */
  unauthorized: 6,
  /** The API could not be reached. */
  unreachable: 7,
  /** With --wait --timeout: the upgrade was still running when the time ran out. */
  timedOut: 8,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error the CLI reports in one message saying what to do, and exits with its code. */
export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
    /** The API's error body, for --output json. */
    readonly body?: unknown,
  ) {
    super(message);
  }
}
