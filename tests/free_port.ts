/** A TCP port on 127.0.0.1 that was free a moment ago (bound, read, released), for servers that need a fixed port. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = l.addr as Deno.NetAddr;
  l.close();
  return port;
}
