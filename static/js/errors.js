// The API's error codes, for the tablets and the kitchen screens: from the one registry
// (restaurant/errors.py ErrorCode), rendered into every page of both as
// <script id="brigade-errors"> ({code: {status, meaning}}).
// Compare `error.code === E.bad_version`, never against a string literal:
// tests/restaurant/test_error_codes.py checks that every E.<name> is a registered code (or one
// of CLIENT_CODES below) and that no script compares an error code with a literal.

// Codes the client makes itself, for failures that never reached the API's error shape.
const CLIENT_CODES = ["network", "server_error", "error", "http_error", "poll"];

function registered() {
  const node = typeof document === "undefined" ? null : document.getElementById("brigade-errors");
  try {
    return node ? JSON.parse(node.textContent) : {};
  } catch {
    return {};
  }
}

/** The registry's table: {code: {status, meaning}}. */
export const ERROR_CODES = Object.freeze(registered());

/** Each code by its name: `E.locked === "locked"`; a name the page's table lacks is undefined. */
export const E = Object.freeze(
  Object.fromEntries([...Object.keys(ERROR_CODES), ...CLIENT_CODES].map((code) => [code, code])),
);
