/**
 * Faults ridden through on the Kubernetes control plane: an EMQX upgrade
 * whose worker reaches the API server through faults (30% of requests
 * answered 503, 5% reset, the rest delayed up to 300 ms; watches included).
 * It ends SUCCEEDED; the API server created green's StatefulSet once, stored
 * one version of the Service selecting green, and scaled blue down one pod
 * at a time, each once; EMQX started each blue node's evacuation once.
 */
import { RELEASE_LABEL } from '../../src/domain/kubernetes';
import { releaseName } from '../../src/domain/upgrade';
import { EmqxOnKube } from '../support/emqxOnKube';
import { uniqueId } from '../support/temporal';
import { envForThisFile, succeedsThroughFaults } from './harness';
import { emqxKubernetes, SEEDS } from './upgrades';

const env = envForThisFile();

test('a 3-node upgrade through a flaky Kubernetes API: SUCCEEDED, green created once, the Service switched once, blue scaled down once per pod', async () => {
  const sys = await EmqxOnKube.start(uniqueId('chaos-mqtt'));
  try {
    const r = await succeedsThroughFaults('chaos emqx kubernetes', SEEDS.emqxKubernetes, (faults) => emqxKubernetes(env(), sys, faults));
    expect(r.seen.greenCreated).toBe(1);
    expect(r.seen.switchedToGreen).toBe(1);
    expect((r.seen.serviceSelectors as Record<string, string>[]).at(-1)).toMatchObject({ [RELEASE_LABEL]: releaseName(sys.target.name, '5.8.0') });
    expect(r.seen.blueScaledTo).toEqual([2, 1, 0]);
    expect(r.seen.evacuationsStarted).toEqual({ 'emqx@emqx-2': 1, 'emqx@emqx-1': 1, 'emqx@emqx-0': 1 });
  } finally {
    await sys.close();
  }
}, 240_000);
