import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { createRootLogger, processRegistry, serveMetrics } from '../../../common/index.js';

/** One raw HTTP/1.1 request (request targets that `fetch` would normalise away); the status line's code. */
function rawRequest(url: string, requestLine: string): Promise<number> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(`${requestLine}\r\nHost: x\r\nConnection: close\r\n\r\n`));
    let text = '';
    socket.on('data', (chunk) => (text += chunk.toString('latin1')));
    socket.on('end', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)));
    socket.on('error', reject);
  });
}

test('the metrics endpoint answers hostile request targets with 404 or 400 and keeps serving', async (t) => {
  const endpoint = await serveMetrics(processRegistry('test'), { host: '127.0.0.1', port: 0, logger: createRootLogger({ level: 'silent', pretty: false }) });
  t.after(() => endpoint.close());
  for (const target of ['//', '//x/metrics', 'http://[::1', '/metrics/../x', '*', '/%ff%fe']) {
    const status = await rawRequest(endpoint.url, `GET ${target} HTTP/1.1`);
    assert.ok(status === 404 || status === 400, `GET ${target}: ${status}`);
  }
  assert.equal(await rawRequest(endpoint.url, 'GET /metrics?x=1 HTTP/1.1'), 200);
  const text = await (await fetch(endpoint.url)).text();
  assert.match(text, /sci_contained_errors_total/);
});
