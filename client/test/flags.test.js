// isEnabled against a real HTTP server on loopback (Node's fetch): one request per (flag, user)
// per client, and `false` (the old path) whenever the answer cannot be had.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { test } from 'node:test';

import { createSceneClient } from '../src/client.js';

async function flagServer(answer) {
  const requests = [];
  const server = createServer((req, res) => {
    requests.push(req.url);
    const [status, body] = answer(req.url, requests.length);
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${server.address().port}/`, requests, close: () => server.close() };
}

test('a flag is asked once per user and client, with the user id in the query', async () => {
  const srv = await flagServer((url) => [200, { name: 'f', enabled: url.includes('userId=u%201'), rolloutPercentage: 50 }]);
  try {
    const client = createSceneClient({ baseUrl: srv.base });
    assert.equal(await client.isEnabled('server compilation', 'u 1'), true);
    assert.equal(await client.isEnabled('server compilation', 'u 1'), true);
    assert.equal(await client.isEnabled('server compilation', 'u 2'), false);
    assert.deepEqual(srv.requests, ['/api/flags/server%20compilation?userId=u%201',
      '/api/flags/server%20compilation?userId=u%202']);
    await createSceneClient({ baseUrl: srv.base }).isEnabled('server compilation', 'u 1');
    assert.equal(srv.requests.length, 3); // another client asks again
  } finally {
    srv.close();
  }
});

test('a flag service that fails means the old path, and is asked again next time', async () => {
  const srv = await flagServer((url, n) => (n === 1 ? [503, { error: 'busy' }] : [200, { enabled: true }]));
  try {
    const client = createSceneClient({ baseUrl: srv.base });
    assert.equal(await client.isEnabled('f', 'u'), false);
    assert.equal(await client.isEnabled('f', 'u'), true);
    assert.equal(srv.requests.length, 2);
  } finally {
    srv.close();
  }
  const gone = createSceneClient({ baseUrl: srv.base }); // nothing listens there any more
  assert.equal(await gone.isEnabled('f', 'u'), false);
});
