/**
 * The sandbox's nginx config during a split: EMQX's MQTT (a stream upstream)
 * is the router's include file, weighted as the releases' shares say, and
 * reads back as those shares; the rest of the config is the sandbox's.
 */
import { nodeWeights, ownedUpstreamText, upstreamServers, weightsOfOwned } from '../../src/activities/routers/nginx/upstream';
import { emqxSandbox } from '../../src/sandbox/emqx/sandbox';
import { nginxConfig } from '../../src/sandbox/nginx';

const ports = { mqtt: 21883, api: 28083, status: 28090 };
const emqx = emqxSandbox({
  placement: { cluster: 'split', version: '5.7.0', replicas: 3, ports },
  access: { apiUrl: `http://127.0.0.1:${ports.api}`, apiKey: { env: 'K' }, apiSecret: { env: 'S' } },
  env: {},
});
const blue = [31001, 31002, 31003].map((p) => `127.0.0.1:${p}`);
const green = ['127.0.0.1:31011'];

test('per-node weights give each release its share whatever its node count', () => {
  expect(nodeWeights([{ weight: 90, nodes: 2 }, { weight: 10, nodes: 3 }])).toEqual([270, 20]);
  expect(nodeWeights([{ weight: 100, nodes: 3 }])).toEqual([100]);
  expect(nodeWeights([{ weight: 50, nodes: 0 }, { weight: 50, nodes: 2 }])).toEqual([0, 50]);
});

test('green at 10% on 1 node, blue at 90% on 3: the owned block carries weight=30 and 3 x weight=90, each line naming its release, and reads back as 90/10', () => {
  const text = ownedUpstreamText('orders', emqx.traffic, upstreamServers(emqx.traffic, { blue: 90, green: 10 }, { blue, green }));
  expect(text.split('\n')).toEqual([
    "# Owned by cutover (target 'orders'): rewritten at every switch; change its weights through cutover.",
    'upstream emqx_mqtt {',
    '  server 127.0.0.1:31001 weight=90; # release blue',
    '  server 127.0.0.1:31002 weight=90; # release blue',
    '  server 127.0.0.1:31003 weight=90; # release blue',
    '  server 127.0.0.1:31011 weight=30; # release green',
    '}',
    '',
  ]);
  expect(weightsOfOwned(text)).toEqual({ blue: 270, green: 30 });
});

test('releases without traffic: left out, or backup servers that read back as no weight; no server at all: one marked down', () => {
  const withBackups = upstreamServers({ name: 'q', others: 'backup', serverOptions: 'max_fails=0' }, { green: 100 }, { blue, green });
  const text = ownedUpstreamText('orders', { name: 'q', serverOptions: 'max_fails=0' }, withBackups);
  expect(text).toContain('  server 127.0.0.1:31011 weight=100 max_fails=0; # release green');
  expect(text).toContain('  server 127.0.0.1:31001 backup max_fails=0; # release blue');
  expect(weightsOfOwned(text)).toEqual({ green: 100 });
  const none = ownedUpstreamText('orders', emqx.traffic, upstreamServers(emqx.traffic, { green: 100 }, {}));
  expect(none).toContain('  server 127.0.0.1:9 down;\n');
  expect(weightsOfOwned(none)).toEqual({});
});

test("the sandbox's config includes the router's file in its stream block; its own REST API upstream stays unweighted", () => {
  const conf = nginxConfig('/tmp/nginx-split', { statusPort: ports.status, ...emqx.routes({ all: [0, 1, 2, 3].map((i) => ({ ports: { mqtt: 31001 + i, api: 32001 + i } })) }) }, 7, {
    streamModule: '/usr/lib/nginx/modules/ngx_stream_module.so',
    root: false,
  });
  const stream = /\nstream \{\n([\s\S]*?)\n\}\n/.exec(conf)?.[1];
  expect(stream).toContain('  include /tmp/nginx-split/routes/emqx_mqtt.conf;');
  expect(stream).toContain(`listen 127.0.0.1:${ports.mqtt};`);
  expect(stream).toContain('proxy_pass emqx_mqtt;');
  expect(conf).toMatch(/^load_module \/usr\/lib\/nginx\/modules\/ngx_stream_module\.so;$/m);
  // the REST API's http upstream is unweighted: the worker reaches every running node
  const http = conf.slice(conf.indexOf('\nhttp {'));
  expect(http).toMatch(/upstream emqx_api \{\n(\s+server 127\.0\.0\.1:320\d\d max_fails=1 fail_timeout=5s;\n){4}/);
  expect(http).not.toContain('weight=');
});
