export default async function globalTeardown(): Promise<void> {
  await globalThis.__CUTOVER_DEV_SERVER__?.stop();
}
