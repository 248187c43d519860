import type { WebSocket, WebSocketServer } from 'ws';

/**
 * ws's ping/pong pattern: every interval, a socket that has not answered the previous ping is
 * terminated and the others are pinged. A connection that died without a close (a laptop lid, a
 * phone leaving coverage) is otherwise only noticed by TCP, minutes later. Returns the stop.
 */
export function startHeartbeat(server: WebSocketServer, intervalMs: number): () => void {
  const awaitingPong = new WeakSet<WebSocket>();
  const listening = new WeakSet<WebSocket>();
  const timer = setInterval(() => {
    for (const socket of server.clients) {
      if (awaitingPong.has(socket)) {
        socket.terminate();
        continue;
      }
      // Sockets come from handleUpgrade, which emits no `connection`: listen on the first ping.
      if (!listening.has(socket)) {
        listening.add(socket);
        socket.on('pong', () => awaitingPong.delete(socket));
      }
      awaitingPong.add(socket);
      socket.ping();
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
