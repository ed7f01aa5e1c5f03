/**
 * The firmware update state machine (src/update/updater.ts) with a manual
 * clock, a scripted HTTP server, a spare partition in RAM and a Map store:
 * every failure code, busy, the running version, progress cadence, bounded
 * work per turn, the restart, and the trial after it (confirm on reaching
 * the broker, rollback when the window is over). Then the same through the
 * app over MQTT: answers on `ota` (QoS 1, not retained), LED commands obeyed
 * in the middle of a download, the running version in diag and discovery.
 * Runs on Node and inside XS.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { App } from "../../src/app/app";
import { buildConfig } from "../../src/app/config";
import { parseUrl, resolveLocation } from "../../src/update/request";
import { SHA256_BYTES, Sha256, toHex } from "../../src/update/sha256";
import { CHUNK, PROGRESS_STEP, TURN_BYTES } from "../../src/update/transfer";
import { REBOOT_DELAY_MS, RECORD_KEY, STALL_MS, TRIAL_MS, type UpdateAnswer, Updater } from "../../src/update/updater";
import { VERSION } from "../../src/version";
import {
  FakeClock,
  FakeNetwork,
  FakeSensor,
  fixedRandom,
  MapStore,
  payloadText,
  publishPacket,
  RecordingPin,
  serve,
  type WrittenPacket,
} from "./fakes";
import { FakeHttp, image, RamUpdate } from "./update-fakes";

const RUNNING = "1.0.0";
const URL_TEXT = "http://files.local:8000/fw/1.1.0.bin";

function sha256(bytes: Uint8Array): string {
  const h = new Sha256();
  h.write(bytes);
  const out = new Uint8Array(SHA256_BYTES);
  h.digest(out);
  return toHex(out);
}

interface Options {
  running?: string;
  trial?: boolean;
  store?: Record<string, string>;
  capacity?: number;
  window?: number;
  noUpdate?: boolean;
  noHttp?: boolean;
  noRestart?: boolean;
}

function setup(options: Options = {}) {
  const clock = new FakeClock(0);
  const http = new FakeHttp();
  const update = new RamUpdate(options.capacity);
  update.trial = options.trial ?? false;
  const store = new MapStore(options.store ?? {});
  const answers: UpdateAnswer[] = [];
  const logs: string[] = [];
  let restarts = 0;
  const updater = new Updater(
    {
      clock,
      log: (line) => logs.push(line),
      store,
      update: options.noUpdate ? undefined : update,
      http: options.noHttp ? undefined : http.client,
      hash: new Sha256(),
      restart: options.noRestart ? undefined : () => restarts++,
      report: (answer) => answers.push(answer),
    },
    { version: options.running ?? RUNNING, window: options.window },
  );
  return {
    clock,
    http,
    update,
    store,
    answers,
    logs,
    updater,
    get restarts() {
      return restarts;
    },
    /** Answers since index `from`, as "state[ version][ progress][ error]". */
    said(from = 0): string[] {
      return answers.slice(from).map((a) => [a.state, a.version, a.progress ?? "", a.error ?? ""].join(" ").trim());
    },
    last(): UpdateAnswer {
      return answers[answers.length - 1];
    },
  };
}

function request(fields: Record<string, unknown>): string {
  return JSON.stringify({ url: URL_TEXT, version: "1.1.0", ...fields });
}

/** Serves `body` to the last request in chunks of `chunk` bytes, then ends it. */
function serveAll(
  t: ReturnType<typeof setup>,
  body: Uint8Array,
  chunk = 1460,
  length: number | null = body.length,
): void {
  const r = t.http.last;
  r.headers(200, length ?? undefined);
  for (let at = 0; at < body.length; at += chunk) {
    r.body(body.subarray(at, at + chunk));
    t.clock.advance(0);
  }
  t.clock.advance(0);
  r.done();
}

describe("update: requests that are refused before anything is touched", () => {
  const img = image(1000);
  const good = sha256(img);
  const cases: [string, string, RegExp][] = [
    ["not JSON", "please update", /expects JSON/],
    ["a JSON array", "[1,2]", /expects JSON/],
    ["a JSON string", '"http://x/y"', /expects JSON/],
    ["no version", JSON.stringify({ url: URL_TEXT, sha256: good }), /"version"/],
    ["an empty version", request({ sha256: good, version: "" }), /"version"/],
    ["a version with a space", request({ sha256: good, version: "1 2" }), /"version"/],
    ["a version too long", request({ sha256: good, version: "1".repeat(33) }), /"version"/],
    ["no url", JSON.stringify({ sha256: good, version: "1.1.0" }), /"url"/],
    ["an ftp url", request({ sha256: good, url: "ftp://files.local/fw.bin" }), /"url"/],
    ["a url without host", request({ sha256: good, url: "http:///fw.bin" }), /"url"/],
    ["a url with a bad port", request({ sha256: good, url: "http://files.local:70000/fw.bin" }), /"url"/],
    ["a number as url", request({ sha256: good, url: 7 }), /"url"/],
    ["no sha256", request({}), /"sha256"/],
    ["a digest of 63 digits", request({ sha256: good.slice(1) }), /"sha256"/],
    ["a digest with a non-hex digit", request({ sha256: `z${good.slice(1)}` }), /"sha256"/],
    ["an unknown field", request({ sha256: good, force: true }), /unknown field "force"/],
  ];
  for (const [name, text, detail] of cases) {
    it(`${name}: failed / bad-request, naming the field`, () => {
      const t = setup();
      t.updater.request(text);
      assert.equal(t.answers.length, 1);
      const a = t.last();
      assert.equal(a.state, "failed");
      assert.equal(a.error, "bad-request");
      assert.match(a.detail!, detail);
      assert.equal(t.http.requests.length, 0, "no download");
      assert.equal(t.update.opened.length, 0, "the spare partition untouched");
      assert.equal(t.updater.state, "idle");
    });
  }

  it("a retained request: refused (it would install again at every connect); the empty message clearing it: ignored", () => {
    const t = setup();
    t.updater.request(request({ sha256: sha256(image(10)) }), true);
    assert.equal(t.last().error, "bad-request");
    assert.match(t.last().detail!, /retained/);
    assert.equal(t.http.requests.length, 0);
    t.updater.request("", true);
    t.updater.request("  ", false);
    assert.equal(t.answers.length, 1);
  });

  it("names the requested version in the answer when it was valid", () => {
    const t = setup();
    t.updater.request(request({ sha256: "nope" }));
    assert.equal(t.last().version, "1.1.0");
  });
});

describe("update: the running version", () => {
  it("answers done with the running version, downloads nothing and does not restart", () => {
    const t = setup();
    t.updater.request(request({ sha256: sha256(image(10)), version: RUNNING }));
    assert.deepEqual(t.answers, [{ state: "done", version: RUNNING }]);
    assert.equal(t.http.requests.length, 0);
    assert.equal(t.update.opened.length, 0);
    t.clock.advance(10 * REBOOT_DELAY_MS);
    assert.equal(t.restarts, 0);
    assert.equal(t.store.get(RECORD_KEY), undefined, "no record kept");
  });
});

describe("update: a good image", () => {
  it("downloads, verifies while writing, switches and restarts", () => {
    const t = setup();
    const img = image(12_000);
    t.updater.request(request({ sha256: sha256(img) }));
    assert.equal(t.updater.state, "downloading");
    assert.equal(t.http.last.url, URL_TEXT.replace("files.local:8000", "files.local:8000"));
    assert.equal(t.update.opened.length, 0, "the partition is opened only once the server answers 200");
    serveAll(t, img, 1460);
    assert.deepEqual(t.update.opened, [{ byteLength: 12_000, version: "1.1.0" }]);
    assert.ok(t.update.holds(img), "the partition holds the image, byte for byte");
    assert.equal(t.update.completed, 1);
    assert.equal(t.updater.state, "rebooting");
    const states = t.answers.map((a) => a.state);
    assert.deepEqual(states.slice(-2), ["verifying", "rebooting"]);
    assert.deepEqual(t.last(), { state: "rebooting", version: "1.1.0" });
    assert.equal(t.store.get(RECORD_KEY), "1.1.0", "the record the next firmware reads");
    assert.equal(t.restarts, 0, "the restart waits for the answer to leave");
    t.clock.advance(REBOOT_DELAY_MS - 1);
    assert.equal(t.restarts, 0);
    t.clock.advance(1);
    assert.equal(t.restarts, 1);
  });

  it("reports progress at most every 10 %, in order, ending at 100", () => {
    const t = setup();
    const img = image(20_011);
    t.updater.request(request({ sha256: sha256(img) }));
    serveAll(t, img, 197);
    const progress = t.answers.filter((a) => a.state === "downloading").map((a) => a.progress!);
    assert.equal(progress[0], 0);
    assert.equal(progress[progress.length - 1], 100);
    assert.ok(progress.length <= 100 / PROGRESS_STEP + 1, `${progress.length} progress messages`);
    for (let i = 1; i < progress.length; i++) {
      assert.ok(progress[i] - progress[i - 1] >= PROGRESS_STEP, `progress ${progress.join(",")}`);
      assert.equal(progress[i] % PROGRESS_STEP, 0);
    }
    for (const a of t.answers) assert.equal(a.version, "1.1.0");
  });

  it("without a Content-Length: progress 0 only, then verified by its digest", () => {
    const t = setup();
    const img = image(9000);
    t.updater.request(request({ sha256: sha256(img) }));
    serveAll(t, img, 1000, null);
    assert.deepEqual(t.said(), ["downloading 1.1.0 0", "verifying 1.1.0", "rebooting 1.1.0"]);
  });

  it("handles at most TURN_BYTES per turn; the rest on the next turns", () => {
    const t = setup();
    const img = image(TURN_BYTES + 5);
    t.updater.request(request({ sha256: sha256(img) }));
    const r = t.http.last;
    r.headers(200, img.length);
    r.body(img);
    assert.equal(r.delivered, TURN_BYTES, "one turn's worth read at once");
    assert.equal(t.clock.nextDue, t.clock.now(), "the rest waits for a turn of its own");
    t.clock.advance(0);
    assert.equal(r.delivered, img.length);
    r.done();
    assert.equal(t.updater.state, "rebooting");
  });

  it("reads in chunks of at most CHUNK bytes whatever the socket holds", () => {
    const t = setup();
    const img = image(CHUNK * 2 + 1);
    t.updater.request(request({ sha256: sha256(img) }));
    const r = t.http.last;
    r.readSize = 300;
    r.headers(200, img.length);
    r.body(img);
    t.clock.advance(0);
    r.done();
    assert.ok(t.update.holds(img));
    assert.equal(t.updater.state, "rebooting");
  });

  it("follows redirects (absolute and relative), at most 3", () => {
    const t = setup();
    const img = image(3000);
    t.updater.request(request({ sha256: sha256(img) }));
    t.http.last.headers(302, 0, "https://cdn.example.com/fw.bin");
    assert.equal(t.http.requests[0].closed, true);
    assert.equal(t.http.last.url, "https://cdn.example.com:443/fw.bin");
    t.http.last.headers(301, 0, "/other/fw.bin?x=1");
    assert.equal(t.http.last.url, "https://cdn.example.com:443/other/fw.bin?x=1");
    serveAll(t, img);
    assert.equal(t.updater.state, "rebooting");

    const u = setup();
    u.updater.request(request({ sha256: sha256(img) }));
    for (let i = 0; i < 4; i++) u.http.last.headers(302, 0, `/hop${i}`);
    assert.equal(u.last().error, "http-error");
    assert.match(u.last().detail!, /more than 3 redirects/);
  });

  it("without a restart port, says the image is installed and goes idle", () => {
    const t = setup({ noRestart: true });
    const img = image(100);
    t.updater.request(request({ sha256: sha256(img) }));
    serveAll(t, img);
    t.clock.advance(REBOOT_DELAY_MS);
    assert.equal(t.updater.state, "idle");
    assert.ok(t.logs.some((l) => /restart the device to run it/.test(l)));
  });
});

describe("update: failures leave the running firmware as it was", () => {
  /** Starts a good request and returns the setup and the image. */
  function started(options: Options = {}, length = 8000) {
    const t = setup(options);
    const img = image(length);
    t.updater.request(request({ sha256: sha256(img) }));
    return { t, img };
  }

  function assertFailed(t: ReturnType<typeof setup>, code: string, detail?: RegExp): void {
    const a = t.last();
    assert.equal(a.state, "failed", JSON.stringify(a));
    assert.equal(a.error, code, JSON.stringify(a));
    assert.equal(a.version, "1.1.0");
    if (detail) assert.match(a.detail!, detail);
    assert.equal(t.updater.state, "idle");
    assert.equal(t.update.completed, 0, "nothing switched");
    assert.equal(t.update.isOpen, false, "the partition let go of");
    assert.equal(t.store.get(RECORD_KEY), undefined, "no record");
    t.clock.advance(STALL_MS * 2);
    assert.equal(t.restarts, 0, "no restart");
    assert.equal(t.updater.state, "idle");
  }

  it("an unreachable server (connection refused): unreachable, partition never opened", () => {
    const { t } = started();
    t.http.last.done("connection refused by files.local:8000");
    assertFailed(t, "unreachable", /connection refused/);
    assert.equal(t.update.opened.length, 0);
  });

  it("a server that never answers: unreachable after STALL_MS", () => {
    const { t } = started();
    t.clock.advance(STALL_MS - 1000);
    assert.equal(t.updater.state, "downloading");
    t.clock.advance(STALL_MS);
    assertFailed(t, "unreachable", new RegExp(`no answer .* within ${STALL_MS / 1000} s`));
  });

  it("an HTTP error status: http-error naming it", () => {
    const { t } = started();
    t.http.last.headers(404, 9);
    assertFailed(t, "http-error", /HTTP 404 from http:\/\/files\.local:8000\/fw\/1\.1\.0\.bin/);
    assert.equal(t.http.last.closed, true);
    assert.equal(t.update.opened.length, 0);
  });

  it("a connection that breaks in the middle: truncated, the partial write cancelled", () => {
    const { t, img } = started();
    t.http.last.headers(200, img.length).body(img.subarray(0, 3000));
    t.http.last.done("connection reset");
    assertFailed(t, "truncated", /after 3000 of 8000 bytes \(connection reset\)/);
    assert.equal(t.update.closedBeforeComplete, 1);
  });

  it("a body shorter than its Content-Length: truncated", () => {
    const { t, img } = started();
    serveAll(t, img.subarray(0, 7999), 1460, img.length);
    assertFailed(t, "truncated", /7999 of 8000/);
  });

  it("an empty body: truncated", () => {
    const { t } = started();
    serveAll(t, new Uint8Array(0), 1460, null);
    assertFailed(t, "truncated", /empty/);
  });

  it("a transfer that stalls: timeout after STALL_MS without a byte", () => {
    const { t, img } = started();
    t.http.last.headers(200, img.length).body(img.subarray(0, 5000));
    t.clock.advance(STALL_MS - 5000);
    assert.equal(t.updater.state, "downloading");
    t.http.last.body(img.subarray(5000, 6000));
    t.clock.advance(STALL_MS - 5000);
    assert.equal(t.updater.state, "downloading", "a byte resets the stall");
    t.clock.advance(10_000);
    assertFailed(t, "timeout", new RegExp(`nothing received .* for ${STALL_MS / 1000} s after 6000 bytes`));
  });

  it("a wrong digest: verifying, then digest-mismatch naming both digests", () => {
    const t = setup();
    const img = image(8000);
    const other = sha256(image(8000, 2));
    t.updater.request(request({ sha256: other }));
    serveAll(t, img);
    assert.equal(t.answers[t.answers.length - 2].state, "verifying");
    assertFailed(t, "digest-mismatch", new RegExp(`${sha256(img)}.*${other}`));
    assert.equal(t.update.closedBeforeComplete, 1);
  });

  it("an image larger than the spare partition (announced): too-large, nothing written", () => {
    const { t } = started({ capacity: 10_000 });
    t.http.last.headers(200, 10_001);
    assertFailed(t, "too-large", /10001 bytes.*10000 bytes/);
    assert.equal(t.update.opened.length, 0);
  });

  it("an image larger than the spare partition (not announced): too-large as soon as it overflows", () => {
    const { t, img } = started({ capacity: 10_000 }, 12_000);
    t.http.last.headers(200, undefined).body(img.subarray(0, 9000)).body(img.subarray(9000, 12_000));
    assertFailed(t, "too-large");
    assert.ok(t.update.length <= 10_000);
  });

  it("an image the platform refuses: bad-image with its reason", () => {
    const { t, img } = started();
    t.update.refuse = "not an image for this device (bad magic)";
    serveAll(t, img);
    assertFailed(t, "bad-image", /bad magic/);
  });

  it("a flash write that fails: write-failed", () => {
    const { t, img } = started();
    t.update.failAt = 4000;
    serveAll(t, img);
    assertFailed(t, "write-failed", /at byte/);
  });

  it("no update port: unsupported, nothing downloaded", () => {
    const t = setup({ noUpdate: true });
    t.updater.request(request({ sha256: sha256(image(10)) }));
    assert.equal(t.last().error, "unsupported");
    assert.equal(t.http.requests.length, 0);
  });

  it("a platform that cannot install: downloads and verifies, then unsupported", () => {
    const { t, img } = started();
    t.update.installable = false;
    serveAll(t, img);
    assert.equal(t.answers[t.answers.length - 2].state, "verifying");
    assertFailed(t, "unsupported", /verified/);
  });

  it("after a failure, the next request runs", () => {
    const { t, img } = started();
    t.http.last.done("connection refused");
    t.updater.request(request({ sha256: sha256(img) }));
    serveAll(t, img);
    assert.equal(t.updater.state, "rebooting");
  });
});

describe("update: one at a time", () => {
  it("a second request while one downloads is refused busy; the first completes", () => {
    const t = setup();
    const img = image(12_000);
    t.updater.request(request({ sha256: sha256(img) }));
    t.http.last.headers(200, img.length).body(img.subarray(0, 4000));
    t.clock.advance(0);
    t.updater.request(request({ sha256: sha256(image(5)), version: "2.0.0" }));
    assert.deepEqual(t.last(), {
      state: "failed",
      version: "2.0.0",
      error: "busy",
      detail: "an update to 1.1.0 is downloading (30 %); try again later",
    });
    assert.equal(t.http.requests.length, 1, "no second download");
    const r = t.http.last;
    r.body(img.subarray(4000));
    t.clock.advance(0);
    r.done();
    assert.equal(t.updater.state, "rebooting");
    assert.ok(t.update.holds(img));
    assert.deepEqual(t.last(), { state: "rebooting", version: "1.1.0" });
  });

  it("busy also while rebooting", () => {
    const t = setup();
    const img = image(100);
    t.updater.request(request({ sha256: sha256(img) }));
    serveAll(t, img);
    t.updater.request(request({ sha256: sha256(img), version: "3.0.0" }));
    assert.equal(t.last().error, "busy");
  });

  it("a late callback of a cancelled request changes nothing", () => {
    const t = setup();
    const img = image(100);
    t.updater.request(request({ sha256: sha256(img) }));
    const first = t.http.last;
    first.headers(500);
    first.done("late");
    first.body(img);
    assert.equal(t.answers.filter((a) => a.state === "failed").length, 1);
    assert.equal(t.update.opened.length, 0);
  });
});

describe("update: after the restart", () => {
  it("a firmware on trial is confirmed when it reaches the broker, and reports done once", () => {
    const t = setup({ running: "1.1.0", trial: true, store: { [RECORD_KEY]: "1.1.0" } });
    assert.equal(t.updater.state, "trial");
    t.clock.advance(TRIAL_MS - 1);
    assert.equal(t.update.rollbacks, 0);
    t.updater.connected();
    assert.equal(t.update.confirms, 1);
    assert.deepEqual(t.answers, [{ state: "done", version: "1.1.0" }]);
    assert.equal(t.store.get(RECORD_KEY), "", "the record is cleared");
    t.clock.advance(TRIAL_MS);
    assert.equal(t.update.rollbacks, 0, "no rollback once confirmed");
    t.updater.connected();
    assert.equal(t.answers.length, 1, "reported once");
    assert.equal(t.update.confirms, 1);
  });

  it("a firmware on trial that does not reach the broker in 2 minutes returns to the previous one", () => {
    const t = setup({ running: "1.1.0", trial: true, store: { [RECORD_KEY]: "1.1.0" } });
    t.clock.advance(TRIAL_MS - 1);
    assert.equal(t.update.rollbacks, 0);
    t.clock.advance(1);
    assert.equal(t.update.rollbacks, 1);
    assert.equal(t.update.confirms, 0);
    assert.equal(t.answers.length, 0, "it cannot report: it never reached the broker");
  });

  it("a shorter window (tests) is honoured", () => {
    const t = setup({ trial: true, window: 5000 });
    t.clock.advance(5000);
    assert.equal(t.update.rollbacks, 1);
  });

  it("the previous firmware, back after a rollback, reports rolled-back with its own version", () => {
    const t = setup({ running: RUNNING, store: { [RECORD_KEY]: "1.1.0" } });
    t.updater.connected();
    assert.deepEqual(t.answers, [{ state: "rolled-back", version: RUNNING }]);
    assert.equal(t.store.get(RECORD_KEY), "");
    t.updater.connected();
    assert.equal(t.answers.length, 1);
  });

  it("a confirmed firmware whose report was lost (power cut) still reports done", () => {
    const t = setup({ running: "1.1.0", store: { [RECORD_KEY]: "1.1.0" } });
    t.updater.connected();
    assert.deepEqual(t.answers, [{ state: "done", version: "1.1.0" }]);
  });

  it("no record, no trial: nothing to report", () => {
    const t = setup();
    t.updater.connected();
    assert.equal(t.answers.length, 0);
  });

  it("a request during the trial is refused busy", () => {
    const t = setup({ running: "1.1.0", trial: true });
    t.updater.request(request({ sha256: sha256(image(5)), version: "1.2.0" }));
    assert.equal(t.last().error, "busy");
    assert.match(t.last().detail!, /on trial/);
  });
});

describe("update: pushed images (the web page's POST /update)", () => {
  it("begin, write in chunks, end: the same checks, answers and restart", () => {
    const t = setup();
    const img = image(10_000);
    assert.deepEqual(t.updater.begin({ version: "1.1.0", sha256: sha256(img), byteLength: img.length }), {
      state: "downloading",
      version: "1.1.0",
      progress: 0,
    });
    for (let at = 0; at < img.length; at += 1024) assert.equal(t.updater.write(img.subarray(at, at + 1024)), undefined);
    assert.deepEqual(t.updater.end(), { state: "rebooting", version: "1.1.0" });
    assert.ok(t.update.holds(img));
    t.clock.advance(REBOOT_DELAY_MS);
    assert.equal(t.restarts, 1);
    assert.equal(t.answers.filter((a) => a.state === "downloading").length, 11);
  });

  it("refuses busy, a bad digest, a bad version, and an image too large before writing anything", () => {
    const t = setup({ capacity: 5000 });
    assert.equal(t.updater.begin({ sha256: "abc" }).error, "bad-request");
    assert.equal(t.updater.begin({ version: "a b" }).error, "bad-request");
    assert.equal(t.updater.begin({ byteLength: 5001 }).error, "too-large");
    assert.equal(t.updater.begin({ byteLength: -1 }).error, "bad-request");
    assert.equal(t.updater.begin({ byteLength: 1.5 }).error, "bad-request");
    assert.equal(t.update.opened.length, 0);
    assert.equal(t.updater.begin({ version: "1.1.0" }).state, "downloading");
    assert.equal(t.updater.begin({ version: "1.2.0" }).error, "busy");
    t.updater.request(request({ sha256: sha256(image(3)) }));
    assert.equal(t.last().error, "busy", "an ota/set meanwhile is busy too");
  });

  it("the running version: done, nothing written", () => {
    const t = setup();
    assert.deepEqual(t.updater.begin({ version: RUNNING }), { state: "done", version: RUNNING });
    assert.equal(t.update.opened.length, 0);
  });

  it("without a digest or a version: the platform's check decides, and names the version", () => {
    const t = setup();
    t.update.imageVersion = "1.5.0";
    assert.equal(t.updater.begin({}).state, "downloading");
    t.updater.write(image(500));
    assert.deepEqual(t.updater.end(), { state: "rebooting", version: "1.5.0" });
    assert.equal(t.store.get(RECORD_KEY), "1.5.0");
  });

  it("a wrong digest, a short upload, an abort: failed, nothing switched", () => {
    const img = image(2000);
    const t = setup();
    t.updater.begin({ sha256: sha256(image(2000, 9)) });
    t.updater.write(img);
    assert.equal(t.updater.end().error, "digest-mismatch");
    t.updater.begin({ sha256: sha256(img), byteLength: 2000 });
    t.updater.write(img.subarray(0, 1000));
    assert.equal(t.updater.end().error, "truncated");
    t.updater.begin({ byteLength: 2000 });
    t.updater.write(img.subarray(0, 1000));
    t.updater.abort("connection closed");
    assert.equal(t.last().error, "truncated");
    assert.equal(t.update.completed, 0);
    assert.equal(t.updater.write(img)?.error, "bad-request", "no push in progress");
    assert.equal(t.updater.end().error, "bad-request");
  });

  it("a push that stalls times out", () => {
    const t = setup();
    t.updater.begin({});
    t.updater.write(image(10));
    t.clock.advance(STALL_MS + 5000);
    assert.equal(t.last().error, "timeout");
  });
});

describe("update: addresses", () => {
  it("parses http and https URLs with default ports, IPv6 hosts, paths and queries", () => {
    assert.deepEqual(parseUrl("http://10.0.0.2/fw.bin"), { tls: false, host: "10.0.0.2", port: 80, path: "/fw.bin" });
    assert.deepEqual(parseUrl("https://example.com"), { tls: true, host: "example.com", port: 443, path: "/" });
    assert.deepEqual(parseUrl("http://[::1]:8080/a/b?c=d#frag"), {
      tls: false,
      host: "::1",
      port: 8080,
      path: "/a/b?c=d",
    });
    for (const bad of [
      "",
      "example.com/fw.bin",
      "mqtt://x/y",
      "http://user@host/x",
      "http://host:0/x",
      "http://ho st/x",
      "http://host/a b",
    ])
      assert.equal(parseUrl(bad), undefined, bad);
  });

  it("resolves redirects relative to the server", () => {
    const base = parseUrl("https://a.example:8443/x/y")!;
    assert.deepEqual(resolveLocation(base, "/z"), { tls: true, host: "a.example", port: 8443, path: "/z" });
    assert.deepEqual(resolveLocation(base, "http://b.example/w"), {
      tls: false,
      host: "b.example",
      port: 80,
      path: "/w",
    });
    assert.equal(resolveLocation(base, "//b.example/w"), undefined);
  });
});

describe("update: through the app over MQTT", () => {
  const ID = "esp32-01";
  const BASE = `devices/${ID}`;

  function appSetup(layer: Record<string, unknown> = {}, version?: string) {
    const clock = new FakeClock(0);
    const net = new FakeNetwork();
    const led = new RecordingPin();
    const http = new FakeHttp();
    const update = new RamUpdate();
    let restarts = 0;
    const app = new App(
      buildConfig(layer).config,
      {
        clock,
        socket: net.factory,
        led,
        sensor: new FakeSensor(),
        store: new MapStore(),
        log: () => {},
        random: fixedRandom(0),
        update,
        http: http.client,
        restart: () => restarts++,
      },
      { id: ID, broker: { tls: false, host: "broker.local", port: 1883 }, version },
    );
    app.start();
    net.last.open();
    const seen = serve(net.last);
    let nextId = 1;
    return {
      app,
      clock,
      net,
      led,
      http,
      update,
      seen,
      get restarts() {
        return restarts;
      },
      send(topic: string, payload: string): WrittenPacket[] {
        net.last.receive(publishPacket(topic, payload, { qos: 1, id: nextId++ }));
        return serve(net.last).filter((p) => p.type === 3);
      },
      flush(): WrittenPacket[] {
        return serve(net.last).filter((p) => p.type === 3);
      },
    };
  }

  it("answers on <p>/<id>/ota at QoS 1, not retained; LED commands are obeyed in the middle of a download", () => {
    const t = appSetup();
    const img = image(12_000);
    let out = t.send(`${BASE}/ota/set`, request({ sha256: sha256(img) }));
    const first = out.filter((p) => p.topic === `${BASE}/ota`);
    assert.equal(first.length, 1);
    assert.equal(first[0].qos, 1);
    assert.equal(first[0].retain, false);
    assert.deepEqual(JSON.parse(payloadText(first[0])), { state: "downloading", version: "1.1.0", progress: 0 });
    const r = t.http.last;
    r.headers(200, img.length).body(img.subarray(0, 5000));
    t.clock.advance(0);
    out = t.send(`${BASE}/led/set`, "ON");
    assert.deepEqual(
      out.filter((p) => p.topic === `${BASE}/led`).map(payloadText),
      ["ON"],
      "the LED answers mid-download",
    );
    assert.equal(t.led.value, 1);
    assert.equal(t.app.updater.state, "downloading");
    r.body(img.subarray(5000));
    t.clock.advance(0);
    r.done();
    const answers = t
      .flush()
      .filter((p) => p.topic === `${BASE}/ota`)
      .map((p) => JSON.parse(payloadText(p)) as UpdateAnswer);
    assert.deepEqual(answers.slice(-2), [
      { state: "verifying", version: "1.1.0" },
      { state: "rebooting", version: "1.1.0" },
    ]);
    t.clock.advance(REBOOT_DELAY_MS);
    assert.equal(t.restarts, 1);
  });

  it("the running version (from the platform) is in diag and discovery's sw_version", () => {
    const t = appSetup({}, "2.3.4");
    const diag = t.seen.filter((p) => p.type === 3 && p.topic === `${BASE}/diag`);
    assert.equal(JSON.parse(payloadText(diag[0])).version, "2.3.4");
    const discovery = t.seen.filter((p) => p.type === 3 && p.topic!.startsWith("homeassistant/"));
    assert.equal(discovery.length, 3);
    for (const d of discovery) assert.equal(JSON.parse(payloadText(d)).device.sw_version, "2.3.4");
    const out = t.send(`${BASE}/ota/set`, request({ sha256: sha256(image(1)), version: "2.3.4" }));
    assert.deepEqual(out.filter((p) => p.topic === `${BASE}/ota`).map(payloadText), [
      '{"state":"done","version":"2.3.4"}',
    ]);
    assert.equal(t.http.requests.length, 0);
  });

  it("by default the running version is package.json's", () => {
    const t = appSetup();
    assert.equal(t.app.version, VERSION);
    assert.equal(
      JSON.parse(payloadText(t.seen.filter((p) => p.type === 3 && p.topic === `${BASE}/diag`)[0])).version,
      VERSION,
    );
  });

  it("garbage on ota/set is answered on ota, not as a bad LED command", () => {
    const t = appSetup();
    const out = t.send(`${BASE}/ota/set`, "flash it please");
    assert.deepEqual(
      out.map((p) => p.topic),
      [`${BASE}/ota`],
    );
    assert.equal(JSON.parse(payloadText(out[0])).error, "bad-request");
  });

  it("a retained ota/set is refused on ota", () => {
    const t = appSetup();
    t.net.last.receive(
      publishPacket(`${BASE}/ota/set`, request({ sha256: sha256(image(1)) }), { qos: 1, id: 99, retain: true }),
    );
    const out = t.flush().filter((p) => p.topic === `${BASE}/ota`);
    assert.equal(JSON.parse(payloadText(out[0])).error, "bad-request");
    assert.equal(t.http.requests.length, 0);
  });

  it("the losant profile has no update topics", () => {
    const t = appSetup({ profile: "losant", mqttUser: "k", mqttPassword: "s" });
    assert.equal(t.app.topics.otaSet, "");
    const subscribe = t.seen.find((p) => p.type === 8)!;
    assert.equal(JSON.stringify(subscribe).includes("ota"), false);
  });

  it("stopping the app cancels a download", () => {
    const t = appSetup();
    const img = image(10_000);
    t.send(`${BASE}/ota/set`, request({ sha256: sha256(img) }));
    t.http.last.headers(200, img.length).body(img.subarray(0, 100));
    t.app.stop();
    assert.equal(t.http.last.closed, true);
    assert.equal(t.update.isOpen, false);
    assert.equal(t.update.completed, 0);
  });
});
