/**
 * The Temporal side of a target's releases: what exists of them (listed by the
 * worker, which reaches the platform, through the targetReleases workflow),
 * which upgrade owns each, which are orphans; and the clean-up that removes
 * those, a workflow under the target's upgrade workflow id so that it and an
 * upgrade lock each other out. Speaks ApiError, not HTTP.
 */
import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError, WorkflowNotFoundError, type Client, type WorkflowExecutionDescription } from '@temporalio/client';
import type { Config } from '../config/file';
import type { TargetConfig } from '../config/targets';
import { orphans, type ReleaseObjects } from '../domain/ownership';
import { parseUpgradeId, upgradeIdOf, upgradeWorkflowId } from '../domain/upgrade';
import { stateQuery } from '../workflows/messages';
import { KIND, TARGET } from '../workflows/searchAttributes';
import { CLEANUP_WORKFLOW, RELEASES_WORKFLOW, cleanupStateQuery, releasesWorkflowId, type CleanupInput } from '../workflows/targetMessages';
import { rootCause } from '../workflows/failures';
import { ApiError, conflict, notFound } from './errors';
import type { Links, TargetView } from './schemas';

/** The memo of a clean-up: the run of the upgrade before it, which readers of the target's upgrade state go on reading. */
export interface CleanupMemo {
  upgradeRunId?: string;
}

export class TargetWorkflows {
  private readonly targets: Map<string, TargetConfig>;

  constructor(
    private readonly client: Client,
    private readonly config: Config,
    private readonly links: (target: string, runId: string) => Links,
  ) {
    this.targets = new Map(config.targets.map((t) => [t.name, t]));
  }

  private target(name: string): TargetConfig {
    const t = this.targets.get(name);
    if (!t) throw notFound(`unknown target ${name}`);
    return t;
  }

  /** The target's releases on its platform, each with owner, traffic and whether it is an orphan; the upgrade or clean-up of the target, if one runs or ran last. */
  async view(name: string): Promise<TargetView> {
    const { kind, description } = this.target(name);
    const latest = await this.latest(name);
    const handle = latest && this.client.workflow.getHandle(upgradeWorkflowId(name), latest.runId);
    const running = latest?.status.name === 'RUNNING' && latest.type !== CLEANUP_WORKFLOW ? await handle!.query(stateQuery) : undefined;
    const active = running ? [running.releases.blue?.name, running.releases.green?.name].filter((r): r is string => !!r) : [];
    const releases = await this.list(name);
    const orphaned = new Set(orphans(releases, active, name).map((r) => r.name));
    return {
      name,
      kind,
      ...(description ? { description } : {}),
      releases: await Promise.all(
        releases.map(async (r) => ({
          ...r,
          ...(r.owner && orphaned.has(r.name) ? { owner: { ...r.owner, ...(await this.execution(r.owner.upgrade)) } } : {}),
          serving: r.weight > 0,
          orphan: orphaned.has(r.name),
        })),
      ),
      ...(running ? { upgrade: { id: running.upgradeId, status: running.status, releases: active } } : {}),
      ...(latest?.type === CLEANUP_WORKFLOW ? { cleanup: await handle!.query(cleanupStateQuery) } : {}),
    };
  }

  /** Starts the clean-up of the target's orphans; 409 while an upgrade (or a clean-up) of it runs. */
  async cleanUp(name: string, requestedBy: string, reason: string) {
    const target = this.target(name);
    const workflowId = upgradeWorkflowId(name);
    const previous = await this.latest(name);
    const memo: CleanupMemo = { upgradeRunId: previous?.type === CLEANUP_WORKFLOW ? (previous.memo as CleanupMemo | undefined)?.upgradeRunId : previous?.runId };
    const input: CleanupInput = { target: name, requestedBy, reason };
    try {
      const handle = await this.client.workflow.start(CLEANUP_WORKFLOW, {
        taskQueue: this.config.env.temporal.taskQueue,
        workflowId,
        args: [input],
        memo: { ...memo },
        typedSearchAttributes: [
          { key: TARGET, value: name },
          { key: KIND, value: target.kind },
        ],
        staticSummary: `clean up ${name}: remove the releases nothing uses`,
        staticDetails: `requested by ${requestedBy}: ${reason}`,
      });
      const runId = handle.firstExecutionRunId;
      return { id: upgradeIdOf(name, runId), target: name, workflowId, runId, requestedBy, links: { ...this.links(name, runId), self: `/v1/targets/${name}` } };
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      const running = await this.client.workflow.getHandle(workflowId).describe();
      const id = upgradeIdOf(name, running.runId);
      throw conflict(
        running.type === CLEANUP_WORKFLOW
          ? `a clean-up of ${name} is running already: ${id}`
          : `target ${name} has an upgrade running: ${id}; a clean-up waits until it ends (or roll it back, or abort it)`,
      );
    }
  }

  /** The latest run under the target's upgrade workflow id (an upgrade or a clean-up), if any ran. */
  private async latest(name: string): Promise<WorkflowExecutionDescription | undefined> {
    try {
      return await this.client.workflow.getHandle(upgradeWorkflowId(name)).describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
  }

  /** The releases as the worker finds them; readers that come while a listing runs share it. */
  private async list(name: string): Promise<ReleaseObjects[]> {
    try {
      return await this.client.workflow.execute(RELEASES_WORKFLOW, {
        taskQueue: this.config.env.temporal.taskQueue,
        workflowId: releasesWorkflowId(name),
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowExecutionTimeout: '1 minute',
        args: [{ target: name }],
      });
    } catch (err) {
      if (err instanceof WorkflowFailedError) throw new ApiError(503, `the worker could not list the releases of ${name}: ${rootCause(err).message}`);
      throw err;
    }
  }

  /** The Temporal execution status of the run an upgrade id names (TERMINATED for one whose rollback a terminate skipped). */
  private async execution(upgradeId: string | undefined): Promise<{ execution?: string }> {
    const parsed = upgradeId ? parseUpgradeId(upgradeId) : undefined;
    if (!parsed) return {};
    try {
      return { execution: (await this.client.workflow.getHandle(upgradeWorkflowId(parsed.target), parsed.runId).describe()).status.name };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return {};
      throw err;
    }
  }
}

/** The memo of the target's latest run if that is a clean-up (which answers no upgrade state; the run its memo names does), else undefined. */
export async function latestCleanup(client: Client, target: string): Promise<CleanupMemo | undefined> {
  const latest = await client.workflow.getHandle(upgradeWorkflowId(target)).describe();
  return latest.type === CLEANUP_WORKFLOW ? ((latest.memo ?? {}) as CleanupMemo) : undefined;
}
