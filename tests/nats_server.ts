/**
 * Starts Debian's nats-server (installed by `deno task test` via scripts/ensure_test_packages.sh) with JetStream on a
 * free port and a temporary store directory.
 */
import { freePort } from "./free_port.ts";

/** A running nats-server. */
export interface NatsServer {
  /** e.g. nats://127.0.0.1:41234 */
  url: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * Starts the server and waits until its port accepts connections (up to 15 s). Given `port`, it listens there (a
 * restart of an earlier server, which clients reconnect to).
 */
export async function startNatsServer(port = freePort()): Promise<NatsServer> {
  const dir = await Deno.makeTempDir({ prefix: "breadboard-nats-" });
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("nats-server", {
      args: ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", dir],
      stdout: "null",
      stderr: "piped",
    }).spawn();
  } catch (err) {
    await Deno.remove(dir, { recursive: true });
    throw new Error(
      `nats-server is not installed (${err}): run the tests with \`deno task test\`, which installs it from Debian's packages`,
    );
  }
  const stderr = new Response(child.stderr).text();
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(`nats-server did not start: ${await stderr}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await stderr;
      await Deno.remove(dir, { recursive: true });
    },
  };
}
