/**
 * Starts Debian's clickhouse-server (installed by `deno task test` via scripts/ensure_test_packages.sh) on free ports
 * with a temporary data directory, for tests of the HTTP driver's transport.
 */
import { freePort } from "./free_port.ts";

/** A running clickhouse-server. */
export interface ClickHouseServer {
  /** HTTP interface, e.g. http://127.0.0.1:41234. */
  url: string;
  /** Server version as it reports it (18.16.x from Debian bookworm). */
  version: string;
  stop(): Promise<void>;
}

const CANDIDATES = ["/usr/bin/clickhouse-server", "/usr/sbin/clickhouse-server"];

async function findBinary(): Promise<string> {
  for (const path of CANDIDATES) {
    try {
      if ((await Deno.stat(path)).isFile) return path;
    } catch {
      // not here; try the next place
    }
  }
  throw new Error(
    "clickhouse-server is not installed: run the tests with `deno task test`, which installs it from Debian's packages",
  );
}

/** Starts a server and waits until it answers /ping (up to 30 s). */
export async function startClickHouseServer(): Promise<ClickHouseServer> {
  const binary = await findBinary();
  const dir = await Deno.makeTempDir({ prefix: "breadboard-chserver-" });
  const httpPort = freePort();
  const tcpPort = freePort();
  await Deno.writeTextFile(
    `${dir}/config.xml`,
    `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><console>1</console></logger>
  <http_port>${httpPort}</http_port>
  <tcp_port>${tcpPort}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/tmp/</tmp_path>
  <user_files_path>${dir}/user_files/</user_files_path>
  <format_schema_path>${dir}/format_schemas/</format_schema_path>
  <mark_cache_size>268435456</mark_cache_size>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
</yandex>
`,
  );
  await Deno.writeTextFile(
    `${dir}/users.xml`,
    `<?xml version="1.0"?>
<yandex>
  <profiles><default></default></profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas><default></default></quotas>
</yandex>
`,
  );
  const child = new Deno.Command(binary, {
    args: [`--config-file=${dir}/config.xml`],
    stdout: "null",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  // Keep the last of stderr to explain a failed start; drain it so the server never blocks on a full pipe.
  let stderrTail = "";
  const drain = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stderr) stderrTail = (stderrTail + decoder.decode(chunk)).slice(-4000);
  })();
  const url = `http://127.0.0.1:${httpPort}`;
  const stop = async () => {
    try {
      // A throwaway server: no need to wait for its graceful shutdown.
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await child.status;
    await drain;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${url}/ping`);
      const body = await res.text();
      if (res.ok && body.trim() === "Ok.") {
        const version = (await (await fetch(`${url}/?query=SELECT%20version()`)).text()).trim();
        return { url, version, stop };
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`clickhouse-server did not answer /ping within 30 s: ${stderrTail}`);
}
