/**
 * TypeBox pieces that several schemas share (the config file, the API, the
 * kinds' settings). A pattern-checked string carries its description as the
 * noun a 400 uses: "must be a duration such as ...".
 */
import { Type, type Static } from '@sinclair/typebox';
import { DURATION_MAX_LENGTH, DURATION_PATTERN } from './duration';

export const Duration = Type.String({
  pattern: DURATION_PATTERN,
  maxLength: DURATION_MAX_LENGTH,
  description: 'a duration such as 90s, 10m or 1h30m',
  examples: ['10m'],
});

/** A secret is never written in the config file: it names an environment variable of the worker. */
export const SecretRef = Type.Object(
  { env: Type.String({ minLength: 1, description: 'environment variable that holds the secret' }) },
  { additionalProperties: false },
);
export type SecretRef = Static<typeof SecretRef>;
