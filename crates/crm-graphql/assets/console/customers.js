// Customers: search by the customer list's `text` filter (part of the name, the name in
// pinyin, or the start of the customer id) within the caller's scope, largest assets first.
import { html, useState, useQuery, Table, Loading, Failure, Badge, money } from "./ui.js";
import { t, e } from "./i18n.js";
import { gql } from "./api.js";

const PAGE = 50;

const LIST = `query ($filter: CustomerFilterInput, $first: Int, $after: String) {
  customers(filter: $filter, orderBy: ASSETS_DESC, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { customerId name kind tier assets riskPreference churnRisk lifecycle
      branch { name } manager { name } } } } }`;

function load(text, after) {
  const filter = text ? { text } : {};
  return gql(LIST, { filter, first: PAGE, after: after || null });
}

function Results({ text }) {
  const [more, setMore] = useState({ rows: [], cursor: null, loading: false, error: null });
  const [data, error] = useQuery(() => {
    setMore({ rows: [], cursor: null, loading: false, error: null });
    return load(text, null);
  }, [text]);
  if (error) {
    return html`<${Failure} error=${error} />`;
  }
  if (!data) {
    return html`<${Loading} />`;
  }
  const c = data.customers;
  const rows = c.edges.map((edge) => edge.node).concat(more.rows);
  const cursor = more.cursor || c.pageInfo.endCursor;
  const hasNext = more.cursor ? more.hasNext : c.pageInfo.hasNextPage;
  const next = () => {
    setMore({ ...more, loading: true });
    load(text, cursor).then(
      (d) =>
        setMore({
          rows: more.rows.concat(d.customers.edges.map((edge) => edge.node)),
          cursor: d.customers.pageInfo.endCursor,
          hasNext: d.customers.pageInfo.hasNextPage,
          loading: false,
          error: null,
        }),
      (err) => setMore({ ...more, loading: false, error: err })
    );
  };
  return html`<div>
    <p class="hint">${t("found")}: <span data-test="total">${c.totalCount}</span></p>
    <${Table} test="customers" rows=${rows} columns=${[
      [t("name"), (r) => html`<a href=${"#/customer/" + r.customerId} data-test="customer-link"
        data-id=${r.customerId}>${r.name}</a>`],
      [t("kind"), (r) => e(r.kind)],
      [t("tier"), (r) => html`<${Badge} value=${r.tier} />`],
      [t("assets"), (r) => html`<span class="num">${money(r.assets)}</span>`],
      [t("branch"), (r) => (r.branch && r.branch.name) || "—"],
      [t("manager"), (r) => (r.manager && r.manager.name) || "—"],
      [t("riskPreference"), (r) => e(r.riskPreference)],
      [t("churnRisk"), (r) => html`<${Badge} value=${r.churnRisk} />`],
      [t("lifecycle"), (r) => e(r.lifecycle)],
    ]} />
    ${more.error && html`<${Failure} error=${more.error} />`}
    ${hasNext && html`<button data-test="more" disabled=${more.loading} onClick=${next}>${t("more")}</button>`}
  </div>`;
}

export function Customers({ params }) {
  const text = params.get("q") || "";
  const [typed, setTyped] = useState(text);
  const submit = (ev) => {
    ev.preventDefault();
    const q = typed.trim();
    window.location.hash = "#/customers" + (q ? "?q=" + encodeURIComponent(q) : "");
  };
  return html`<div>
    <div class="toolbar">
      <h1>${t("customers")}</h1>
      <form class="search" onSubmit=${submit}>
        <input data-test="search" type="search" placeholder=${t("searchHint")} value=${typed}
          onInput=${(ev) => setTyped(ev.target.value)} />
        <button type="submit" data-test="search-go">${t("search")}</button>
      </form>
    </div>
    <${Results} text=${text} />
  </div>`;
}
