/** One release of the sandbox projection service as a process; its settings come from the environment (secrets included). */
import type { Phase } from '../../domain/phases';
import { ProjectionService } from './service';

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`sandbox projection service: ${name} is not set`);
  return v;
};

async function main(): Promise<void> {
  const service = new ProjectionService({
    target: env('PROJECTION_TARGET'),
    release: env('PROJECTION_RELEASE'),
    version: env('PROJECTION_VERSION'),
    host: process.env.PROJECTION_HOST,
    port: Number(env('PROJECTION_PORT')),
    eventStoreUrl: env('PROJECTION_EVENT_STORE_URL'),
    naming: 'jdbc',
    processor: env('PROJECTION_PROCESSOR'),
    readDbUrl: env('PROJECTION_READ_DB_URL'),
    api: { url: env('CUTOVER_API_URL'), token: env('CUTOVER_SERVICE_TOKEN') },
    initialPhase: (process.env.PROJECTION_INITIAL_PHASE as Phase | undefined) ?? 'SERVING',
    stallAt: process.env.PROJECTION_STALL_AT ? Number(process.env.PROJECTION_STALL_AT) : undefined,
    handlerCostUs: Number(process.env.PROJECTION_HANDLER_COST_US ?? 0),
  });
  await service.start();
  process.stdout.write(JSON.stringify({ ready: true, phase: service.phase, port: Number(env('PROJECTION_PORT')) }) + '\n');
  const stop = () => void service.stop().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: Error) => {
  process.stderr.write(`sandbox projection service failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
