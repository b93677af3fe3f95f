// The auditor's replay (回放): a customer as the log knew them at an instant chosen on their
// event timeline, with the events that made that state. `customerHistory` rebuilds it from the
// log; the API decides who may replay whom (an unknown or out-of-scope customer is NOT_FOUND).
import { html, useState, useQuery, Table, Loading, Failure, date } from "./ui.js";
import { t, e } from "./i18n.js";
import { gql } from "./api.js";
import { ReplayTabs } from "./replay_org.js";

// Far enough ahead to include every event recorded so far: the whole timeline to choose from.
const EVERYTHING = "2100-01-01T00:00:00Z";

const HISTORY = `query ($id: ID!, $asOf: DateTime) { customerHistory(id: $id, asOf: $asOf, first: 100) {
  asOf revision position timelineHasMore
  snapshot { name kind lifecycle idDocumentType idDocument phone keyCustomer registeredAt
    assignment { branchId managerId teamId } suitability { level assessedOn expiresOn }
    accounts { kind number } churnReason mergedInto }
  timeline { position revision eventType occurredAt recordedAt actor } } }`;

function go(id, asOf) {
  window.location.hash =
    "#/replay/" + encodeURIComponent(id) + (asOf ? "?asOf=" + encodeURIComponent(asOf) : "");
}

function Snapshot({ h }) {
  const s = h.snapshot;
  if (!s) {
    return html`<p class="empty" data-test="no-snapshot">${t("notYet")}</p>`;
  }
  const field = (label, value, test) =>
    html`<div class="field"><dt>${label}</dt><dd data-test=${test}>${value === null || value === undefined ? "—" : value}</dd></div>`;
  return html`<dl class="fields" data-test="snapshot">
    ${field(t("name"), s.name, "snapshot-name")}
    ${field(t("lifecycle"), s.lifecycle && e(s.lifecycle), "snapshot-lifecycle")}
    ${field(t("idDocument"), (s.idDocumentType ? e(s.idDocumentType) + " " : "") + (s.idDocument || ""))}
    ${field(t("phone"), s.phone)}
    ${field(t("branch"), s.assignment && s.assignment.branchId, "snapshot-branch")}
    ${field(t("manager"), s.assignment && s.assignment.managerId)}
    ${field(t("suitability"), s.suitability && s.suitability.level + " (" + s.suitability.assessedOn + " – " + s.suitability.expiresOn + ")")}
    ${field(t("accounts"), s.accounts.length, "snapshot-accounts")}
  </dl>`;
}

function Instants({ id, asOf }) {
  // The whole timeline, to choose an instant on.
  const [all, error] = useQuery(() => gql(HISTORY, { id, asOf: EVERYTHING }), [id]);
  if (error) {
    return html`<${Failure} error=${error} />`;
  }
  if (!all) {
    return html`<${Loading} />`;
  }
  const instants = [];
  for (const entry of all.customerHistory.timeline) {
    if (instants.length === 0 || instants[instants.length - 1].at !== entry.recordedAt) {
      instants.push({ at: entry.recordedAt, events: 0 });
    }
    instants[instants.length - 1].events += 1;
  }
  return html`<section class="panel" data-test="instants">
    <h3>${t("chooseInstant")}</h3>
    <ol class="instants">
      ${instants.map((i) => html`<li>
        <button class=${i.at === asOf ? "chosen" : "link-dark"} data-test="instant" data-at=${i.at}
          onClick=${() => go(id, i.at)}>${date(i.at)}</button>
        <span class="hint"> ${i.events} ${t("events")}</span>
      </li>`)}
    </ol>
  </section>`;
}

function AsOf({ id, asOf }) {
  const [data, error] = useQuery(() => gql(HISTORY, { id, asOf: asOf || EVERYTHING }), [id, asOf]);
  if (error) {
    return html`<${Failure} error=${error} />`;
  }
  if (!data) {
    return html`<${Loading} />`;
  }
  const h = data.customerHistory;
  return html`<div data-test="replay" data-as-of=${asOf || ""}>
    <section class="panel">
      <h3>${t("asOf")} <span data-test="as-of">${asOf ? date(asOf) : t("now")}</span></h3>
      <${Snapshot} h=${h} />
    </section>
    <section class="panel">
      <h3>${t("madeBy")} (<span data-test="event-count">${h.timeline.length}</span>${h.timelineHasMore ? "+" : ""})</h3>
      <${Table} test="events" rows=${h.timeline} columns=${[
        [t("position"), (r) => r.position],
        [t("eventType"), (r) => r.eventType],
        [t("occurredAt"), (r) => date(r.occurredAt)],
        [t("recordedAt"), (r) => date(r.recordedAt)],
        [t("actor"), (r) => html`<code>${r.actor}</code>`],
      ]} />
    </section>
  </div>`;
}

export function Replay({ id, params }) {
  const [typed, setTyped] = useState(id || "");
  const asOf = params.get("asOf");
  return html`<div>
    <div class="toolbar">
      <h1>${t("replay")}</h1>
      <${ReplayTabs} page="replay" />
      <form class="search" onSubmit=${(ev) => {
        ev.preventDefault();
        if (typed.trim()) {
          go(typed.trim(), null);
        }
      }}>
        <input data-test="replay-id" placeholder=${t("customerId")} value=${typed}
          onInput=${(ev) => setTyped(ev.target.value)} />
        <button type="submit" data-test="replay-go">${t("replay")}</button>
      </form>
    </div>
    ${id && html`<div class="replay-grid">
      <${Instants} id=${id} asOf=${asOf} />
      <${AsOf} id=${id} asOf=${asOf} />
    </div>`}
  </div>`;
}
