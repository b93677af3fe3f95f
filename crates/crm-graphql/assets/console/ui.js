// Shared view pieces: htm bound to Preact, figures, tables, charts (Chart.js), and the
// loading/error states every page shows the same way.
import { t, e } from "./i18n.js";

export const h = window.preact.h;
export const render = window.preact.render;
export const { useState, useEffect, useRef } = window.preactHooks;
export const html = window.htm.bind(h);

// A decimal string of yuan as the API gives it ("146858.7266"), grouped, two decimals.
// Not through Number formatting of the locale, so the figure reads the same everywhere.
export function money(value) {
  if (value === null || value === undefined || value === "") {
    return "—";
  }
  const n = Number(value);
  if (!Number.isFinite(n)) {
    return String(value);
  }
  const negative = n < 0;
  const fixed = Math.abs(n).toFixed(2);
  const [whole, cents] = fixed.split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return (negative ? "-" : "") + grouped + "." + cents;
}

// An instant as the API gives it (RFC 3339), to the minute.
export function date(value) {
  if (!value) {
    return "—";
  }
  // Minutes, in the instant's own offset; "UTC" where the API gave UTC (the log's times).
  const text = String(value).replace("T", " ");
  const utc = /Z$/.test(text);
  return text.replace(/:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)$/, "") + (utc ? " UTC" : "");
}

// The date of an instant (its first ten characters, the day in the instant's own offset).
export function day(value) {
  return value ? String(value).slice(0, 10) : "—";
}

// A labelled figure. `test` names it for the browser test (data-test="figure-<test>");
// `raw` is the API's own value, kept in data-value beside the formatted text.
export function Figure({ label, value, raw, test }) {
  return html`<div class="figure" data-test=${"figure-" + test} data-value=${raw === undefined ? value : raw}>
    <div class="figure-label">${label}</div>
    <div class="figure-value">${value}</div>
  </div>`;
}

// A table from `columns` ([label, row => cell]) and `rows`; `test` names it.
export function Table({ columns, rows, test, empty }) {
  if (!rows || rows.length === 0) {
    return html`<p class="empty" data-test=${test + "-empty"}>${empty || t("none")}</p>`;
  }
  return html`<table data-test=${test}>
    <thead><tr>${columns.map(([label]) => html`<th>${label}</th>`)}</tr></thead>
    <tbody>${rows.map((row) => html`<tr>${columns.map(([, cell]) => html`<td>${cell(row)}</td>`)}</tr>`)}</tbody>
  </table>`;
}

const PALETTE = ["#1f6feb", "#d4a017", "#8250df", "#2da44e", "#cf222e", "#6e7781", "#bc4c00", "#0a7b83"];

// A Chart.js chart of `labels` and `values` (`type` doughnut or bar), redrawn when they change.
export function Chart({ type, labels, values, label, test }) {
  const canvas = useRef(null);
  useEffect(() => {
    if (!canvas.current) {
      return undefined;
    }
    const chart = new window.Chart(canvas.current, {
      type,
      data: {
        labels,
        datasets: [{ label, data: values, backgroundColor: labels.map((_, i) => PALETTE[i % PALETTE.length]) }],
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        plugins: { legend: { display: type !== "bar", position: "right" } },
      },
    });
    return () => chart.destroy();
  }, [type, JSON.stringify(labels), JSON.stringify(values)]);
  return html`<div class="chart" data-test=${"chart-" + test}><canvas ref=${canvas}></canvas></div>`;
}

// Customers by tier (a dashboard's `customersByTier`): a bar chart and the counts.
export function TierPanel({ tiers }) {
  return html`<div class="panel">
    <h3>${t("byTier")}</h3>
    <${Chart} type="bar" test="tiers" label=${t("customersCount")}
      labels=${tiers.map((c) => e(c.key))} values=${tiers.map((c) => c.count)} />
    <${Table} test="tiers" rows=${tiers} columns=${[
      [t("tier"), (c) => e(c.key)],
      [t("customersCount"), (c) => html`<span data-test=${"tier-" + c.key}>${c.count}</span>`],
    ]} />
  </div>`;
}

// A Chart.js chart of a series: `labels` (the periods) and one or more `datasets`
// ({ label, values }), each in its own colour; `type` line or bar. Redrawn when they change.
export function SeriesChart({ type, labels, datasets, test }) {
  const canvas = useRef(null);
  useEffect(() => {
    if (!canvas.current) {
      return undefined;
    }
    const chart = new window.Chart(canvas.current, {
      type,
      data: {
        labels,
        datasets: datasets.map((d, i) => ({
          label: d.label,
          data: d.values,
          borderColor: PALETTE[i % PALETTE.length],
          backgroundColor: PALETTE[i % PALETTE.length],
          pointRadius: 2,
          tension: 0.2,
        })),
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: { y: { beginAtZero: type === "bar" } },
        plugins: { legend: { display: datasets.length > 1, position: "top" } },
      },
    });
    return () => chart.destroy();
  }, [type, JSON.stringify(labels), JSON.stringify(datasets)]);
  return html`<div class="chart chart-series" data-test=${"chart-" + test}><canvas ref=${canvas}></canvas></div>`;
}

export function Loading() {
  return html`<p class="loading" data-test="loading">${t("loading")}</p>`;
}

// An API error as the user should read it: out of scope, forbidden, refused (a conflict or an
// invalid figure, with the API's reason), or the message. `act`: the error answers a mutation.
export function Failure({ error, act }) {
  const code = error && error.code;
  if (code === "NOT_FOUND") {
    return html`<p class="failure" data-test="not-found">${t("notFound")}</p>`;
  }
  if (code === "FORBIDDEN") {
    // The API's reason too, when it gives one (a four-eyes violation says who proposed).
    return html`<p class="failure" data-test="forbidden" data-code=${code}>${t(act ? "forbiddenAct" : "forbidden")}${error.message
      ? html`: <span data-test="api-message">${error.message}</span>` : ""}</p>`;
  }
  if (code === "CONFLICT" || code === "VALIDATION") {
    return html`<p class="failure" data-test="api-refused" data-code=${code}>${t("apiRefused")} (${code}): ${error.message}</p>`;
  }
  return html`<p class="failure" data-test="error">${t("error")}: ${code ? code + " " : ""}${error && error.message}</p>`;
}

// Runs `load` (a promise-returning function) whenever `deps` change: [data, error]. With
// `keep`, the last answer stays on screen while the next one loads (a refresh, not a new page).
export function useQuery(load, deps, keep) {
  const [state, setState] = useState({ data: null, error: null });
  useEffect(() => {
    let live = true;
    if (!keep) {
      setState({ data: null, error: null });
    }
    load().then(
      (data) => live && setState({ data, error: null }),
      (error) => live && setState({ data: null, error })
    );
    return () => {
      live = false;
    };
  }, deps);
  return [state.data, state.error];
}

// A rank change: ▲ up, ▼ down, 0, or — when there is nothing to compare with.
export function Change({ value }) {
  if (value === null || value === undefined) {
    return html`<span class="change">—</span>`;
  }
  const cls = value > 0 ? "up" : value < 0 ? "down" : "same";
  const text = value > 0 ? "▲" + value : value < 0 ? "▼" + -value : "0";
  return html`<span class=${"change " + cls} data-value=${value}>${text}</span>`;
}

export function Badge({ value }) {
  return html`<span class=${"badge badge-" + String(value).toLowerCase()}>${e(value)}</span>`;
}
