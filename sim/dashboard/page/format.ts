/** Words and numbers as the page shows them. */

import type { ErrorEntry } from "../api";

/** A device's error report as a sentence. */
export function sentence(e: ErrorEntry): string {
  const detail = e.detail.replace(/\.$/, "");
  switch (e.error) {
    case "bad-command":
      return `A command was not understood: ${detail}.`;
    case "sensor":
      return `The sensor failed three reads in a row (${detail}); check its wiring, its pull-up resistor and the sensor setting.`;
    case "queue-full":
      return `Readings were dropped because the buffer was full: ${detail}.`;
    case "config":
      return `A setting was refused: ${detail}.`;
    case "subscribe":
      return `The broker refused a subscription: ${detail}.`;
    default:
      return `${e.error}: ${detail}.`;
  }
}

/** "just now", "12 s ago", "5 min ago", "3 h ago", "2 d ago". */
export function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 2) return "just now";
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  if (s < 172800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/** Uptime as "3 d 4 h", "2 h 5 min", "4 min 10 s". */
export function duration(seconds: number): string {
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d) return `${d} d ${h} h`;
  if (h) return `${h} h ${m} min`;
  if (m) return `${m} min ${s % 60} s`;
  return `${s} s`;
}

export function clock(t: number): string {
  return new Date(t).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

export function fixed(n: number | undefined | null, digits = 1): string {
  return typeof n === "number" ? n.toFixed(digits) : "–";
}
