/**
 * The checks of preloaded modules that replaced regular expressions (a RegExp
 * made while preloading breaks the Moddable SDK's XS heap when a garbage
 * collection comes during its exec(): see src/mqtt/topic.ts) give the
 * answers the regular expressions gave, on strings made of the characters
 * that matter. Runs under node:test and in XS.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkTopicFilter, checkTopicName } from "../../src/mqtt/topic";
import { checkVersion, type Location, parseUrl } from "../../src/update/request";
import { utf8Length } from "../../src/utf8";

/** The expressions replaced, made here at run time. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const BAD_HASH = /[^/]#|#[\s\S]/;
const BAD_PLUS = /[^/]\+|\+[^/]/;
const URL = /^(https?):\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.\-_]+)(?::(\d{1,5}))?(\/[^\s#]*)?(?:#\S*)?$/;
const VERSION_TEXT = /^[\x21-\x7e]+$/;

function topicString(s: string, what: string): string | null {
  if (s.length === 0) return `empty ${what}`;
  if (s.length > 0xffff || (s.length > 0x5555 && utf8Length(s) > 0xffff)) return `${what} longer than 65535 bytes`;
  if (s.indexOf("\u0000") >= 0) return `U+0000 in ${what}`;
  if (LONE_SURROGATE.test(s)) return `lone surrogate in ${what}`;
  return null;
}

function topicName(topic: string): string | null {
  return (
    topicString(topic, "topic") ?? (topic.indexOf("+") >= 0 || topic.indexOf("#") >= 0 ? "wildcard in topic" : null)
  );
}

function topicFilter(filter: string): string | null {
  const fault = topicString(filter, "topic filter");
  if (fault) return fault;
  if (BAD_HASH.test(filter)) return "'#' must be last and occupy a whole level";
  if (BAD_PLUS.test(filter)) return "'+' must occupy a whole level";
  return null;
}

function url(text: string): Location | undefined {
  if (text.length > 512) return undefined;
  const m = URL.exec(text);
  if (!m) return undefined;
  const tls = m[1] === "https";
  const port = m[3] ? Number(m[3]) : tls ? 443 : 80;
  if (port < 1 || port > 65535) return undefined;
  let host = m[2];
  if (host.charAt(0) === "[") host = host.slice(1, -1);
  return { tls, host, port, path: m[4] || "/" };
}

/** Deterministic strings of 0 to `max` pieces from `pieces`. */
function strings(seed: number, count: number, max: number, pieces: string[]): string[] {
  let x = seed;
  const next = (n: number) => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return (x >>> 8) % n;
  };
  const out: string[] = [];
  for (let k = 0; k < count; k++) {
    let s = "";
    for (let i = next(max + 1); i > 0; i--) s += pieces[next(pieces.length)];
    out.push(s);
  }
  return out;
}

describe("checks without regular expressions", () => {
  it("topic names and filters: the same faults as the expressions", () => {
    const pieces = ["a", "/", "/", "+", "#", "\ud83d", "\ude00", "\ud83d\ude00", "\u0000", "é", " "];
    for (const s of strings(1, 3000, 6, pieces)) {
      assert.equal(checkTopicName(s), topicName(s), JSON.stringify(s));
      assert.equal(checkTopicFilter(s), topicFilter(s), JSON.stringify(s));
    }
  });

  it("versions: printable ASCII without space, as the expression", () => {
    for (const s of strings(2, 1000, 4, ["1", ".", "~", "!", " ", "\u007f", "\u0020", "é", "\u0000", "\t"])) {
      assert.equal(checkVersion(s) === undefined, s.length <= 32 && VERSION_TEXT.test(s), JSON.stringify(s));
    }
  });

  it("URLs: the same location, or none, as the expression", () => {
    const texts: string[] = [];
    for (const scheme of ["http://", "https://", "HTTP://"])
      for (const host of ["a.b", "10.0.0.2", "h_-.9", "[::1]", "[fe80::a.b]", "[]", "[::1", "é", ""])
        for (const port of ["", ":", ":0", ":80", ":00443", ":65536", ":123456", ":8a"])
          for (const path of ["", "/", "/fw.bin?v=1", "/a b", "/\u00a0", "x"])
            for (const fragment of ["", "#", "#x#y", "# x"]) texts.push(scheme + host + port + path + fragment);
    const pieces = ["a", ".", "[", "]", ":", "8", "/", "?", "#", " ", "\t", "\u2028", "@", "é"];
    for (const tail of strings(3, 1000, 6, pieces)) texts.push(`http://${tail}`);
    texts.push(`http://h/${"a".repeat(505)}`, `http://h/${"a".repeat(506)}`);
    for (const text of texts) assert.deepEqual(parseUrl(text), url(text), JSON.stringify(text));
  });
});
