/**
 * A TCP proxy on 127.0.0.1 for fault tests, in a process of its own (so that a service in the
 * test's process that blocked its event loop could not also block the proxy): forwards every
 * connection to a target, and can stall (hold every byte in both directions, as a frozen
 * server or a network that drops packets would, without closing anything) and resume.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface TcpProxy {
  port: number;
  /** hold every byte from now on, in both directions */
  stall(): Promise<void>;
  /** pass what was held, and everything after */
  resume(): Promise<void>;
  close(): Promise<void>;
}

/** The proxy itself: plain JavaScript for `node -e`; commands on stdin, answers on stdout. */
const PROXY = `
const net = require('node:net');
const [host, port] = process.argv.slice(1);
const directions = new Set();
const sockets = new Set();
let stalled = false;
function forward(from, to) {
  const d = { to, held: [] };
  directions.add(d);
  from.on('data', (chunk) => { if (stalled || d.held.length > 0) d.held.push(chunk); else to.write(chunk); });
}
const server = net.createServer((client) => {
  const upstream = net.connect(Number(port), host);
  sockets.add(client); sockets.add(upstream);
  forward(client, upstream); forward(upstream, client);
  const end = () => { sockets.delete(client); sockets.delete(upstream); client.destroy(); upstream.destroy(); };
  for (const s of [client, upstream]) { s.on('error', end); s.on('close', end); }
});
server.listen(0, '127.0.0.1', () => console.log('port ' + server.address().port));
require('node:readline').createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'stall') stalled = true;
  if (line === 'resume') { stalled = false; for (const d of directions) for (const c of d.held.splice(0)) if (!d.to.destroyed) d.to.write(c); }
  console.log('ok ' + line);
});
process.stdin.on('end', () => process.exit(0));
`;

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const child: ChildProcess = spawn(process.execPath, ['-e', PROXY, targetHost, String(targetPort)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const waiting: ((line: string) => void)[] = [];
  lines.on('line', (line) => waiting.shift()?.(line));
  const next = () => new Promise<string>((resolve) => waiting.push(resolve));
  const first = await next();
  const port = Number(/^port (\d+)$/.exec(first)?.[1]);
  if (!port) throw new Error(`tcp proxy did not start: ${first}`);
  const command = async (c: string) => {
    const answer = next();
    child.stdin!.write(`${c}\n`);
    if ((await answer) !== `ok ${c}`) throw new Error(`tcp proxy did not take ${c}`);
  };
  return {
    port,
    stall: () => command('stall'),
    resume: () => command('resume'),
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
