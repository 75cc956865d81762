/** A node of the test's HTTP sandbox kind: answers every request with its release and pod, so a test can count the split. */
import { createServer } from 'node:http';

const [pod, release, port] = process.argv.slice(2);
createServer((_req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ release, pod }));
}).listen(Number(port), '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ ready: true, pod })}\n`));
