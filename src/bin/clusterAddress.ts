/** The production entries run against a Temporal cluster only: the embedded dev server is npm start's. */
import type { Config } from '../config/file';

/** TEMPORAL_ADDRESS (or a profile's address), or exit 2 saying to set it. */
export function clusterAddressOrExit(program: string, config: Config): string {
  const { address } = config.env.temporal;
  if (address) return address;
  process.stderr.write(
    `${program}: TEMPORAL_ADDRESS is not set: set it to the Temporal frontend as host:port, e.g. temporal.example:7233 (npm start runs an embedded dev server instead)\n`,
  );
  process.exit(2);
}
