export default async function globalTeardown(): Promise<void> {
  await Promise.all([globalThis.__CUTOVER_DEV_SERVER__?.stop(), globalThis.__CUTOVER_CONTROL_PLANE__?.stop()]);
}
