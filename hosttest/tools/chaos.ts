/**
 * `npm run chaos`: the long chaos run, every scenario of support/chaos.ts side
 * by side for about ten minutes (100 broker kills, 10 minutes of Wi-Fi drops,
 * rounds of link faults with a good minute between them, 5 minutes of QoS 0
 * at keepalive 5 s, …), all on loopback. Prints one table
 * (`--json`: one JSON object) and exits 1 if any scenario shows a problem.
 *
 *   npm run chaos [-- --kills N] [--minutes M] [--json]
 */
import { parseArgs } from "node:util";
import {
  brokerKills,
  brokerOutage,
  collapsed,
  garbage,
  hostile,
  type Outcome,
  problems,
  proxyFaults,
  qos0Keepalive,
  simKills,
  table,
  wifiDrops,
} from "../support/chaos";

const { values } = parseArgs({
  options: {
    kills: { type: "string", default: "100" },
    minutes: { type: "string", default: "10" },
    json: { type: "boolean", default: false },
  },
});
const kills = Number(values.kills);
const seconds = Number(values.minutes) * 60;

async function main(): Promise<number> {
  const began = Date.now();
  if (!values.json)
    process.stdout.write(`chaos: ${kills} broker kills, ${seconds} s of Wi-Fi drops, scenarios side by side…\n`);
  const [kill, proxy, wifi, qos0, restart, bad, host, outage] = await Promise.all([
    brokerKills(kills),
    proxyFaults(Math.max(1, Math.round(seconds / 170)), 6000, 20000, 65000),
    wifiDrops(seconds, 20),
    qos0Keepalive(Math.round(seconds / 2)),
    simKills(10),
    garbage(),
    hostile(12),
    brokerOutage(180),
  ]);
  const found = [
    ...problems(kill, 8000),
    ...problems(proxy, 15000),
    ...problems(wifi, 15000),
    ...problems(qos0, 0),
    ...problems(outage, 180000 + 60000),
    ...collapsed(host.waits),
  ];
  for (const o of [restart, bad, host]) if (!o.alive) found.push(`${o.scenario}: the simulator process died`);
  if (kill.connections !== kills + 1) found.push(`broker kills: ${kill.connections} connections for ${kills} kills`);
  if (qos0.connections !== 1) found.push(`QoS 0: ${qos0.connections} connections`);
  if (restart.ledChecks !== 10)
    found.push(`simulator restarts: the LED came back right ${restart.ledChecks} times of 10`);
  if (bad.errors["bad-command"] !== bad.expectedErrors)
    found.push(`garbage: ${bad.errors["bad-command"]} bad-command errors for ${bad.expectedErrors} bad payloads`);
  const outcomes: Outcome[] = [kill, proxy, wifi, qos0, restart, bad, host, outage];
  const minutes = Math.round((Date.now() - began) / 6000) / 10;
  if (values.json) process.stdout.write(`${JSON.stringify({ minutes, outcomes, problems: found })}\n`);
  else {
    const reasons = outcomes
      .map(
        (o) =>
          `- ${o.scenario}: ${
            Object.entries(o.reasons)
              .map(([r, n]) => `${r} ×${n}`)
              .join("; ") || "none"
          }`,
      )
      .join("\n");
    process.stdout.write(
      `${table(outcomes)}\n\nwhy connections ended (device trace):\n${reasons}\n\nhostile broker: ${host.notes.join("; ")}\n${minutes} minutes; ${found.length ? `problems:\n- ${found.join("\n- ")}` : "no problems"}\n`,
    );
  }
  if (found.length && !values.json) {
    for (const o of outcomes)
      if (found.some((f) => f.startsWith(o.scenario) || (o === host && f.startsWith("hostile"))))
        process.stdout.write(`\n--- ${o.scenario}: device trace (tail) ---\n${o.trace.join("\n")}\n`);
  }
  return found.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`chaos: FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
