/**
 * The sandbox's nginx, started on a port another process holds (taken after
 * npm start checked its ports): the start fails naming the port, what nginx
 * wanted it for and the process holding it, not only nginx's bind() error.
 */
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/runtime/freePort';
import { Nginx } from '../../src/sandbox/nginx';

test('nginx that cannot bind a port names the port and the process holding it', async () => {
  const [mqtt, status] = await Promise.all([freePort(), freePort()]);
  const squatter = createServer();
  await new Promise<void>((r) => squatter.listen(mqtt, '127.0.0.1', r));
  const nginx = new Nginx(mkdtempSync(join(tmpdir(), 'cutover-nginx-')));
  try {
    const routes = { statusPort: status, streams: [{ name: 'emqx_mqtt', listen: mqtt, servers: [], directives: [] }], http: [] };
    await expect(nginx.apply(routes)).rejects.toThrow(`port ${mqtt} (nginx's listener of upstream emqx_mqtt) is taken by pid ${process.pid}`);
    expect(nginx.pid()).toBeUndefined();
  } finally {
    squatter.close();
    await nginx.stop();
  }
}, 30_000);
