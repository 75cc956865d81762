/** Given values over defaults, where an absent (undefined) value takes the default instead of hiding it. */
export function withDefaults<T extends object>(defaults: T, given: { [K in keyof T]?: T[K] | undefined }): T {
  const out = { ...defaults };
  for (const key of Object.keys(given) as (keyof T)[]) {
    const value = given[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}
