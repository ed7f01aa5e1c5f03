/**
 * What the device's outside interface (/work/shared/interface.md) promises,
 * as data the tests compare against: the unit tests (also in XS), the
 * simulator's tests and the Moddable simulator's check share this one copy.
 */

/** The keys of `GET /state.json`, in order. */
export const STATE_KEYS = [
  "id",
  "version",
  "temp",
  "hum",
  "readingAge",
  "led",
  "mqtt",
  "uptime",
  "rssi",
  "heap",
  "buffered",
  "dropped",
];
