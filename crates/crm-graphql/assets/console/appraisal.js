// Appraisal (绩效考核): the leaderboard of the caller's scope (the company, their region, their
// branch, or their team) with each KPI term as the API explains it — new customers, churn and
// retention, upgrades, average profitability — its weight and points; the appraisal periods
// proposed or sealed, and a period's results and team figures. The API decides what the token may read: a
// leaderboard or periods it refuses show its refusal.
import { html, useState, useQuery, Table, Chart, Loading, Failure, Badge, money, date } from "./ui.js";
import { t, e } from "./i18n.js";
import { gql } from "./api.js";

const LEADERBOARD = `query ($scope: LeaderboardScopeInput!, $period: PeriodInput) {
  leaderboard(scope: $scope, period: $period, first: 100) {
    staffId name role branchId period customersAtStart customersServed newCustomers churned
    upgraded retentionPercent kpiComposite rankInCompany
    kpi { rulesVersion composite
      weights { role table newCustomers churn upgrades profitability countSharePercent }
      terms { name value groupBest count groupBestCount base weight points retention } } } }`;

const PERIODS = `{ appraisalPeriods { period status position rulesVersion resultsHash proposedBy
  approvedBy recordedAt } }`;

const PERIOD = `query ($period: String!) { appraisalPeriod(period: $period) { period status position
  rulesVersion proposedBy approvedBy recordedAt
  results { staffId branchId customersAtStart customersServed newCustomers churned upgraded
    downgraded commission points composite rankInCompany }
  teams { teamId name leadId customersAtStart newCustomers churned upgraded downgraded
    commission points composite rank } } }`;

const NAMES = "{ staffDirectory(first: 500) { edges { node { staffId name } } } }";

// The KPI terms in the order the API gives them (and a sealed result's `points`).
const TERMS = ["new_customer_rate", "churn_rate", "upgrade_rate", "average_profitability"];

const short = (id) => (id ? String(id).slice(0, 8) + "…" : "—");

// Whose leaderboard: the caller's own scope, as `me` gives it.
export function leaderboardScope(me) {
  const s = me.scope || {};
  if (s.kind === "COMPANY") {
    return { company: true };
  }
  if (s.kind === "REGION") {
    return { regionId: s.regionId };
  }
  if (s.kind === "BOOK" && s.teamId) {
    return { teamId: s.teamId };
  }
  return { branchId: s.branchId };
}

// A rate in basis points of its base, as a percent.
const percent = (bp) => (Number(bp) / 100).toFixed(2) + "%";

function termValue(term, value) {
  return term.name === "average_profitability" ? money(value) : percent(value);
}

function Points({ term }) {
  return html`<span data-test="lb-points" data-term=${term.name} data-value=${term.points}>${term.points.toFixed(2)}</span>`;
}

// One term's cell: what it counted (count, retention or yuan per customer) and its points.
function TermCell({ term }) {
  const what =
    term.name === "average_profitability"
      ? money(term.value)
      : term.name === "churn_rate" && term.retention !== null
        ? term.count + " · " + t("retention") + " " + percent(term.retention)
        : term.count;
  return html`<span class="hint">${what}</span> <b><${Points} term=${term} /></b>`;
}

function Weights({ rows }) {
  const sets = new Map();
  for (const r of rows) {
    const w = r.kpi.weights;
    sets.set(w.table + "/" + (w.role || ""), w);
  }
  return html`<ul class="weights" data-test="weights">
    ${Array.from(sets.values()).map((w) => {
      const terms = [
        [e("new_customer_rate"), w.newCustomers],
        [e("churn_rate"), w.churn],
        [e("upgrade_rate"), w.upgrades],
        [e("average_profitability"), w.profitability],
      ];
      const text = terms.map(([name, weight]) => name + " " + weight).join(" · ");
      return html`<li><code>[${w.table}]</code> ${w.role ? e(w.role) : ""} — ${t("weight")}: ${text} · ${t("countShare")} ${w.countSharePercent}%</li>`;
    })}
  </ul>`;
}

// Why one person's composite is what it is: each term's figures against the group's.
function Explanation({ row }) {
  const k = row.kpi;
  return html`<section class="panel span2" data-test="kpi-explanation" data-staff=${row.staffId}>
    <h3>${t("kpiWhy")}: ${row.name} <span class="hint">(${e(row.role)} · ${t("rulesVersion")} ${k.rulesVersion} ·
      <code>[${k.weights.table}]</code>)</span></h3>
    <p class="hint">${t("kpiHint").replace("{n}", k.weights.countSharePercent)}</p>
    <${Table} test="kpi-terms" rows=${k.terms} columns=${[
      [t("term"), (x) => e(x.name)],
      [t("count"), (x) => (x.count === null ? "—" : x.count)],
      [t("groupBestCount"), (x) => (x.groupBestCount === null ? "—" : x.groupBestCount)],
      [t("base"), (x) => (x.base === null ? "—" : x.base)],
      [t("rateOrValue"), (x) => termValue(x, x.value)],
      [t("groupBest"), (x) => termValue(x, x.groupBest)],
      [t("retention"), (x) => (x.retention === null ? "—" : percent(x.retention))],
      [t("weight"), (x) => x.weight],
      [t("points"), (x) => x.points.toFixed(2)],
    ]} />
    <p><b>${t("kpiComposite")}: <span data-test="kpi-composite">${k.composite.toFixed(2)}</span></b></p>
  </section>`;
}

function Leaderboard({ me, month }) {
  const scope = leaderboardScope(me);
  const period = month ? { month } : null;
  const [data, error] = useQuery(() => gql(LEADERBOARD, { scope, period }), [me.staffId, month]);
  const [chosen, setChosen] = useState(null);
  if (error) {
    return html`<section class="panel"><${Failure} error=${error} /></section>`;
  }
  if (!data) {
    return html`<${Loading} />`;
  }
  const rows = data.leaderboard;
  if (rows.length === 0) {
    return html`<p class="empty" data-test="leaderboard-empty">${t("none")}</p>`;
  }
  const row = rows.find((r) => r.staffId === chosen) || rows[0];
  const term = (r, name) => r.kpi.terms.find((x) => x.name === name);
  const top = rows.slice(0, 15);
  return html`<div class="stack">
    <section class="panel" data-test="leaderboard-panel">
      <h3>${t("leaderboard")} <span class="hint">${t("period")}: <span data-test="appraisal-period">${rows[0].period}</span></span></h3>
      <${Weights} rows=${rows} />
      <div class="scroll"><${Table} test="leaderboard" rows=${rows} columns=${[
        [t("rank"), (r) => rows.indexOf(r) + 1],
        [t("name"), (r) => html`<button class=${r.staffId === row.staffId ? "chosen" : "link-dark"} data-test="lb-name"
          data-staff=${r.staffId} onClick=${() => setChosen(r.staffId)}>${r.name}</button>`],
        [t("post"), (r) => e(r.role)],
        [t("customersAtStart"), (r) => r.customersAtStart],
        ...TERMS.map((name) => [e(name), (r) => html`<${TermCell} term=${term(r, name)} />`]),
        [t("kpiComposite"), (r) => html`<b data-test="lb-composite" data-value=${r.kpiComposite}>${r.kpiComposite.toFixed(2)}</b>`],
      ]} /></div>
    </section>
    <div class="grid">
      <${Explanation} row=${row} />
      <section class="panel">
        <h3>${t("kpiComposite")}</h3>
        <${Chart} type="bar" test="leaderboard" label=${t("kpiComposite")}
          labels=${top.map((r) => r.name)} values=${top.map((r) => r.kpiComposite)} />
      </section>
    </div>
  </div>`;
}

function Periods({ chosen }) {
  const [data, error] = useQuery(() => gql(PERIODS), []);
  if (error) {
    return error.code === "FORBIDDEN"
      ? html`<p class="hint" data-test="periods-hidden">${t("periodsHidden")}</p>`
      : html`<${Failure} error=${error} />`;
  }
  if (!data) {
    return html`<${Loading} />`;
  }
  return html`<${Table} test="periods" rows=${data.appraisalPeriods} empty=${t("noPeriods")} columns=${[
    [t("period"), (p) => html`<a href=${"#/appraisal?period=" + encodeURIComponent(p.period)} data-test="period-link"
      class=${p.period === chosen ? "mine" : ""}>${p.period}</a>`],
    [t("status"), (p) => html`<${Badge} value=${p.status} />`],
    [t("rulesVersion"), (p) => p.rulesVersion],
    [t("position"), (p) => p.position],
    [t("proposedBy"), (p) => html`<code title=${p.proposedBy}>${short(p.proposedBy)}</code>`],
    [t("approvedBy"), (p) => html`<code title=${p.approvedBy || ""}>${short(p.approvedBy)}</code>`],
    [t("recordedAt"), (p) => date(p.recordedAt)],
  ]} />`;
}

function Results({ period }) {
  const [data, error] = useQuery(
    () => Promise.all([gql(PERIOD, { period }), gql(NAMES).catch(() => null)]),
    [period]
  );
  if (error) {
    return html`<${Failure} error=${error} />`;
  }
  if (!data) {
    return html`<${Loading} />`;
  }
  const [answer, directory] = data;
  const p = answer.appraisalPeriod;
  if (!p) {
    return html`<p class="empty" data-test="no-period">${t("noPeriod")}</p>`;
  }
  const names = new Map();
  for (const edge of (directory && directory.staffDirectory.edges) || []) {
    names.set(edge.node.staffId, edge.node.name);
  }
  return html`<section class="panel" data-test="period-results" data-period=${p.period} data-status=${p.status}>
    <h3>${t("periodResults")} ${p.period} <${Badge} value=${p.status} />
      <span class="hint"> ${t("rulesVersion")} ${p.rulesVersion} · ${t("position")} ${p.position} ·
      ${t("approvedBy")} <code data-test="period-approved-by" data-value=${p.approvedBy || ""}>${short(p.approvedBy)}</code></span></h3>
    <div class="scroll"><${Table} test="results" rows=${p.results} columns=${[
      [t("rankInCompany"), (r) => r.rankInCompany],
      [t("name"), (r) => html`<span data-test="result-staff" data-staff=${r.staffId}>${names.get(r.staffId) || short(r.staffId)}</span>`],
      [t("customersAtStart"), (r) => r.customersAtStart],
      [t("newCustomers"), (r) => r.newCustomers],
      [t("churned"), (r) => r.churned],
      [t("upgraded"), (r) => r.upgraded],
      [t("downgraded"), (r) => r.downgraded],
      [t("commission"), (r) => money(r.commission)],
      ...TERMS.map((name, i) => [e(name), (r) => r.points[i].toFixed(2)]),
      [t("kpiComposite"), (r) => html`<b data-test="result-composite" data-value=${r.composite}>${r.composite.toFixed(2)}</b>`],
    ]} /></div>
    ${p.teams.length > 0 && html`<h3>${t("teamResults")}</h3>
    <div class="scroll"><${Table} test="team-results" rows=${p.teams} columns=${[
      [t("rank"), (x) => x.rank],
      [t("team"), (x) => html`<span data-test="team-result" data-team=${x.teamId}>${x.name}</span>`],
      [t("teamLead"), (x) => names.get(x.leadId) || short(x.leadId)],
      [t("customersAtStart"), (x) => x.customersAtStart],
      [t("newCustomers"), (x) => x.newCustomers],
      [t("churned"), (x) => x.churned],
      [t("upgraded"), (x) => x.upgraded],
      [t("downgraded"), (x) => x.downgraded],
      [t("commission"), (x) => money(x.commission)],
      ...TERMS.map((name, i) => [e(name), (x) => x.points[i].toFixed(2)]),
      [t("kpiComposite"), (x) => html`<b data-test="team-composite" data-value=${x.composite}>${x.composite.toFixed(2)}</b>`],
    ]} /></div>`}
  </section>`;
}

export function Appraisal({ me, params }) {
  const month = params.get("month");
  const period = params.get("period");
  const [typed, setTyped] = useState(month || "");
  return html`<div data-test="appraisal" class="stack">
    <div class="toolbar">
      <h1>${t("appraisal")}</h1>
      <form class="search" onSubmit=${(ev) => {
        ev.preventDefault();
        window.location.hash = "#/appraisal" + (typed ? "?month=" + encodeURIComponent(typed) : "");
      }}>
        <input data-test="appraisal-month" placeholder="YYYY-MM" value=${typed}
          onInput=${(ev) => setTyped(ev.target.value)} />
        <button type="submit" data-test="appraisal-go">${t("showMonth")}</button>
      </form>
      <span class="hint">${t("leaderboardOf")}: ${e(me.scope && me.scope.kind)}</span>
    </div>
    <${Leaderboard} me=${me} month=${month} />
    <section class="panel">
      <h3>${t("appraisalPeriods")}</h3>
      <${Periods} chosen=${period} />
    </section>
    ${period && html`<${Results} period=${period} />`}
  </div>`;
}
