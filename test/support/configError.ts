/** The message of the ConfigError a configuration check throws (failing the test if it throws none, or another error). */
import { ConfigError } from '../../src/config/schemaErrors';

export function configErrorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}
