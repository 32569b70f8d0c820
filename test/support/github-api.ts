/**
 * A stand-in for GitHub's REST API on 127.0.0.1: the Checks API's create and update, answering as GitHub does
 * (201 with the check run's `id` and `html_url`, 200 on update) and recording every request with its body.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GithubRequest {
  readonly method: string;
  readonly url: string;
  readonly authorization: string | undefined;
  readonly body: Record<string, unknown>;
}

export interface StandInGithub {
  readonly url: string;
  readonly requests: GithubRequest[];
  close(): Promise<void>;
}

export async function startStandInGithub(refuse?: { status: number; message: string }): Promise<StandInGithub> {
  const requests: GithubRequest[] = [];
  let next = 1;
  const server: Server = createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8').on('data', (d: string) => (text += d));
    req.on('end', () => {
      requests.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization, body: text ? JSON.parse(text) : {} });
      res.setHeader('content-type', 'application/json');
      if (refuse) return res.writeHead(refuse.status).end(JSON.stringify({ message: refuse.message }));
      if (req.method === 'POST' && /^\/repos\/[^/]+\/[^/]+\/check-runs$/.test(req.url!)) {
        const id = next++;
        return res.writeHead(201).end(JSON.stringify({ id, html_url: `https://github.com/acme/shop/runs/${id}` }));
      }
      if (req.method === 'PATCH' && /^\/repos\/[^/]+\/[^/]+\/check-runs\/\d+$/.test(req.url!)) return res.writeHead(200).end('{}');
      res.writeHead(404).end(JSON.stringify({ message: 'Not Found' }));
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}
