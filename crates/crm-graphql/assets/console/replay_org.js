// The auditor's replay of a customer manager or broker (客户经理回放) and of a branch
// (营业部回放): a month's figures as the log knew them at an instant — `staffPerformance` and
// `branchDashboard` with `asOf` — beside the same figures now, each value that changed since
// marked. Routes: #/replay-staff/ID?branch=ID&period=YYYY-MM&asOf=T and
// #/replay-branch/ID?period=YYYY-MM&asOf=T (no period: the latest month, as the API defaults).
// The instant is entered and shown in UTC, as the console shows the log's times everywhere.
// The API decides who may replay (the log's readers) and whose figures; a refusal is shown
// with the API's reason, never as an empty page.
import { html, useState, useQuery, Loading, Failure, money } from "./ui.js";
import { t, e } from "./i18n.js";
import { gql } from "./api.js";

const STAFF = `query ($id: ID!, $period: PeriodInput, $asOf: DateTime) {
  staffPerformance(staffId: $id, period: $period, asOf: $asOf) {
    staffId name role branchId period customersServed customersAtStart newCustomers churned
    churnRatePercent retentionPercent upgraded downgraded assets netInflow commission turnover
    contacts wonAmount averageContribution kpiComposite rankInBranch rankInCompany } }`;

const BRANCH = `query ($id: ID!, $period: BranchPeriodInput, $asOf: DateTime) {
  branchDashboard(branchId: $id, period: $period, asOf: $asOf) {
    branchId name period customers assets netInflow deposits withdrawals turnover commission
    newCustomers churned upgraded downgraded contacts inProfitPercent marketShareBp
    rankAmongBranches branchesRanked } }`;

const BRANCHES = "{ branches { branchId name closed } }";

// One page of a branch's staff of one role: `staffPerformance` is a customer manager's or a
// broker's, so the picker lists those two roles.
const STAFF_OF_BRANCH = `query ($branchId: ID!, $role: RoleInput!, $after: String) {
  staffDirectory(filter: { branchId: $branchId, role: $role }, first: 100, after: $after) {
    edges { node { staffId name role } } pageInfo { hasNextPage endCursor } } }`;

const APPRAISED_ROLES = ["CUSTOMER_MANAGER", "BROKER"];

// The figures compared, as [field, label key, kind]; the kind says how a value reads.
const STAFF_ROWS = [
  ["customersServed", "customersServed", "count"],
  ["customersAtStart", "customersAtStart", "count"],
  ["newCustomers", "newCustomers", "count"],
  ["churned", "churned", "count"],
  ["churnRatePercent", "churnRatePercent", "percent"],
  ["retentionPercent", "retentionPercent", "percent"],
  ["upgraded", "upgraded", "count"],
  ["downgraded", "downgraded", "count"],
  ["assets", "assets", "money"],
  ["netInflow", "netInflow", "money"],
  ["commission", "commission", "money"],
  ["turnover", "turnover", "money"],
  ["contacts", "contacts", "count"],
  ["wonAmount", "wonAmount", "money"],
  ["averageContribution", "averageContribution", "score"],
  ["kpiComposite", "kpiComposite", "score"],
  ["rankInBranch", "rankInBranch", "count"],
  ["rankInCompany", "rankInCompany", "count"],
];

const BRANCH_ROWS = [
  ["customers", "customersCount", "count"],
  ["assets", "assets", "money"],
  ["netInflow", "netInflow", "money"],
  ["deposits", "deposits", "money"],
  ["withdrawals", "withdrawals", "money"],
  ["turnover", "turnover", "money"],
  ["commission", "commission", "money"],
  ["newCustomers", "newCustomers", "count"],
  ["churned", "churned", "count"],
  ["upgraded", "upgraded", "count"],
  ["downgraded", "downgraded", "count"],
  ["contacts", "contacts", "count"],
  ["inProfitPercent", "inProfitPercent", "percent"],
  ["marketShareBp", "marketShare", "bp"],
  ["rankAmongBranches", "rank", "count"],
  ["branchesRanked", "branchesRanked", "count"],
];

// The API's value as the page keeps it in data-value: "" where the API has none.
const raw = (v) => (v === null || v === undefined ? "" : String(v));

function shown(v, kind) {
  if (v === null || v === undefined) {
    return "—";
  }
  if (kind === "money") {
    return money(v);
  }
  if (kind === "percent") {
    return v.toFixed(2) + "%";
  }
  if (kind === "bp") {
    return (v / 100).toFixed(2) + "%";
  }
  if (kind === "score") {
    return v.toFixed(2);
  }
  return String(v);
}

// The datetime input's value (YYYY-MM-DDTHH:MM, seconds optional), read as UTC, as RFC 3339;
// null when it is not one.
export function instantOf(value) {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2})(:\d{2})?$/.exec(value || "");
  return m ? m[1] + (m[2] || ":00") + "Z" : null;
}

// An instant of the route (RFC 3339, any offset) as the datetime input shows it, in UTC to
// the second; "" when it is no instant (the API then names the bad `asOf`).
function inputOf(instant) {
  const ms = Date.parse(instant || "");
  return Number.isFinite(ms) ? new Date(ms).toISOString().slice(0, 19) : "";
}

// The instant replayed as the comparison's header reads it: to the second it was asked at
// (the console's date() stops at the minute), UTC written as such.
const instantText = (value) => String(value).replace("T", " ").replace(/Z$/, " UTC");

function go(page, id, query) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v) {
      q.set(k, v);
    }
  }
  const s = q.toString();
  window.location.hash = "#/" + page + "/" + encodeURIComponent(id) + (s ? "?" + s : "");
}

// The three replays the auditor chooses between: a customer, a staff member, a branch.
export function ReplayTabs({ page }) {
  const tab = (to, key) => html`<a href=${"#/" + to} class=${page === to ? "chosen" : ""}
    data-test=${"replay-tab-" + to}>${t(key)}</a>`;
  return html`<nav class="replay-tabs" data-test="replay-tabs">
    ${tab("replay", "replayCustomer")}${tab("replay-staff", "replayStaff")}${tab("replay-branch", "replayBranch")}
  </nav>`;
}

// The month (empty: the latest) and the instant (UTC), shared by both forms.
function WhenFields({ month, setMonth, instant, setInstant }) {
  return html`
    <label class="inline">${t("month")}
      <input type="month" data-test="replay-period" value=${month} placeholder="YYYY-MM"
        onInput=${(ev) => setMonth(ev.target.value)} onChange=${(ev) => setMonth(ev.target.value)} />
      <span class="hint">${month ? "" : t("latestMonth")}</span></label>
    <label class="inline">${t("asOf")} (UTC)
      <input type="datetime-local" step="1" data-test="replay-as-of" value=${instant}
        onInput=${(ev) => setInstant(ev.target.value)} onChange=${(ev) => setInstant(ev.target.value)} /></label>`;
}

function BranchSelect({ value, onChoose, test }) {
  const [data, error] = useQuery(() => gql(BRANCHES), []);
  if (error) {
    return html`<${Failure} error=${error} />`;
  }
  if (!data) {
    return html`<${Loading} />`;
  }
  const open = data.branches.filter((b) => !b.closed);
  return html`<label class="inline">${t("branch")}
    <select data-test=${test} value=${value || ""} onChange=${(ev) => onChoose(ev.target.value)}>
      <option value="">—</option>
      ${open.map((b) => html`<option value=${b.branchId}>${b.name}</option>`)}
    </select></label>`;
}

// Every customer manager and broker of `branchId` the caller may see, by name.
async function appraisedStaff(branchId) {
  const all = [];
  for (const role of APPRAISED_ROLES) {
    let after = null;
    do {
      const page = (await gql(STAFF_OF_BRANCH, { branchId, role, after })).staffDirectory;
      all.push(...page.edges.map((edge) => edge.node));
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
    } while (after);
  }
  return all.sort((a, b) => a.name.localeCompare(b.name, "zh-CN"));
}

function StaffSelect({ branchId, value, onChoose }) {
  const [data, error] = useQuery(() => (branchId ? appraisedStaff(branchId) : Promise.resolve([])), [branchId]);
  if (error) {
    return html`<${Failure} error=${error} />`;
  }
  if (!data) {
    return html`<${Loading} />`;
  }
  return html`<label class="inline">${t("staffMember")}
    <select data-test="replay-staff" value=${value || ""} onChange=${(ev) => onChoose(ev.target.value)}>
      <option value="">—</option>
      ${data.map((s) => html`<option value=${s.staffId}>${s.name} (${e(s.role)})</option>`)}
    </select></label>`;
}

// The figures of `rows` in `then` (as of `asOf`) and `now`, a changed value marked.
function CompareTable({ rows, then, now, asOf }) {
  let changes = 0;
  const body = rows.map(([field, label, kind]) => {
    const a = then ? then[field] : null;
    const b = now ? now[field] : null;
    const changed = raw(a) !== raw(b);
    changes += changed ? 1 : 0;
    return html`<tr data-test=${"row-" + field} class=${changed ? "changed" : ""} data-changed=${String(changed)}>
      <th>${t(label)}</th>
      <td class="num" data-test="then" data-value=${raw(a)}>${shown(a, kind)}</td>
      <td class="num" data-test="now" data-value=${raw(b)}>${shown(b, kind)}</td>
    </tr>`;
  });
  return html`<p class="hint"><span data-test="changed-count">${changes}</span> ${t("figuresChanged")}</p>
    <table data-test="compare" class="compare">
      <thead><tr><th>${t("figure")}</th><th>${t("asOf")} <span data-test="then-instant">${instantText(asOf)}</span></th><th>${t("now")}</th></tr></thead>
      <tbody>${body}</tbody>
    </table>`;
}

// `query` for `id` in `period` as of `asOf` and now, side by side; `field` is the query's
// root field. Either answer's refusal is shown as the API gave it, and no figure beside it.
function Comparison({ query, field, rows, id, period, asOf }) {
  const key = [id, JSON.stringify(period), asOf].join("|");
  const [then, thenError] = useQuery(() => gql(query, { id, period, asOf }), [key]);
  const [now, nowError] = useQuery(() => gql(query, { id, period, asOf: null }), [key]);
  if (thenError || nowError) {
    return html`<section class="panel" data-test="replay-refused">
      ${thenError && html`<div data-test="then-failure"><${Failure} error=${thenError} /></div>`}
      ${nowError && html`<div data-test="now-failure"><${Failure} error=${nowError} /></div>`}
    </section>`;
  }
  if (!then || !now) {
    return html`<${Loading} />`;
  }
  const a = then[field];
  const b = now[field];
  const named = b || a;
  if (!named) {
    return html`<p class="empty" data-test="replay-none">${t("none")}</p>`;
  }
  return html`<section class="panel" data-test="replay-figures" data-id=${id} data-as-of=${asOf}
    data-period=${named.period}>
    <h3><span data-test="replay-name">${named.name}</span>
      <span class="hint"> ${t("period")}: <span data-test="period">${named.period}</span></span></h3>
    ${!a && html`<p class="empty" data-test="not-yet">${t("notYetFigures")}</p>`}
    <${CompareTable} rows=${rows} then=${a} now=${b} asOf=${asOf} />
  </section>`;
}

// The month and instant of the route, and the form's own copies of them until submitted.
function useWhen(params) {
  const period = params.get("period");
  const asOf = params.get("asOf");
  const [month, setMonth] = useState(period || "");
  const [instant, setInstant] = useState(inputOf(asOf));
  return { period, asOf, month, setMonth, instant, setInstant };
}

export function StaffReplay({ id, params }) {
  const when = useWhen(params);
  const [branch, setBranch] = useState(params.get("branch") || "");
  const [staff, setStaff] = useState(id || "");
  const at = instantOf(when.instant);
  const submit = (ev) => {
    ev.preventDefault();
    if (staff && at) {
      go("replay-staff", staff, { branch, period: when.month, asOf: at });
    }
  };
  return html`<div class="stack">
    <div class="toolbar"><h1>${t("replay")}</h1><${ReplayTabs} page="replay-staff" /></div>
    <form class="toolbar" data-test="replay-form" onSubmit=${submit}>
      <${BranchSelect} test="replay-staff-branch" value=${branch} onChoose=${(b) => {
        setBranch(b);
        setStaff("");
      }} />
      <${StaffSelect} branchId=${branch} value=${staff} onChoose=${setStaff} />
      <${WhenFields} ...${when} />
      <button type="submit" data-test="replay-go" disabled=${!staff || !at}>${t("replay")}</button>
    </form>
    ${id && when.asOf
      ? html`<${Comparison} query=${STAFF} field="staffPerformance" rows=${STAFF_ROWS} id=${id}
          period=${when.period ? { month: when.period } : null} asOf=${when.asOf} />`
      : html`<p class="hint" data-test="replay-hint">${t("replayStaffHint")}</p>`}
  </div>`;
}

export function BranchReplay({ id, params }) {
  const when = useWhen(params);
  const [branch, setBranch] = useState(id || "");
  const at = instantOf(when.instant);
  const submit = (ev) => {
    ev.preventDefault();
    if (branch && at) {
      go("replay-branch", branch, { period: when.month, asOf: at });
    }
  };
  return html`<div class="stack">
    <div class="toolbar"><h1>${t("replay")}</h1><${ReplayTabs} page="replay-branch" /></div>
    <form class="toolbar" data-test="replay-form" onSubmit=${submit}>
      <${BranchSelect} test="replay-branch" value=${branch} onChoose=${setBranch} />
      <${WhenFields} ...${when} />
      <button type="submit" data-test="replay-go" disabled=${!branch || !at}>${t("replay")}</button>
    </form>
    ${id && when.asOf
      ? html`<${Comparison} query=${BRANCH} field="branchDashboard" rows=${BRANCH_ROWS} id=${id}
          period=${when.period ? { month: when.period } : null} asOf=${when.asOf} />`
      : html`<p class="hint" data-test="replay-hint">${t("replayBranchHint")}</p>`}
  </div>`;
}
