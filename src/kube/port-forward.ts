import net from 'node:net';
import { PortForward, type KubeConfig } from '@kubernetes/client-node';

/** A local listener on 127.0.0.1 whose connections reach a pod's port through the API server. */
export interface LocalForward {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  close(): Promise<void>;
}

interface ForwardSocket {
  close(): void;
  terminate?(): void;
  on(event: 'close' | 'error', listener: () => void): void;
}

/**
 * `kubectl port-forward` in process: every accepted connection opens its own port-forward
 * WebSocket to `pod:port` (client-node's PortForward), both directions piped, each side closing
 * the other. Loopback only; close() stops listening and cuts every open connection.
 */
export async function forwardPort(
  config: KubeConfig,
  namespace: string,
  pod: string,
  port: number,
): Promise<LocalForward> {
  const forward = new PortForward(config, true);
  const open = new Set<{ socket: net.Socket; ws?: ForwardSocket }>();
  const server = net.createServer((socket) => {
    const conn: { socket: net.Socket; ws?: ForwardSocket } = { socket };
    open.add(conn);
    socket.on('close', () => {
      open.delete(conn);
      conn.ws?.close();
    });
    socket.on('error', () => socket.destroy());
    forward
      .portForward(namespace, pod, [port], socket, null, socket)
      .then((ws) => {
        conn.ws = ws as unknown as ForwardSocket;
        conn.ws.on('close', () => socket.destroy());
        conn.ws.on('error', () => socket.destroy());
        if (socket.destroyed) conn.ws.close();
      })
      .catch(() => socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: async () => {
      for (const c of open) {
        c.socket.destroy();
        c.ws?.terminate?.();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
