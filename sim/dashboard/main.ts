/**
 * `npm run dashboard -- --broker URL`: the dashboard alone, for devices on any
 * broker (real ESP32s included), without the simulator.
 */

import { fail, readFlags } from "../flags";
import { openStore } from "../history/store";
import { isLoopback, urlHost } from "../listen";
import { startDashboard } from "./server";

const USAGE = `Usage: npm run dashboard -- --broker URL [flags]

Serves the dashboard for the devices on a broker, keeping their readings.

  --broker URL          the broker the devices use (default mqtt://127.0.0.1:1883)
  --http N              dashboard port (default 8080)
  --host ADDR           address it listens on (default 127.0.0.1; 0.0.0.0: every interface)
  --brokerUser U, --brokerPassword P
                        credentials for the broker; the dashboard asks for the same (HTTP Basic)
  --db FILE|URL         history: an SQLite file (default data/telemetry.db) or postgres://…
  --retention DAYS      days of history kept (default 30)
  --help                show this text
`;

function integer(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(n >= min && n <= max)) fail(`bad value "${value}" for --${name}: expected an integer from ${min} to ${max}`);
  return n;
}

async function main(): Promise<void> {
  const values = readFlags(
    process.argv.slice(2),
    ["broker", "http", "host", "brokerUser", "brokerPassword", "db", "retention"],
    USAGE,
  );
  if (!values) return;
  let broker = values.broker ?? "mqtt://127.0.0.1:1883";
  if (!/^[a-z]+:\/\//.test(broker)) broker = `mqtt://${broker}`;
  if (!/^(mqtts?|wss?):\/\/[^/]+/.test(broker))
    fail(`bad value "${values.broker}" for --broker: expected mqtt://host[:port], mqtts://… or ws(s)://…`);
  const host = values.host ?? "127.0.0.1";
  const secured = values.brokerUser !== undefined || values.brokerPassword !== undefined;
  if (!isLoopback(host) && !secured)
    process.stdout.write(
      `warning: the dashboard listens on ${host} without credentials: anyone on the network can see the devices and switch their LEDs (set --brokerUser and --brokerPassword)\n`,
    );
  const log = (line: string) => process.stdout.write(`${line}\n`);
  let dashboard: Awaited<ReturnType<typeof startDashboard>>;
  try {
    const store = await openStore(values.db ?? "data/telemetry.db");
    dashboard = await startDashboard({
      host,
      port: integer("http", values.http, 8080, 0, 65535),
      broker,
      mqttUser: values.brokerUser,
      mqttPassword: values.brokerPassword,
      user: values.brokerUser,
      password: values.brokerPassword,
      store,
      retentionDays: integer("retention", values.retention, 30, 1, 36500),
      log,
    });
    log(`dashboard http://${urlHost(host)}:${dashboard.port}/ for ${broker} (history in ${store.where})`);
  } catch (error) {
    fail((error as Error).message);
  }
  const running = dashboard;
  const shutdown = async () => {
    await running.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown());
  process.on("SIGTERM", () => void shutdown());
}

void main();
