/** aedes-persistence-redis ships no types; aedes takes its persistence as `any`. */
declare module 'aedes-persistence-redis' {
  import type { RedisOptions } from 'ioredis';
  export default function persistenceRedis(options?: RedisOptions & { maxSessionDelivery?: number }): unknown;
}
