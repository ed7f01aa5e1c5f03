/**
 * The wall clock on the ESP32: SNTP from the `ntp` server (the SDK's module),
 * retried every 30 s until it answers, then again every 6 hours.
 */
import SNTP from "sntp";
import Time from "time";
import Timer from "timer";
import type { Log } from "../ports";

const RETRY_MS = 30000;
const RESYNC_MS = 6 * 3600 * 1000;

export function keepTime(server: string, log: Log): void {
  if (server === "off") return;
  const attempt = (): void => {
    try {
      new SNTP({ host: server }, (message, value) => {
        if (message === SNTP.time && typeof value === "number") {
          Time.set(value);
          log(`time: set from ${server}`);
          Timer.set(attempt, RESYNC_MS);
        } else if (message === SNTP.error) {
          Timer.set(attempt, RETRY_MS);
        }
      });
    } catch {
      Timer.set(attempt, RETRY_MS);
    }
  };
  attempt();
}
