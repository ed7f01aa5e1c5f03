/**
 * `POST /update`: a firmware image posted as the request body
 * (`application/octet-stream`), optionally `?version=V&sha256=HEX`: the same
 * checks and the same answers as an `ota/set` request (`../update/updater`),
 * streamed into the spare partition as it arrives. The answer is the
 * update's JSON (`rebooting`, `done`, or `failed` with its code), with an
 * HTTP status to match; the device restarts a moment after `rebooting`.
 * `GET /update` (running version and update state) needs the same password,
 * so a page can have the browser ask for it before it uploads.
 */
import type { HttpExchange } from "../ports";
import type { UpdateAnswer, Updater } from "../update/updater";
import { parseFields } from "./form";
import { json, type WebServer } from "./server";

/** HTTP status for a failed update's code. */
const STATUS: Record<string, number> = {
  busy: 409,
  "bad-request": 400,
  "too-large": 413,
  unsupported: 501,
  "write-failed": 500,
};

export function updateStatus(answer: UpdateAnswer): number {
  if (answer.state !== "failed") return 200;
  return STATUS[answer.error ?? ""] ?? 422; // a damaged, short or mismatched image
}

export function addUpdateRoute(server: WebServer, updater: Updater): void {
  // Asks for the web password like the upload does, so a browser has it before sending megabytes.
  server.add({
    method: "GET",
    path: "/update",
    change: true,
    handle: () => json(200, { version: updater.running, state: updater.state }),
  });
  server.add({
    method: "POST",
    path: "/update",
    change: true,
    stream(request): HttpExchange {
      const query = parseFields(request.query, "application/x-www-form-urlencoded");
      const fields = "fields" in query ? query.fields : {};
      const text = (name: string) =>
        typeof fields[name] === "string" && fields[name] !== "" ? (fields[name] as string) : undefined;
      const length = request.header("content-length");
      const first: UpdateAnswer =
        "error" in query
          ? { state: "failed", version: "", error: "bad-request", detail: query.error }
          : updater.begin({
              version: text("version"),
              sha256: text("sha256"),
              byteLength: length === undefined ? undefined : Number(length),
            });
      // Once the update has its answer, the rest of the body is read and dropped, so the client sees it.
      let result: UpdateAnswer | undefined = first.state === "downloading" ? undefined : first;
      return {
        body(bytes) {
          if (!result) result = updater.write(bytes);
          return true;
        },
        end(respond) {
          result ??= updater.end();
          respond(json(updateStatus(result), result));
        },
        abort() {
          if (!result) updater.abort("the upload's connection closed");
        },
      };
    },
  });
}
