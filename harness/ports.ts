import { createServer } from 'node:net';

/**
 * Asks the kernel for an unused TCP port on 127.0.0.1 by binding port 0 and closing again.
 * There is an unavoidable window in which another process can grab the port before our
 * server binds it; the server launchers retry on "address already in use" for that reason.
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('freePort: listener has no TCP address');
  return address.port;
}
