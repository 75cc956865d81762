/**
 * Why about one session resume in thirty on another node got no CONNACK:
 * aedes' connect handler restores a persistent session's subscriptions
 * (mqemitter-redis SUBSCRIBE), then stores the will, and only then writes the
 * CONNACK. A message published meanwhile on the restored topic is written to
 * the client first, breaking MQTT-3.2.0-1 (the first packet from the server is
 * the CONNACK). mqtt.js cannot handle that: it holds its incoming packets until
 * the QoS 1 PUBLISH is acknowledged, which waits for the connection, which
 * waits for the CONNACK behind the PUBLISH, until its connect timeout.
 * EMQX answers at once; so does the sandbox node with this: deliveries to a
 * client are held until its CONNACK is written.
 */
import type { Aedes, Client } from 'aedes';

type Deliver = (packet: unknown, cb: () => void) => void;
interface Deliveries {
  deliver0: Deliver;
  deliverQoS: Deliver;
  connackSent?: boolean;
}

/** A preConnect hook for `broker` that holds each client's deliveries until its CONNACK is written. */
export function connackFirst(broker: Aedes): (client: Client) => void {
  const waiting = new Map<Client, () => void>();
  broker.on('connackSent', (_connack, client) => {
    waiting.get(client)?.();
  });
  return (client) => {
    const c = client as unknown as Deliveries;
    const held: { deliver: Deliver; packet: unknown; cb: () => void }[] = [];
    const hold =
      (deliver: Deliver): Deliver =>
      (packet, cb) =>
        c.connackSent ? deliver(packet, cb) : held.push({ deliver, packet, cb });
    c.deliver0 = hold(c.deliver0);
    c.deliverQoS = hold(c.deliverQoS);
    const release = (deliver: boolean): void => {
      waiting.delete(client);
      client.conn.removeListener('close', closed);
      for (const h of held.splice(0)) {
        if (deliver) h.deliver(h.packet, h.cb);
        else h.cb();
      }
    };
    // Closed before its CONNACK: nothing to deliver, but the emitter waits for every callback.
    const closed = (): void => release(false);
    waiting.set(client, () => release(true));
    client.conn.once('close', closed);
  };
}
