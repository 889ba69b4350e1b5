import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort } from '../../../../../test/support';
import { ExecError, fetchExecutor } from './executor';

////////// The executor tells a request that never left (safe to retry) from one that may
// have reached the provider (in doubt), against real sockets.

describe('fetch executor', () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/hang') return; // never answers
      if (req.url === '/reset') { req.socket.destroy(); return; } // cut off after receiving the request
      res.setHeader('Retry-After', '3');
      res.statusCode = 429;
      res.end('{"error":"slow down"}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => { server.closeAllConnections(); await new Promise((r) => server.close(r)); });

  const fail = async (u: string, timeoutMs = 300) => {
    try { await fetchExecutor.execute({ method: 'POST', url: u, headers: { 'content-type': 'application/json' }, body: '{}' }, timeoutMs); } catch (e) { return e as ExecError; }
    throw new Error('expected a failure');
  };

  it('an answer, whatever its status, is a response with lower-cased headers', async () => {
    expect(await fetchExecutor.execute({ method: 'POST', url: `${url}/x`, headers: {}, body: '' }, 1000)).toMatchObject({ status: 429, headers: { 'retry-after': '3' }, body: '{"error":"slow down"}' });
  });
  it('refused: never left, not in doubt', async () => {
    const e = await fail(`http://127.0.0.1:${await freePort()}/x`);
    expect([e instanceof ExecError, e.code, e.inDoubt]).toEqual([true, 'ECONNREFUSED', false]);
  });
  it('no answer in time: in doubt', async () => {
    const e = await fail(`${url}/hang`, 200);
    expect([e.code, e.inDoubt, e.message]).toEqual(['TIMEOUT', true, 'no answer within 200 ms']);
  });
  it('cut off after the request was sent: in doubt', async () => {
    const e = await fail(`${url}/reset`, 2000);
    expect(e.inDoubt).toBe(true);
  });
});
