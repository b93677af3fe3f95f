// The customer 360 (客户档案): the profile masked as the API returns it, accounts, holdings,
// turnover and commission, timeline, tickets, opportunities, and why the score, tier, risk
// preference and churn risk are what they are. A customer outside the caller's scope answers
// NOT_FOUND, shown as such. "Show full" (显示完整) asks the API's `sensitive(purpose)` with the
// purpose the user gives: the API records the view in the access log before it answers, and
// the page says so; a role the API refuses sees the API's refusal.
import { html, useState, useEffect, useQuery, Figure, Table, Chart, Loading, Failure, Badge, money, date, day } from "./ui.js";
import { t, e } from "./i18n.js";
import { gql } from "./api.js";

const CUSTOMER = `query ($id: ID!) { customer(id: $id) {
  customerId name kind lifecycle tier contributionScore riskPreference churnRisk churnRiskReason
  assets unrealisedPnl asOf keyCustomer registeredAt lastContact lastTrade
  branch { name } manager { name }
  profile { idDocumentType idDocument phone ageBand occupation sourceChannel }
  accounts { id kind number openedAt closedAt }
  holdings { key amount }
  windows { turnover30Days turnover365Days commission30Days commission365Days }
  timeline(first: 20) { kind channel topic outcome at }
  tickets(first: 10) { subject kind status openedAt }
  opportunities(first: 10) { title stage expectedAmount createdAt }
  contributionExplanation { rulesVersion on score tier tierThresholds
    terms { name input unit cap weight points } }
  riskPreferenceExplanation { on sum aggressiveAt conservativeAt preference
    signals { name value aggressiveThreshold conservativeThreshold vote } }
  churn { risk basis reason valueAtRisk lastActivity daysInactive dormantDays outflow
    outflowPercent outflowThresholdPercent outflowDays } } }`;

// Identity, phone and account numbers in full; the API records the view (who, when, which
// customer, the purpose) in the caller's access log before it answers.
const SENSITIVE = `query ($id: ID!, $purpose: String!) { customer(id: $id) {
  sensitive(purpose: $purpose) { idDocument phone birthday accounts { id number } recordedAtPosition } } }`;

// Purposes offered as suggestions; the user may write any other (the API takes any purpose
// that says why, and refuses an empty one).
const PURPOSES = ["purposeService", "purposeCallBack", "purposeCompliance"];

function Field({ label, value, test }) {
  return html`<div class="field"><dt>${label}</dt><dd data-test=${test}>${value === null || value === undefined ? "—" : value}</dd></div>`;
}

// The form asking why the full view is needed; `onShown(sensitive)` gets the API's answer.
function ShowFull({ id, onShown }) {
  const [open, setOpen] = useState(false);
  const [purpose, setPurpose] = useState("");
  const [state, setState] = useState({ busy: false, error: null });
  if (!open) {
    return html`<button class="secondary" data-test="show-full" onClick=${() => setOpen(true)}>${t("showFull")}</button>`;
  }
  const ask = async (ev) => {
    ev.preventDefault();
    setState({ busy: true, error: null });
    try {
      const data = await gql(SENSITIVE, { id, purpose });
      setState({ busy: false, error: null });
      onShown({ ...data.customer.sensitive, purpose });
    } catch (error) {
      setState({ busy: false, error });
    }
  };
  return html`<form class="purpose-form" data-test="purpose-form" onSubmit=${ask}>
    <label class="inline">${t("purpose")}
      <input list="purposes" data-test="purpose" value=${purpose} placeholder=${t("purposeHint")}
        onInput=${(ev) => setPurpose(ev.target.value)} /></label>
    <datalist id="purposes">${PURPOSES.map((key) => html`<option value=${t(key)} />`)}</datalist>
    <button type="submit" data-test="show-full-submit" disabled=${state.busy}>${t("showFull")}</button>
    <button type="button" class="secondary" onClick=${() => setOpen(false)}>${t("cancel")}</button>
    <p class="hint">${t("showFullHint")}</p>
    ${state.error && html`<div data-test="show-full-refused"><${Failure} error=${state.error} act=${true} /></div>`}
  </form>`;
}

function Profile({ c, full, onFull }) {
  const p = c.profile;
  const idNumber = full ? full.idDocument : p.idDocument;
  return html`<section class="panel" data-test="profile" data-full=${full ? "true" : "false"}>
    <div class="panel-head">
      <h3>${t(full ? "profileFull" : "profile")}</h3>
      ${full
        ? html`<button class="secondary" data-test="show-masked" onClick=${() => onFull(null)}>${t("showMasked")}</button>`
        : html`<${ShowFull} key=${c.customerId} id=${c.customerId} onShown=${onFull} />`}
    </div>
    ${full && html`<p class="recorded" data-test="view-recorded" data-position=${full.recordedAtPosition}>
      ${t("viewRecorded")} · ${t("purpose")}: <span data-test="recorded-purpose">${full.purpose}</span> ·
      ${t("position")} ${full.recordedAtPosition}</p>`}
    <dl class="fields">
      <${Field} label=${t("idDocument")} value=${e(p.idDocumentType) + " " + idNumber} test="id-document" />
      <${Field} label=${t("phone")} value=${full ? full.phone : p.phone} test="phone" />
      ${full && html`<${Field} label=${t("birthday")} value=${full.birthday} test="birthday" />`}
      <${Field} label=${t("ageBand")} value=${p.ageBand} />
      <${Field} label=${t("occupation")} value=${p.occupation} />
      <${Field} label=${t("sourceChannel")} value=${e(p.sourceChannel)} />
      <${Field} label=${t("branch")} value=${c.branch && c.branch.name} />
      <${Field} label=${t("manager")} value=${c.manager && c.manager.name} />
      <${Field} label=${t("registeredAt")} value=${day(c.registeredAt)} />
      <${Field} label=${t("lastTrade")} value=${c.lastTrade} />
      <${Field} label=${t("lastContact")} value=${c.lastContact} />
    </dl>
  </section>`;
}

function Contribution({ x }) {
  if (!x) {
    return null;
  }
  return html`<section class="panel span2" data-test="why-tier">
    <h3>${t("whyTier")}</h3>
    <p class="hint">${t("rulesVersion")} ${x.rulesVersion} · ${x.on} · ${t("thresholds")}: ${x.tierThresholds.join(" / ")}</p>
    <${Table} test="terms" rows=${x.terms} columns=${[
      [t("term"), (r) => e(r.name)],
      [t("input"), (r) => (r.unit === "money" ? money(r.input) : r.input)],
      [t("cap"), (r) => (r.unit === "money" ? money(r.cap) : r.cap)],
      [t("weight"), (r) => r.weight],
      [t("points"), (r) => r.points.toFixed(2)],
    ]} />
    <p>${t("contribution")}: <strong data-test="explained-score">${x.score.toFixed(2)}</strong> → <${Badge} value=${x.tier} /></p>
  </section>`;
}

function Risk({ x }) {
  if (!x) {
    return null;
  }
  return html`<section class="panel" data-test="why-risk">
    <h3>${t("whyRisk")}</h3>
    <${Table} test="signals" rows=${x.signals} columns=${[
      [t("signal"), (r) => e(r.name)],
      [t("value"), (r) => (r.value === null ? "—" : r.value)],
      ["≥ / ≤", (r) => r.aggressiveThreshold + " / " + r.conservativeThreshold],
      [t("vote"), (r) => (r.vote > 0 ? "+1" : String(r.vote))],
    ]} />
    <p>Σ ${x.sum} (${x.conservativeAt} … ${x.aggressiveAt}) → ${e(x.preference)}</p>
  </section>`;
}

function Churn({ x }) {
  if (!x) {
    return null;
  }
  return html`<section class="panel" data-test="why-churn">
    <h3>${t("whyChurn")}</h3>
    <dl class="fields">
      <${Field} label=${t("churnRisk")} value=${html`<${Badge} value=${x.risk} />`} />
      <${Field} label=${t("reason")} value=${x.reason || t("none")} />
      <${Field} label=${t("daysInactive")} value=${x.daysInactive + " / " + x.dormantDays} />
      <${Field} label=${t("outflow")} value=${money(x.outflow) + " (" + (x.outflowPercent === null ? "—" : x.outflowPercent + "%") + " / " + x.outflowThresholdPercent + "%, " + x.outflowDays + "d)"} />
      <${Field} label=${t("valueAtRisk")} value=${money(x.valueAtRisk)} />
    </dl>
  </section>`;
}

function Activity({ c }) {
  return html`<section class="panel" data-test="tickets">
      <h3>${t("tickets")}</h3>
      <${Table} test="tickets" rows=${c.tickets} columns=${[
        [t("at"), (r) => date(r.openedAt)],
        [t("subject"), (r) => r.subject],
        [t("status"), (r) => r.status],
      ]} />
    </section>
    <section class="panel" data-test="opportunities">
      <h3>${t("opportunities")}</h3>
      <${Table} test="opportunities" rows=${c.opportunities} columns=${[
        [t("name"), (r) => r.title],
        [t("stage"), (r) => r.stage],
        [t("expectedAmount"), (r) => money(r.expectedAmount)],
      ]} />
    </section>
    <section class="panel wide" data-test="timeline">
      <h3>${t("timeline")}</h3>
      <${Table} test="timeline" rows=${c.timeline} columns=${[
        [t("at"), (r) => date(r.at)],
        [t("kind"), (r) => e(r.kind)],
        [t("channel"), (r) => e(r.channel)],
        [t("topic"), (r) => r.topic],
        [t("outcome"), (r) => (r.outcome ? e(r.outcome) : "—")],
      ]} />
    </section>`;
}

// An account's number: in full where the full view gives it, else masked as the API gives it.
function fullNumber(full, account) {
  const shown = full && full.accounts.find((a) => a.id === account.id);
  return shown ? shown.number : account.number;
}

export function Customer({ id }) {
  const [data, error] = useQuery(() => gql(CUSTOMER, { id }), [id]);
  // The full view the API answered `sensitive` with, for this customer only.
  const [full, setFull] = useState(null);
  useEffect(() => setFull(null), [id]);
  if (error) {
    return html`<div data-test="customer-failure"><${Failure} error=${error} /><a href="#/customers">${t("back")}</a></div>`;
  }
  if (!data) {
    return html`<${Loading} />`;
  }
  const c = data.customer;
  if (!c) {
    return html`<div data-test="customer-failure"><${Failure} error=${{ code: "NOT_FOUND" }} /></div>`;
  }
  const w = c.windows;
  return html`<div data-test="customer" data-id=${c.customerId}>
    <div class="toolbar">
      <h1><span data-test="customer-name">${c.name}</span> <${Badge} value=${c.tier} /></h1>
      <span class="hint">${e(c.kind)} · ${e(c.lifecycle)} · ${c.asOf}</span>
      <a href=${"#/replay/" + c.customerId} data-test="replay-link">${t("replay")}</a>
    </div>
    <div class="figures">
      <${Figure} test="assets" label=${t("assets")} value=${money(c.assets)} raw=${c.assets} />
      <${Figure} test="score" label=${t("contribution")} value=${c.contributionScore.toFixed(2)} raw=${c.contributionScore} />
      <${Figure} test="risk" label=${t("riskPreference")} value=${e(c.riskPreference)} raw=${c.riskPreference} />
      <${Figure} test="churn" label=${t("churnRisk")} value=${e(c.churnRisk)} raw=${c.churnRisk} />
      <${Figure} test="pnl" label=${t("unrealisedPnl")} value=${money(c.unrealisedPnl)} raw=${c.unrealisedPnl} />
      <${Figure} test="commission-365" label=${t("commission") + " " + t("days365")} value=${money(w.commission365Days)} raw=${w.commission365Days} />
    </div>
    <div class="grid">
      <${Profile} c=${c} full=${full} onFull=${setFull} />
      <section class="panel" data-test="accounts">
        <h3>${t("accounts")}</h3>
        <${Table} test="accounts" rows=${c.accounts} columns=${[
          [t("kind"), (r) => e(r.kind)],
          [t("number"), (r) => html`<code data-test="account-number">${fullNumber(full, r)}</code>`],
          [t("opened"), (r) => day(r.openedAt)],
          [t("closed"), (r) => day(r.closedAt)],
        ]} />
        <h3>${t("windows")}</h3>
        <dl class="fields">
          <${Field} label=${t("turnover") + " " + t("days30")} value=${money(w.turnover30Days)} />
          <${Field} label=${t("turnover") + " " + t("days365")} value=${money(w.turnover365Days)} />
          <${Field} label=${t("commission") + " " + t("days30")} value=${money(w.commission30Days)} />
        </dl>
      </section>
      <section class="panel" data-test="holdings">
        <h3>${t("holdings")}</h3>
        <${Chart} type="doughnut" test="holdings" label=${t("holdings")}
          labels=${c.holdings.map((a) => e(a.key))} values=${c.holdings.map((a) => Number(a.amount))} />
        <${Table} test="holdings" rows=${c.holdings} columns=${[
          [t("kind"), (r) => e(r.key)],
          [t("amount"), (r) => html`<span class="num">${money(r.amount)}</span>`],
        ]} />
      </section>
      <${Contribution} x=${c.contributionExplanation} />
      <${Risk} x=${c.riskPreferenceExplanation} />
      <${Churn} x=${c.churn} />
      <${Activity} c=${c} />
    </div>
  </div>`;
}
