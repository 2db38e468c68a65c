/** Listening on a port: resolves with the port bound (0 picks a free one), rejects with the error (EADDRINUSE…). */
import type net from 'node:net';

export function listen(server: net.Server, port: number, host: string, backlog?: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const listening = () => {
      server.off('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    };
    if (backlog === undefined) server.listen(port, host, listening);
    else server.listen(port, host, backlog, listening);
  });
}
