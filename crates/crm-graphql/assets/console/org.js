// The head-office and region dashboards (总部看板 / 区域看板) from `orgDashboard`: the
// figures of the caller's level (the company, or their region; headquarters may pick a
// region), customers by tier and status and assets by class as charts, the branches ranked
// with rank change (排名变化), satisfaction (客户满意度) and market share, and the monthly
// series (每月趋势) of customers, assets, net inflow, commission, new and lost customers over
// 6, 12 or 24 months. The month is picked (`?period=YYYY-MM`; none: the latest, the API's
// default): it drives the figures, the ranking, the live subscription and the series, which
// ends at it. The figures, mixes and ranking are live (`orgDashboardChanged`). The API
// decides what the token may read; a refusal (or a month it does not take) shows as such.
import { html, useQuery, Figure, Table, Chart, TierPanel, Change, Loading, Failure, money } from "./ui.js";
import { t, e } from "./i18n.js";
import { gql } from "./api.js";
import { useLive, LiveIndicator } from "./live.js";
import { MonthlySeries, periodArg } from "./series.js";

// Whose org dashboard the caller reads by default, from `me`: the company for a company-wide
// scope, their region for a region's; null for a branch or a book (the branch dashboard).
export function orgLevel(me) {
  const s = (me && me.scope) || {};
  if (s.kind === "COMPANY") {
    return { company: true };
  }
  if (s.kind === "REGION" && s.regionId) {
    return { regionId: s.regionId };
  }
  return null;
}

// Whether the API lets the caller read their level's org dashboard: the probe app.js runs
// once per sign-in (operators, for one, are company-wide but read no org dashboard).
export const ORG_READABLE = "query ($scope: OrgScopeInput!) { orgDashboard(scope: $scope) { scope } }";

const ORG_FIELDS = `scope regionId name
  figures { period branches customers assets netInflow deposits withdrawals turnover commission
    newCustomers churned upgraded downgraded contacts marketShareBp }
  customersByTier { key count } customersByStatus { key count } assetsByClass { key amount }
  ranking { rank previousRank rankChange branchId name customers assets netInflow commission
    marketShareBp satisfaction satisfactionResponses kpiComposite }`;

const ORG = `query ($scope: OrgScopeInput!, $period: BranchPeriodInput) {
  orgDashboard(scope: $scope, period: $period) { ${ORG_FIELDS} } }`;

const ORG_LIVE = `subscription ($scope: OrgScopeInput!, $period: BranchPeriodInput!) {
  orgDashboardChanged(scope: $scope, period: $period) { ${ORG_FIELDS} } }`;

const REGIONS = "{ regions { regionId name closed } }";

// The dashboard's address for a region (none: the company or the caller's own), a series
// length and a month (none: the latest); the defaults are left out.
function dashboardHash({ region, months, period }) {
  const q = new URLSearchParams();
  if (region) {
    q.set("region", region);
  }
  if (months !== 12) {
    q.set("months", String(months));
  }
  if (period) {
    q.set("period", period);
  }
  const s = q.toString();
  return "#/dashboard" + (s ? "?" + s : "");
}

// Basis points as a percent with two decimals; — where the API has none.
const share = (bp) => (bp === null || bp === undefined ? "—" : (bp / 100).toFixed(2) + "%");

function Satisfaction({ r }) {
  if (r.satisfaction === null || r.satisfaction === undefined) {
    return html`<span data-test="satisfaction" data-value="">—</span>`;
  }
  return html`<span data-test="satisfaction" data-value=${r.satisfaction}>${r.satisfaction.toFixed(2)}</span>
    <span class="hint"> (${r.satisfactionResponses})</span>`;
}

// The region picker headquarters gets: the company, or one of the open regions the API lists
// for the caller (`regions`).
function RegionPicker({ scope, months, period }) {
  const [data, error] = useQuery(async () => {
    const regions = (await gql(REGIONS)).regions.filter((r) => !r.closed);
    return regions.sort((a, b) => a.name.localeCompare(b.name, "zh-CN"));
  }, []);
  if (error || !data) {
    return null;
  }
  const value = scope.regionId || "";
  const go = (id) => {
    window.location.hash = dashboardHash({ region: id, months, period });
  };
  return html`<label class="inline">${t("orgScope")}
    <select data-test="org-scope" value=${value} onChange=${(ev) => go(ev.target.value)}>
      <option value="">${e("COMPANY")}</option>
      ${data.map((r) => html`<option value=${r.regionId}>${r.name}</option>`)}
    </select></label>`;
}

function OrgFigures({ f }) {
  return html`<div class="figures" data-test="org-figures">
    <${Figure} test="customers" label=${t("customersCount")} value=${f.customers} />
    <${Figure} test="assets" label=${t("assets")} value=${money(f.assets)} raw=${f.assets} />
    <${Figure} test="net-inflow" label=${t("netInflow")} value=${money(f.netInflow)} raw=${f.netInflow} />
    <${Figure} test="commission" label=${t("commission")} value=${money(f.commission)} raw=${f.commission} />
    <${Figure} test="turnover" label=${t("turnover")} value=${money(f.turnover)} raw=${f.turnover} />
    <${Figure} test="new-customers" label=${t("newCustomers")} value=${f.newCustomers} />
    <${Figure} test="churned" label=${t("churned")} value=${f.churned} />
    <${Figure} test="upgraded" label=${t("upgraded")} value=${f.upgraded} />
    <${Figure} test="downgraded" label=${t("downgraded")} value=${f.downgraded} />
    <${Figure} test="contacts" label=${t("contacts")} value=${f.contacts} />
    <${Figure} test="branches" label=${t("branchesCount")} value=${f.branches} />
    <${Figure} test="market-share" label=${t("marketShare")} value=${share(f.marketShareBp)}
      raw=${f.marketShareBp === null ? "" : f.marketShareBp} />
  </div>`;
}

function OrgRanking({ rows }) {
  return html`<${Table} test="org-ranking" rows=${rows} columns=${[
    [t("rank"), (r) => r.rank],
    [t("rankChange"), (r) => html`<${Change} value=${r.rankChange} />`],
    [t("previousRank"), (r) => (r.previousRank === null ? "—" : r.previousRank)],
    [t("branch"), (r) => html`<a href=${"#/dashboard?branch=" + r.branchId} data-test="org-branch-link"
      data-id=${r.branchId}>${r.name}</a>`],
    [t("customersCount"), (r) => r.customers],
    [t("assets"), (r) => html`<span class="num">${money(r.assets)}</span>`],
    [t("netInflow"), (r) => html`<span class="num">${money(r.netInflow)}</span>`],
    [t("commission"), (r) => html`<span class="num">${money(r.commission)}</span>`],
    [t("satisfaction"), (r) => html`<${Satisfaction} r=${r} />`],
    [t("marketShare"), (r) => html`<span data-test="market-share" data-value=${r.marketShareBp === null ? "" : r.marketShareBp}>${share(r.marketShareBp)}</span>`],
    [t("kpiComposite"), (r) => r.kpiComposite.toFixed(2)],
  ]} />`;
}

// The month picker (期间): the month shown, or the one asked for while it loads; 最新月份
// goes back to the API's default.
function PeriodPicker({ value, asked, onPeriod }) {
  return html`<label class="inline">${t("period")}
    <input type="month" data-test="org-period" value=${value} title=${t("chooseMonth")}
      onChange=${(ev) => ev.target.value && onPeriod(ev.target.value)} />
    ${asked && html`<button type="button" class="secondary" data-test="org-period-latest"
      onClick=${() => onPeriod(null)}>${t("latestMonth")}</button>`}
  </label>`;
}

// The org dashboard of `scope`: { company: true } or { regionId }. `picker`: headquarters may
// choose a region. `months`: the series' length. `period`: the month (YYYY-MM; null: the
// latest).
export function OrgDashboard({ scope, months, period, picker }) {
  const key = JSON.stringify(scope) + "/" + (period || "");
  const [data, error] = useQuery(() => gql(ORG, { scope, period: periodArg(period) }), [key]);
  // Live: the figures, mixes and ranking follow `orgDashboardChanged` for the period the
  // first answer is of (the month picked, or the latest then) after that answer.
  const first = data && data.orgDashboard;
  const live = useLive(ORG_LIVE, { scope }, key, "orgDashboardChanged", first ? first.figures.period : null);
  const region = picker ? scope.regionId : null;
  const onMonths = (n) => {
    window.location.hash = dashboardHash({ region, months: n, period });
  };
  const onPeriod = (p) => {
    window.location.hash = dashboardHash({ region, months, period: p });
  };
  const title = scope.company ? t("hqDashboard") : t("regionDashboard");
  const shownMonth = period || (first ? first.figures.period.slice(0, 7) : "");
  const toolbar = html`<div class="toolbar">
    <h1>${title}</h1>
    ${picker && html`<${RegionPicker} scope=${scope} months=${months} period=${period} />`}
    <${PeriodPicker} value=${shownMonth} asked=${Boolean(period)} onPeriod=${onPeriod} />
  </div>`;
  if (error) {
    return html`<div>${toolbar}<${Failure} error=${error} /></div>`;
  }
  if (!data) {
    return html`<div>${toolbar}<${Loading} /></div>`;
  }
  const d = live.d || first;
  if (!d) {
    return html`<div>${toolbar}<p class="empty" data-test="no-org-dashboard">${t("none")}</p></div>`;
  }
  const f = d.figures;
  return html`<div class="stack">
    ${toolbar}
    <section data-test="org-dashboard" data-scope=${d.scope} data-region=${d.regionId || ""} class="stack">
      <h2><span data-test="org-name">${d.scope === "COMPANY" ? e("COMPANY") : d.name}</span>
        <span class="hint"> ${t("period")}: <span data-test="period">${f.period}</span></span>
        <${LiveIndicator} live=${live} /></h2>
      <${OrgFigures} f=${f} />
      <div class="charts">
        <${TierPanel} tiers=${d.customersByTier} />
        <div class="panel">
          <h3>${t("byClass")}</h3>
          <${Chart} type="doughnut" test="classes" label=${t("assets")}
            labels=${d.assetsByClass.map((a) => e(a.key))} values=${d.assetsByClass.map((a) => Number(a.amount))} />
          <${Table} test="classes" rows=${d.assetsByClass} columns=${[
            [t("kind"), (a) => e(a.key)],
            [t("amount"), (a) => html`<span class="num" data-test=${"class-" + a.key} data-value=${a.amount}>${money(a.amount)}</span>`],
          ]} />
        </div>
        <div class="panel">
          <h3>${t("byStatus")}</h3>
          <${Chart} type="bar" test="statuses" label=${t("customersCount")}
            labels=${d.customersByStatus.map((c) => e(c.key))} values=${d.customersByStatus.map((c) => c.count)} />
          <${Table} test="statuses" rows=${d.customersByStatus} columns=${[
            [t("lifecycle"), (c) => e(c.key)],
            [t("customersCount"), (c) => html`<span data-test=${"status-" + c.key}>${c.count}</span>`],
          ]} />
        </div>
      </div>
      <${MonthlySeries} test="org-series" scope=${scope} period=${period} months=${months}
        onMonths=${onMonths} />
      <section class="panel">
        <h3>${t("ranking")} <span class="hint">${t("rankingOfScope")}</span></h3>
        <${OrgRanking} rows=${d.ranking} />
      </section>
    </section>
  </div>`;
}
