/** The sandbox's nginx config during a split: EMQX's MQTT (a stream upstream) weighted as the releases' shares say. */
import { nodeWeights } from '../../src/sandbox/localSandbox';
import { emqxSandbox } from '../../src/sandbox/emqx/sandbox';
import { nginxConfig } from '../../src/sandbox/nginx';

const ports = { mqtt: 21883, api: 28083, status: 28090 };
const emqx = emqxSandbox({
  placement: { cluster: 'split', version: '5.7.0', replicas: 3, ports },
  access: { apiUrl: `http://127.0.0.1:${ports.api}`, apiKey: { env: 'K' }, apiSecret: { env: 'S' } },
  env: {},
});

test('green at 10% on 1 node, blue at 90% on 3: the MQTT stream upstream carries weight=30 and 3 x weight=90', () => {
  const [blueWeight, greenWeight] = nodeWeights([
    { weight: 90, nodes: 3 },
    { weight: 10, nodes: 1 },
  ]);
  const blue = [31001, 31002, 31003].map((mqtt, i) => ({ ports: { mqtt, api: 32001 + i }, weight: blueWeight! }));
  const green = { ports: { mqtt: 31011, api: 32011 }, weight: greenWeight! };
  const conf = nginxConfig('/tmp/nginx-split', { statusPort: ports.status, ...emqx.routes({ traffic: [...blue, green], all: [...blue, green] }) }, 7, {
    streamModule: '/usr/lib/nginx/modules/ngx_stream_module.so',
    root: false,
  });

  const stream = /\nstream \{\n([\s\S]*?)\n\}\n/.exec(conf)?.[1];
  expect(stream).toBeDefined();
  const upstream = /upstream emqx_mqtt \{\n([\s\S]*?)\n {2}\}/.exec(stream!)?.[1];
  expect(upstream?.split('\n').map((l) => l.trim())).toEqual([
    'server 127.0.0.1:31001 weight=90;',
    'server 127.0.0.1:31002 weight=90;',
    'server 127.0.0.1:31003 weight=90;',
    'server 127.0.0.1:31011 weight=30;',
  ]);
  // 270 to 30: the releases' 90/10
  expect(stream).toContain(`listen 127.0.0.1:${ports.mqtt};`);
  expect(conf).toMatch(/^load_module \/usr\/lib\/nginx\/modules\/ngx_stream_module\.so;$/m);
  // the REST API's http upstream is unweighted: the worker reaches every running node
  const http = conf.slice(conf.indexOf('\nhttp {'));
  expect(http).toMatch(/upstream emqx_api \{\n(\s+server 127\.0\.0\.1:320\d\d max_fails=1 fail_timeout=5s;\n){4}/);
  expect(http).not.toContain('weight=');
});
