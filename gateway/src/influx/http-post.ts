import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/** What a write endpoint answered: the status, its Retry-After, and the body when it was not a 2xx. */
export interface PostAnswer {
  readonly status: number;
  readonly retryAfter: string | undefined;
  readonly text: string;
}

export interface HttpPoster {
  /** Rejects on network errors and on `timeoutMillis` passing before the answer is read. */
  post(url: URL, headers: Readonly<Record<string, string>>, body: Buffer, timeoutMillis: number): Promise<PostAnswer>;
  close(): void;
}

/** Error bodies are read for the log and the partial-write count; past this they are cut. */
const MAX_ERROR_BODY = 64 * 1024;

/**
 * POSTs over keep-alive sockets with node:http. The writes used `fetch`, which copies a body three
 * times on its way out (the string through TextEncoder, then web-stream chunks cloned into
 * Uint8Arrays): a tenth of the gateway's CPU under load in the end-to-end benchmark. Here the body
 * is one Buffer handed to the socket.
 */
export function createHttpPoster(maxSockets: number): HttpPoster {
  const http = new HttpAgent({ keepAlive: true, maxSockets });
  const https = new HttpsAgent({ keepAlive: true, maxSockets });
  return {
    post(url, headers, body, timeoutMillis) {
      const secure = url.protocol === 'https:';
      return new Promise<PostAnswer>((resolve, reject) => {
        const req = (secure ? httpsRequest : httpRequest)(
          url,
          { method: 'POST', agent: secure ? https : http, headers: { ...headers, 'content-length': String(body.length) } },
          (res: IncomingMessage) => {
            const status = res.statusCode ?? 0;
            const retryAfter = res.headers['retry-after'];
            if (status >= 200 && status < 300) {
              res.resume();
              res.on('end', () => resolve({ status, retryAfter, text: '' }));
              res.on('error', reject);
              return;
            }
            const chunks: Buffer[] = [];
            let size = 0;
            res.on('data', (c: Buffer) => {
              if (size < MAX_ERROR_BODY) chunks.push(c);
              size += c.length;
            });
            res.on('end', () => resolve({ status, retryAfter, text: Buffer.concat(chunks).toString('utf8').slice(0, MAX_ERROR_BODY) }));
            res.on('error', reject);
          },
        );
        const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMillis} ms`)), timeoutMillis);
        req.on('close', () => clearTimeout(timer));
        req.on('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
        req.end(body);
      });
    },
    close() {
      http.destroy();
      https.destroy();
    },
  };
}
