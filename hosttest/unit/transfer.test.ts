/**
 * The image's stream on its own (src/update/transfer.ts), with a stand-in
 * for the updater that records what it is told: bounds against the announced
 * length and the partition, progress steps, the digest check, reads in turns,
 * redirects, and letting go. The whole update is tested in ./update.test.ts.
 * Runs under node:test and in XS.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Sha256 } from "../../src/update/sha256";
import { CHUNK, PROGRESS_STEP, Transfer, TURN_BYTES } from "../../src/update/transfer";
import type { UpdateAnswer, Updater, UpdaterPorts } from "../../src/update/updater";
import { FakeClock } from "./fakes";
import { FakeHttp, image, RamUpdate } from "./update-fakes";

/** What the transfer may call of its updater. */
class StandIn {
  state = "downloading";
  target = "1.1.0";
  readonly failures: string[] = [];
  finished = 0;
  fail(code: string, detail: string): void {
    this.failures.push(`${code}: ${detail}`);
    this.state = "idle";
  }
  finish(): void {
    this.finished++;
  }
}

function setUp(options: { pushed?: boolean; length?: number; capacity?: number } = {}) {
  const clock = new FakeClock(1000);
  const update = new RamUpdate(options.capacity);
  const http = new FakeHttp();
  const reports: UpdateAnswer[] = [];
  const ports: UpdaterPorts = {
    clock,
    log: () => {},
    update,
    http: http.client,
    hash: new Sha256(),
    report: (answer) => reports.push(answer),
  };
  const updater = new StandIn();
  ports.hash.reset();
  const transfer = new Transfer(updater as unknown as Updater, ports, options.pushed ?? true, options.length);
  return { clock, update, http, reports, updater, transfer };
}

function digestOf(bytes: Uint8Array): Uint8Array {
  const h = new Sha256();
  h.reset();
  h.write(bytes);
  const out = new Uint8Array(32);
  h.digest(out);
  return out;
}

describe("transfer: into the partition", () => {
  it("writes each chunk, counts it and reports progress in whole steps", () => {
    const t = setUp({ length: 1000 });
    assert.ok(t.transfer.open());
    assert.deepEqual(t.update.opened, [{ byteLength: 1000, version: "1.1.0" }]);
    const data = image(1000);
    for (let at = 0; at < 1000; at += 50) assert.ok(t.transfer.consume(data.subarray(at, at + 50)));
    assert.ok(t.update.holds(data));
    assert.equal(t.transfer.received, 1000);
    assert.deepEqual(
      t.reports.map((r) => r.progress),
      [10, 20, 30, 40, 50, 60, 70, 80, 90, 100],
    );
    assert.equal(PROGRESS_STEP, 10);
    assert.equal(t.transfer.shortfall(), undefined);
    assert.deepEqual(t.updater.failures, []);
  });

  it("refuses bytes past the announced length, and past the partition", () => {
    const long = setUp({ length: 10 });
    long.transfer.open();
    assert.ok(long.transfer.consume(image(8)));
    assert.equal(long.transfer.consume(image(3)), false);
    assert.deepEqual(long.updater.failures, ["bad-image: more than the 10 bytes announced arrived"]);
    assert.equal(long.update.length, 8, "nothing of the refused chunk written");

    const big = setUp({ capacity: 16 });
    big.transfer.open();
    assert.ok(big.transfer.consume(image(16)));
    assert.equal(big.transfer.consume(image(1)), false);
    assert.deepEqual(big.updater.failures, [
      "too-large: the image (17 bytes) is larger than the spare partition (16 bytes)",
    ]);
  });

  it("a partition that cannot be opened or written fails the update", () => {
    const t = setUp();
    t.update.failAt = 4;
    t.transfer.open();
    assert.equal(t.transfer.consume(image(8)), false);
    assert.match(t.updater.failures[0], /^write-failed: writing the spare partition failed at byte 0/);
  });

  it("says what is short: fewer bytes than announced, or none", () => {
    const t = setUp({ length: 100 });
    t.transfer.open();
    assert.equal(t.transfer.shortfall(), "upload ended after 0 of 100 bytes");
    t.transfer.consume(image(40));
    assert.equal(t.transfer.shortfall(), "upload ended after 40 of 100 bytes");
    const none = setUp({ pushed: false });
    assert.equal(none.transfer.shortfall(), "the image is empty");
  });

  it("checks the digest only when one was given", () => {
    const data = image(300);
    const unchecked = setUp();
    unchecked.transfer.open();
    unchecked.transfer.consume(data);
    assert.equal(unchecked.transfer.mismatch(), undefined);

    const right = setUp();
    right.transfer.expect(digestOf(data));
    right.transfer.open();
    right.transfer.consume(data);
    assert.equal(right.transfer.mismatch(), undefined);

    const wrong = setUp();
    wrong.transfer.expect(new Uint8Array(32));
    wrong.transfer.open();
    wrong.transfer.consume(data);
    assert.equal(
      wrong.transfer.mismatch(),
      `the image's SHA-256 is ${wrong.transfer.digestHex()}, not the requested ${"0".repeat(64)}`,
    );
  });

  it("close() cancels an unfinished partition write", () => {
    const t = setUp();
    t.transfer.open();
    t.transfer.consume(image(10));
    t.transfer.close();
    assert.equal(t.update.closedBeforeComplete, 1);
    assert.equal(t.update.isOpen, false);
  });
});

describe("transfer: the download", () => {
  const at = { tls: false, host: "files.local", port: 80, path: "/fw.bin" };

  it("reads at most TURN_BYTES a turn, the rest on the next, then hands the end to the updater", () => {
    const t = setUp({ pushed: false });
    t.transfer.get(at);
    const data = image(TURN_BYTES + 3 * CHUNK);
    t.http.last.headers(200, data.length).body(data);
    assert.equal(t.transfer.received, TURN_BYTES);
    t.clock.advance(0);
    assert.equal(t.transfer.received, data.length);
    t.http.last.done();
    assert.equal(t.updater.finished, 1);
    assert.ok(t.update.holds(data));
    assert.equal(t.http.last.closed, true);
  });

  it("follows a redirect on the same server, closing the first request", () => {
    const t = setUp({ pushed: false });
    t.transfer.get(at);
    const first = t.http.last;
    first.headers(302, undefined, "/v2/fw.bin");
    assert.equal(first.closed, true);
    assert.equal(t.http.requests.length, 2);
    assert.equal(t.http.last.url, "http://files.local:80/v2/fw.bin");
    assert.equal(t.transfer.where(), "http://files.local:80/v2/fw.bin");
    first.done("late"); // a late callback of the first request is ignored
    assert.deepEqual(t.updater.failures, []);
  });

  it("gives up after 3 redirects, and on a status other than 200", () => {
    const t = setUp({ pushed: false });
    t.transfer.get(at);
    for (let i = 0; i < 4; i++) t.http.last.headers(301, undefined, `/hop${i}`);
    assert.deepEqual(t.updater.failures, [
      "http-error: more than 3 redirects, the last from http://files.local:80/hop2",
    ]);

    const missing = setUp({ pushed: false });
    missing.transfer.get(at);
    missing.http.last.headers(404);
    assert.deepEqual(missing.updater.failures, ["http-error: HTTP 404 from http://files.local:80/fw.bin"]);
  });

  it("an answer larger than the partition fails before any byte is written", () => {
    const t = setUp({ pushed: false, capacity: 100 });
    t.transfer.get(at);
    t.http.last.headers(200, 101);
    assert.deepEqual(t.updater.failures, [
      "too-large: the image (101 bytes) is larger than the spare partition (100 bytes)",
    ]);
    assert.deepEqual(t.update.opened, []);
  });

  it("an error before the answer is `unreachable`, after it `truncated`", () => {
    const before = setUp({ pushed: false });
    before.transfer.get(at);
    before.http.last.done("connection refused");
    assert.deepEqual(before.updater.failures, [
      "unreachable: cannot download from http://files.local:80/fw.bin (connection refused)",
    ]);
    const after = setUp({ pushed: false });
    after.transfer.get(at);
    after.http.last.headers(200, 100).body(image(40));
    after.http.last.done("reset");
    assert.deepEqual(after.updater.failures, [
      "truncated: download from http://files.local:80/fw.bin ended after 40 of 100 bytes (reset)",
    ]);
  });
});
