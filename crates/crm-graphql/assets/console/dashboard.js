// The dashboard page. For a caller whose level is the head office or a region (and whom the
// API lets read it: `me.org`), the org dashboard of that level (org.js); headquarters picks a
// region with `?region=ID`; the month is `?period=YYYY-MM`. Otherwise, and for `?branch=ID`,
// the branch dashboard (营业部看板): the branches the caller may see (their own for a
// branch; a choice for a region or headquarters), the branch's figures, customers by tier and
// assets by class as charts, the monthly series (每月趋势) of its customers, assets, net inflow,
// commission, new and lost customers over 6, 12 or 24 months (`?months=N`; the org pages'
// series, of the branch's scope: its own figures month by month), and the branch ranking with
// rank change.
// The figures are live: after the first answer the page subscribes to
// `branchDashboardChanged` for the same branch and period and shows each new answer, with a
// small indicator of the connection.
import { html, useQuery, Figure, Table, Chart, TierPanel, Change, Loading, Failure, money } from "./ui.js";
import { t, e } from "./i18n.js";
import { gql } from "./api.js";
import { useLive, LiveIndicator } from "./live.js";
import { OrgDashboard } from "./org.js";
import { MonthlySeries, seriesMonths } from "./series.js";

const BRANCHES = "{ branches { branchId name regionId closed } }";

const FIELDS = `branchId name period customers assets netInflow commission turnover newCustomers
  churned upgraded contacts marketShareBp rankAmongBranches branchesRanked
  customersByTier { key count } assetsByClass { key amount } topManagers { name kpiComposite }`;

const DASHBOARD = `query ($branchId: ID!) { branchDashboard(branchId: $branchId) { ${FIELDS} } }`;

const LIVE = `subscription ($branchId: ID!, $period: BranchPeriodInput!) {
  branchDashboardChanged(branchId: $branchId, period: $period) { ${FIELDS} } }`;

const RANKING = `{ branchRanking { rank previousRank rankChange branchId name customers assets
  kpiComposite } }`;

const plain = (id) => String(id || "").replace(/-/g, "").toLowerCase();

function chosenBranch(me, branches) {
  const asked = new URLSearchParams(window.location.hash.split("?")[1] || "").get("branch");
  const own = plain(me.scope && me.scope.branchId);
  const open = branches.filter((b) => !b.closed);
  const pick = (id) => open.find((b) => plain(b.branchId) === plain(id));
  return pick(asked) || pick(own) || open[0] || null;
}

function Ranking({ branchId }) {
  const [data, error] = useQuery(() => gql(RANKING), []);
  if (error) {
    return error.code === "FORBIDDEN"
      ? html`<p class="hint" data-test="ranking-hidden">${t("rankingHidden")}</p>`
      : html`<${Failure} error=${error} />`;
  }
  if (!data) {
    return html`<${Loading} />`;
  }
  const rows = data.branchRanking.map((r) => ({ ...r, mine: plain(r.branchId) === plain(branchId) }));
  return html`<${Table} test="ranking" rows=${rows} columns=${[
    [t("rank"), (r) => html`<span class=${r.mine ? "mine" : ""}>${r.rank}</span>`],
    [t("rankChange"), (r) => html`<${Change} value=${r.rankChange} />`],
    [t("previousRank"), (r) => (r.previousRank === null ? "—" : r.previousRank)],
    [t("branch"), (r) => html`<a href=${"#/dashboard?branch=" + r.branchId} class=${r.mine ? "mine" : ""}>${r.name}</a>`],
    [t("customersCount"), (r) => r.customers],
    [t("assets"), (r) => money(r.assets)],
    [t("kpiComposite"), (r) => r.kpiComposite.toFixed(2)],
  ]} />`;
}

function Figures({ d }) {
  return html`<div class="figures">
    <${Figure} test="customers" label=${t("customersCount")} value=${d.customers} />
    <${Figure} test="assets" label=${t("assets")} value=${money(d.assets)} raw=${d.assets} />
    <${Figure} test="net-inflow" label=${t("netInflow")} value=${money(d.netInflow)} raw=${d.netInflow} />
    <${Figure} test="commission" label=${t("commission")} value=${money(d.commission)} raw=${d.commission} />
    <${Figure} test="turnover" label=${t("turnover")} value=${money(d.turnover)} raw=${d.turnover} />
    <${Figure} test="new-customers" label=${t("newCustomers")} value=${d.newCustomers} />
    <${Figure} test="churned" label=${t("churned")} value=${d.churned} />
    <${Figure} test="upgraded" label=${t("upgraded")} value=${d.upgraded} />
    <${Figure} test="contacts" label=${t("contacts")} value=${d.contacts} />
    <${Figure} test="rank" label=${t("rank")} value=${d.rankAmongBranches + " / " + d.branchesRanked}
      raw=${d.rankAmongBranches} />
  </div>`;
}

// The branch page's address for `branch` and a series length (12, the default, left out).
function branchHash(branchId, months) {
  return "#/dashboard?branch=" + encodeURIComponent(branchId) + (months === 12 ? "" : "&months=" + months);
}

function BranchDashboard({ branch, months }) {
  const [data, error] = useQuery(() => gql(DASHBOARD, { branchId: branch.branchId }), [branch.branchId]);
  const first = data && data.branchDashboard;
  const live = useLive(LIVE, { branchId: branch.branchId }, branch.branchId,
    "branchDashboardChanged", first ? first.period : null);
  if (error) {
    return html`<${Failure} error=${error} />`;
  }
  if (!data) {
    return html`<${Loading} />`;
  }
  const d = live.d || first;
  if (!d) {
    return html`<p class="empty" data-test="no-dashboard">${t("none")}</p>`;
  }
  return html`<section data-test="dashboard" data-branch=${d.branchId}>
    <h2>${d.name} <span class="hint">${t("period")}: <span data-test="period">${d.period}</span></span>
      <${LiveIndicator} live=${live} /></h2>
    <${Figures} d=${d} />
    <div class="charts">
      <${TierPanel} tiers=${d.customersByTier} />
      <div class="panel">
        <h3>${t("byClass")}</h3>
        <${Chart} type="doughnut" test="classes" label=${t("assets")}
          labels=${d.assetsByClass.map((a) => e(a.key))} values=${d.assetsByClass.map((a) => Number(a.amount))} />
      </div>
      <div class="panel">
        <h3>${t("topManagers")}</h3>
        <${Table} test="top-managers" rows=${d.topManagers} columns=${[
          [t("name"), (m) => m.name],
          [t("kpiComposite"), (m) => m.kpiComposite.toFixed(2)],
        ]} />
      </div>
    </div>
    <${MonthlySeries} test="branch-series" scope=${{ branchId: branch.branchId }} period=${null}
      months=${months} onMonths=${(n) => (window.location.hash = branchHash(branch.branchId, n))} />
  </section>`;
}

export function Dashboard({ me, params }) {
  const region = params.get("region");
  if (!params.get("branch") && (region || me.org)) {
    const scope = region ? { regionId: region } : me.org;
    return html`<${OrgDashboard} scope=${scope} months=${seriesMonths(params)}
      period=${params.get("period")} picker=${Boolean(me.org && me.org.company)} />`;
  }
  return html`<${BranchPage} me=${me} months=${seriesMonths(params)} />`;
}

function BranchPage({ me, months }) {
  const [data, error] = useQuery(() => gql(BRANCHES), [me.staffId]);
  if (error) {
    return html`<${Failure} error=${error} />`;
  }
  if (!data) {
    return html`<${Loading} />`;
  }
  const branch = chosenBranch(me, data.branches);
  if (!branch) {
    return html`<p class="empty" data-test="no-branches">${t("noBranches")}</p>`;
  }
  const open = data.branches.filter((b) => !b.closed);
  return html`<div>
    <div class="toolbar">
      <h1>${t("branchDashboard")}</h1>
      ${me.org && html`<a href="#/dashboard" data-test="to-org">← ${t("toOrg")}
        ${t(me.org.company ? "hqDashboard" : "regionDashboard")}</a>`}
      ${open.length > 1 && html`<select data-test="branch" value=${branch.branchId}
        onChange=${(ev) => (window.location.hash = "#/dashboard?branch=" + ev.target.value)}>
        ${open.map((b) => html`<option value=${b.branchId}>${b.name}</option>`)}
      </select>`}
    </div>
    <${BranchDashboard} branch=${branch} months=${months} />
    <section class="panel">
      <h3>${t("ranking")}</h3>
      <${Ranking} branchId=${branch.branchId} />
    </section>
  </div>`;
}
