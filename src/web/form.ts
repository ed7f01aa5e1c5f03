/**
 * Request bodies as the settings route takes them: an HTML form
 * (`application/x-www-form-urlencoded`) or a JSON object.
 */

export type Fields = { fields: Record<string, unknown> } | { error: string };

/**
 * Parses a form (`a=1&b=two+words`, percent-encoded UTF-8) or, when the
 * content type says JSON or the body starts with "{", a JSON object. A
 * repeated form field keeps its last value.
 */
export function parseFields(body: string, contentType: string | undefined): Fields {
  const trimmed = body.trim();
  const isJson =
    (contentType !== undefined && contentType.toLowerCase().indexOf("json") >= 0) || trimmed.charAt(0) === "{";
  if (isJson) {
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch {
      return { error: "body is not valid JSON: expected an object of settings" };
    }
    if (value === null || typeof value !== "object" || Array.isArray(value))
      return { error: "expected a JSON object of settings" };
    return { fields: value as Record<string, unknown> };
  }
  const fields: Record<string, unknown> = {};
  if (trimmed === "") return { fields };
  for (const pair of trimmed.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const name = decodeField(eq < 0 ? pair : pair.slice(0, eq));
    const value = decodeField(eq < 0 ? "" : pair.slice(eq + 1));
    if (name === undefined || value === undefined)
      return { error: `bad percent-encoding in form field ${JSON.stringify(pair.slice(0, 40))}` };
    if (name === "") continue;
    fields[name] = value;
  }
  return { fields };
}

function decodeField(text: string): string | undefined {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    return undefined;
  }
}
