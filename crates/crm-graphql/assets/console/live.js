// Live updates: a small client of graphql-transport-ws (PROTOCOL.md of the graphql-ws
// project) for the subscriptions at /graphql/ws. One socket per subscription:
// connection_init with the signed-in token, then one `subscribe`; each `next` is an answer,
// `error` ends it, `ping` is answered with `pong`. A socket that drops (the server
// restarting, the network) is opened again after 1, 2, 4 … 30 s; one the server closes for
// the token (4401, 4403) is not.
import { token, ApiError } from "./api.js";
import { html, useState, useEffect } from "./ui.js";
import { t } from "./i18n.js";

export const PROTOCOL = "graphql-transport-ws";

// Close codes after which trying again cannot help: the token is refused or expired.
const FINAL = [4401, 4403];

const MAX_BACKOFF_MS = 30000;

function socketUrl() {
  const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
  return scheme + window.location.host + "/graphql/ws";
}

function apiError(errors) {
  const first = (Array.isArray(errors) && errors[0]) || {};
  const code = (first.extensions && first.extensions.code) || "SUBSCRIPTION";
  return new ApiError(code, first.message || "the subscription failed");
}

// Subscribes to `query` with `variables` under the signed-in token. `onData(data)` gets each
// answer, `onError(ApiError)` an answer with errors (the subscription then ends), and
// `onState(state)` the connection's state: "connecting", "live", "reconnecting" or "off".
// Returns the function that ends the subscription and closes the socket.
export function subscribe(query, variables, { onData, onError, onState }) {
  let socket = null;
  let stopped = false;
  let attempt = 0;
  let timer = null;
  const send = (message) => socket && socket.readyState === WebSocket.OPEN && socket.send(JSON.stringify(message));
  const stop = (state) => {
    stopped = true;
    clearTimeout(timer);
    if (state) {
      onState(state);
    }
    if (socket && socket.readyState <= WebSocket.OPEN) {
      send({ id: "1", type: "complete" });
      socket.close(1000, "done");
    }
  };
  const onMessage = (event) => {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch (e) {
      return;
    }
    if (message.type === "connection_ack") {
      attempt = 0;
      onState("live");
      send({ id: "1", type: "subscribe", payload: { query, variables: variables || {} } });
    } else if (message.type === "next" && message.id === "1") {
      const payload = message.payload || {};
      if (payload.errors && payload.errors.length) {
        onError(apiError(payload.errors));
        stop("off");
      } else {
        onData(payload.data);
      }
    } else if (message.type === "error" && message.id === "1") {
      onError(apiError(message.payload));
      stop("off");
    } else if (message.type === "complete" && message.id === "1") {
      stop("off");
    } else if (message.type === "ping") {
      send({ type: "pong" });
    }
  };
  const open = () => {
    if (stopped) {
      return;
    }
    onState(attempt === 0 ? "connecting" : "reconnecting");
    socket = new WebSocket(socketUrl(), PROTOCOL);
    socket.onopen = () => send({ type: "connection_init", payload: { authorization: "Bearer " + token() } });
    socket.onmessage = onMessage;
    socket.onclose = (event) => {
      if (stopped) {
        return;
      }
      if (FINAL.includes(event.code)) {
        onError(new ApiError("UNAUTHENTICATED", event.reason || "the token was refused"));
        stop("off");
        return;
      }
      onState("reconnecting");
      const wait = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** attempt);
      attempt += 1;
      timer = setTimeout(open, wait);
    };
  };
  open();
  // Ended by the page (it leaves, or asks for something else): no state to report.
  return () => stop(null);
}

// A dashboard's period as the subscriptions take it: a day (YYYY-MM-DD) or a month (YYYY-MM).
export const periodInput = (period) => (period.length > 7 ? { day: period } : { month: period });

// What `query` (with `variables`) sends, as { d, state, updates, error }: d is the answer's
// `field` (null until the first answer), state as `subscribe` reports it. `key` names what is
// followed (a new key starts a new subscription); a null `period` follows nothing yet.
export function useLive(query, variables, key, field, period) {
  const [live, setLive] = useState({ key: null, d: null, state: "connecting", updates: 0, error: null });
  useEffect(() => {
    if (!period) {
      return undefined;
    }
    setLive({ key, d: null, state: "connecting", updates: 0, error: null });
    return subscribe(query, { ...variables, period: periodInput(period) }, {
      onData: (data) => setLive((s) => ({ ...s, d: data[field], updates: s.updates + 1 })),
      onState: (state) => setLive((s) => ({ ...s, state })),
      onError: (error) => setLive((s) => ({ ...s, error })),
    });
  }, [key, period]);
  return live.key === key ? live : { d: null, state: "connecting", updates: 0, error: null };
}

// The "live" mark beside a followed dashboard's title.
export function LiveIndicator({ live }) {
  const title = live.error ? live.error.code + " " + live.error.message : "";
  return html`<span class=${"live live-" + live.state} data-test="live" data-state=${live.state}
    data-updates=${live.updates} title=${title}>● ${t("live_" + live.state)}</span>`;
}
