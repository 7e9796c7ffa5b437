/**
 * JSON error bodies: `{ "error": { "code", "message" } }`, never a stack.
 *
 * @module
 */

/** The body of every error response. */
export interface ApiErrorBody {
  error: { code: string; message: string };
}

/** Pretty JSON, with a final newline so that curl output ends cleanly. */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, null, 2) + "\n";
}

/** A JSON response with the given status. */
export function jsonResponse(
  value: unknown,
  status = 200,
  headers: Record<string, string> = {},
): Response {
  return new Response(jsonText(value), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });
}

/** An error response. */
export function errorResponse(
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): Response {
  const body: ApiErrorBody = { error: { code, message } };
  return jsonResponse(body, status, headers);
}
