/**
 * The local sandboxes `npm start` runs: one per target placed `local`, each
 * the generic LocalSandbox with its kind's stand-in. The runtime hands them
 * to the worker's local platform.
 */
import type { TargetConfig } from '../config/targets';
import type { Kind } from '../domain/kindRegistry';
import { emqxSandbox } from './emqx/sandbox';
import { projectionSandbox } from './projection/sandbox';
import { kongSandbox, parseFailRates } from './kong/sandbox';
import { LocalSandbox, type SandboxKind } from './localSandbox';

/** The dev default of the sandbox projection's service token (cutover.config.yaml's sandbox-projection-service). */
export const SANDBOX_PROJECTION_SERVICE_TOKEN = 'dev-sandbox-projection-service-token-change-me';

interface SandboxContext {
  dataDir: string;
  env: NodeJS.ProcessEnv;
}

/** A kind's stand-in for a target; a kind without one cannot be placed `local`. */
const SANDBOX_KINDS: Partial<Record<Kind, (t: TargetConfig, ctx: SandboxContext) => SandboxKind>> = {
  emqx: (t, ctx) => emqxSandbox({ placement: t.local!, access: t.emqx!, env: ctx.env }),
  projection: (t, ctx) =>
    projectionSandbox({
      target: t.name,
      placement: t.local!,
      access: t.projection!,
      env: ctx.env,
      api: { url: `http://${ctx.env.CUTOVER_API_HOST ?? '127.0.0.1'}:${ctx.env.CUTOVER_API_PORT ?? '8080'}`, token: ctx.env.SANDBOX_PROJECTION_SERVICE_TOKEN ?? SANDBOX_PROJECTION_SERVICE_TOKEN },
      seed: Number(ctx.env.SANDBOX_PROJECTION_SEED ?? 1_000_000),
      appendRate: Number(ctx.env.SANDBOX_PROJECTION_APPEND_RATE ?? 200),
      // a replay bounded by its handlers, as a real one is: 1,000,000 events in about two minutes
      handlerCostUs: Number(ctx.env.SANDBOX_PROJECTION_HANDLER_COST_US ?? 100),
    }),
  kong: (t, ctx) => kongSandbox({ placement: t.local!, access: t.kong!, env: ctx.env, failRates: parseFailRates(ctx.env.SANDBOX_KONG_FAIL_RATES) }),
};

export function createLocalSandboxes(targets: TargetConfig[], dataDir: string, env: NodeJS.ProcessEnv = process.env): Map<string, LocalSandbox> {
  const sandboxes = new Map<string, LocalSandbox>();
  for (const t of targets) {
    if (!t.local) continue;
    const kind = SANDBOX_KINDS[t.kind];
    if (!kind) throw new Error(`target '${t.name}' is placed local, but there is no local sandbox for kind ${t.kind}: place it on kubernetes`);
    sandboxes.set(t.name, new LocalSandbox({ target: t.name, placement: t.local, dataDir, kind: kind(t, { dataDir, env }) }));
  }
  return sandboxes;
}
