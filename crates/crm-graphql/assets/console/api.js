// The console's only door to the server: POST /graphql with the signed-in bearer token. The
// token lives in this tab's sessionStorage (gone when the tab closes), never in the URL.
const TOKEN_KEY = "crm.console.token";

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function signIn(value) {
  sessionStorage.setItem(TOKEN_KEY, value);
}

export function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
}

// An answer with errors: `code` is the API's extensions.code (NOT_FOUND, FORBIDDEN,
// UNAUTHENTICATED, …), or HTTP_<status> / NETWORK when there was no GraphQL answer.
export class ApiError extends Error {
  constructor(code, message, data) {
    super(message);
    this.code = code;
    this.data = data;
  }
}

// Runs `query` with `variables` under `bearer` (default: the signed-in token). Resolves to
// `data` when the answer has no errors; rejects with an ApiError naming the first error.
export async function gql(query, variables, bearer) {
  const headers = { "content-type": "application/json", accept: "application/json" };
  const use = bearer || token();
  if (use) {
    headers.authorization = "Bearer " + use;
  }
  let response;
  try {
    response = await fetch("/graphql", {
      method: "POST",
      headers,
      body: JSON.stringify({ query, variables: variables || {} }),
    });
  } catch (e) {
    throw new ApiError("NETWORK", String(e));
  }
  let body;
  try {
    body = await response.json();
  } catch (e) {
    throw new ApiError("HTTP_" + response.status, response.statusText || "no JSON answer");
  }
  if (body.errors && body.errors.length) {
    const first = body.errors[0];
    const code = (first.extensions && first.extensions.code) || "HTTP_" + response.status;
    throw new ApiError(code, first.message, body.data);
  }
  if (!response.ok) {
    throw new ApiError("HTTP_" + response.status, response.statusText);
  }
  return body.data;
}

// The demo's sign-ins, or [] when the server does not offer them (not started with --demo).
export async function demoSignIns() {
  try {
    const response = await fetch("/console/demo-sign-in", { headers: { accept: "application/json" } });
    if (!response.ok) {
      return [];
    }
    const list = await response.json();
    return Array.isArray(list) ? list : [];
  } catch (e) {
    return [];
  }
}
