/**
 * LED command parsing (src/app/command.ts): every accepted format, garbage,
 * and the Losant command form.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MAX_COMMAND, type Parsed, parseLedCommand, parseLosantCommand } from "../../src/app/command";

function command(p: Parsed): string {
  return "command" in p ? p.command : `error: ${p.error}`;
}

describe("parseLedCommand: accepted", () => {
  const cases: [string, string][] = [
    ["ON", "ON"],
    ["OFF", "OFF"],
    ["TOGGLE", "TOGGLE"],
    ["on", "ON"],
    ["oN", "ON"],
    ["off", "OFF"],
    ["Off", "OFF"],
    ["toggle", "TOGGLE"],
    ["ToGgLe", "TOGGLE"],
    ["1", "ON"],
    ["0", "OFF"],
    ["true", "ON"],
    ["false", "OFF"],
    ["True", "ON"],
    ["FALSE", "OFF"],
    [" ON", "ON"],
    ["OFF ", "OFF"],
    ["\n\ttoggle\r\n", "TOGGLE"],
    ['{"state":"ON"}', "ON"],
    ['{"state":"OFF"}', "OFF"],
    ['{"state":"TOGGLE"}', "TOGGLE"],
    ['{"state":"on"}', "ON"],
    ['{"state":"Off"}', "OFF"],
    ['{"state":"toggle"}', "TOGGLE"],
    ['{"State":"ON"}', "ON"],
    ['{"STATE":"off"}', "OFF"],
    ['{"state":" on "}', "ON"],
    ['  {\n  "state" : "ON"\n}  ', "ON"],
    ['{"state":"ON","brightness":255}', "ON"],
  ];
  for (const [text, expected] of cases) {
    it(`${JSON.stringify(text)} → ${expected}`, () => {
      assert.equal(command(parseLedCommand(text)), expected);
    });
  }
});

describe("parseLedCommand: garbage", () => {
  const cases = [
    "",
    " ",
    "\n",
    "blink",
    "onn",
    "o n",
    "ON OFF",
    "2",
    "-1",
    "01",
    "1.0",
    "yes",
    "no",
    "null",
    '"ON"',
    '["ON"]',
    "{",
    "{}",
    "{state:ON}",
    '{"state":"blink"}',
    '{"state":""}',
    '{"state":1}',
    '{"state":true}',
    '{"state":null}',
    '{"state":["ON"]}',
    '{"state":{"value":"ON"}}',
    '{"led":"ON"}',
    '{"state":"ON"}}',
    '{"state":"ON"} trailing',
    "ON\u0000",
    "O".repeat(MAX_COMMAND + 1),
    `{"state":"ON","pad":"${"x".repeat(MAX_COMMAND)}"}`,
  ];
  for (const text of cases) {
    const name = JSON.stringify(text.length > 30 ? `${text.slice(0, 30)}…` : text);
    it(`${name} is refused with a message`, () => {
      const parsed = parseLedCommand(text);
      assert.ok("error" in parsed, `accepted as ${command(parsed)}`);
      assert.equal(typeof parsed.error, "string");
      assert.ok(parsed.error.length > 0);
    });
  }

  it("error messages say what is expected and quote the input, shortened", () => {
    const unknown = parseLedCommand("blink") as { error: string };
    assert.match(unknown.error, /blink/);
    assert.match(unknown.error, /ON, OFF, TOGGLE/);
    const badState = parseLedCommand('{"state":"dim"}') as { error: string };
    assert.match(badState.error, /dim/);
    const long = parseLedCommand("Z".repeat(200)) as { error: string };
    assert.ok(long.error.length < 150, long.error);
    assert.match((parseLedCommand("") as { error: string }).error, /empty/);
    assert.match((parseLedCommand("O".repeat(MAX_COMMAND + 1)) as { error: string }).error, /too long/);
  });

  it("a command of exactly MAX_COMMAND characters is still looked at", () => {
    const padded = `ON${" ".repeat(MAX_COMMAND - 2)}`;
    assert.equal(command(parseLedCommand(padded)), "ON");
  });
});

describe("parseLosantCommand", () => {
  const accepted: [string, string][] = [
    ['{"name":"led","payload":{"state":"ON"}}', "ON"],
    ['{"name":"led","payload":{"state":"OFF"}}', "OFF"],
    ['{"name":"led","payload":{"state":"toggle"}}', "TOGGLE"],
    ['{"name":"led","payload":{"state":" on "}}', "ON"],
    ['{"name":"LED","payload":{"state":"off"}}', "OFF"],
    ['{"name":"toggle"}', "TOGGLE"],
    ['{"name":"Toggle","payload":null}', "TOGGLE"],
    ['{"name":" toggle ","time":{"$date":"2024-01-01T00:00:00Z"}}', "TOGGLE"],
    ['  {"name":"led","payload":{"state":"ON"}}\n', "ON"],
  ];
  for (const [text, expected] of accepted) {
    it(`${text.trim()} → ${expected}`, () => {
      assert.equal(command(parseLosantCommand(text)), expected);
    });
  }

  const refused = [
    "ON",
    "toggle",
    "",
    "{}",
    "[]",
    "null",
    '{"name":1}',
    '{"name":"blink"}',
    '{"name":"led"}',
    '{"name":"led","payload":"ON"}',
    '{"name":"led","payload":{}}',
    '{"name":"led","payload":{"state":"dim"}}',
    '{"name":"led","payload":{"state":1}}',
    '{"state":"ON"}',
    '{"name":"toggle"',
    `{"name":"toggle","pad":"${"x".repeat(MAX_COMMAND)}"}`,
  ];
  for (const text of refused) {
    const name = JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
    it(`${name} is refused with a message`, () => {
      const parsed = parseLosantCommand(text);
      assert.ok("error" in parsed, `accepted as ${command(parsed)}`);
      assert.ok(parsed.error.length > 0);
    });
  }

  it("error messages name what is expected", () => {
    assert.match((parseLosantCommand('{"name":"blink"}') as { error: string }).error, /led or toggle/);
    assert.match(
      (parseLosantCommand('{"name":"led","payload":{"state":"dim"}}') as { error: string }).error,
      /ON.*OFF.*TOGGLE/,
    );
    assert.match((parseLosantCommand("ON") as { error: string }).error, /name/);
  });
});
