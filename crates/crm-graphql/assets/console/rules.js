// The operator's rules page (规则): the rule versions the log records with their four-eyes
// state (who proposed, who approved) and the buttons that approve, reject or activate one
// (approveRules, rejectRules, activateRules on the version's rule set), a rules preview run as
// a job (startRulesPreview) with its progress live over the jobProgress subscription and then
// its diff (tier moves, ranking moves, customers changing tier), and the switch and rollback
// of the read models. The API decides who may do what: the page asks `jobs` (the right that
// runs previews, switches and rollbacks) and shows those controls only where the API answers
// it; the version buttons are offered to everyone who reads the rules, and a mutation the API
// refuses (the proposer approving their own version: four eyes) shows the API's refusal.
import { html, useState, useEffect, useQuery, Figure, Table, Chart, Change, Loading, Failure, Badge } from "./ui.js";
import { t, e } from "./i18n.js";
import { gql } from "./api.js";
import { subscribe } from "./live.js";

// `at`: the position a version button's mutation returned, so the page reads its own write.
const RULES = `query ($at: Long) { rules(atPosition: $at) { version hash pendingVersion
  versions { ruleSetId version contentHash status proposedBy approvedBy proposedPosition activatedPosition } } }`;

const APPROVE = `mutation ($ruleSetId: ID!, $version: Int!) {
  approveRules(ruleSetId: $ruleSetId, version: $version) { position } }`;
const ACTIVATE = `mutation ($ruleSetId: ID!, $version: Int!) {
  activateRules(ruleSetId: $ruleSetId, version: $version) { position } }`;
const REJECT = `mutation ($ruleSetId: ID!, $version: Int!, $reason: String!) {
  rejectRules(ruleSetId: $ruleSetId, version: $version, reason: $reason) { position } }`;

const JOBS = `{ jobs { id kind state startedBy startedAt finishedAt rulesVersion done target } }`;

const START = `mutation ($version: Int, $tiers: TierThresholdsInput, $kpiWeights: KpiWeightsInput) {
  startRulesPreview(version: $version, tiers: $tiers, kpiWeights: $kpiWeights) { id } }`;

// The job's progress as it happens: now, then at each report, ending with its last state.
const PROGRESS = `subscription ($id: ID!) { jobProgress(id: $id) { id kind state error startedBy
  startedAt finishedAt rulesVersion rulesHash done target eventsPerSecond etaSeconds } }`;

// The job with its diff: read once the subscription has ended.
const JOB = `query ($id: ID!) { job(id: $id) { id kind state error startedBy startedAt finishedAt
  rulesVersion rulesHash done target eventsPerSecond etaSeconds
  preview { fromRulesVersion toRulesVersion position customersCompared customersChangingTier
    tierMoves { from to count } tierMovesByBranch { groupId moves { from to count } }
    rankingMoves { staffId name rankFrom rankTo compositeFrom compositeTo }
    churnFlagChanges churnMoves { from to count } riskPreferenceMoves { from to count } } } }`;

const SWITCH = "mutation { switchReadModels { generation rulesVersion rulesHash position } }";
const ROLLBACK = "mutation { rollbackReadModels { generation rulesVersion rulesHash position } }";

const short = (id) => (id ? String(id).slice(0, 8) + "…" : "—");

// A rule version's status: ACTIVE is the rules' own word (生效), not a customer's (正常).
const ruleStatus = (status) => (status === "ACTIVE" ? t("ruleActive") : e(status));

const plain = (id) => String(id || "").replace(/-/g, "").toLowerCase();

// A staff id (the API names staff by id here), marked when it is the signed-in person's.
function Staff({ id, me, test }) {
  const mine = id && me && plain(id) === plain(me.staffId);
  return html`<code title=${id || ""} data-test=${test} data-value=${id || ""}>${short(id)}</code>${mine
    ? html` <span class="hint" data-test=${test && test + "-me"}>(${t("you")})</span>` : ""}`;
}

// The four-eyes steps a version's state allows: approve or reject a proposal, activate an
// approved or superseded version. Who may take them is the API's to say: the buttons are
// offered to whoever reads the rules, and a refusal (the proposer approving: four eyes; a
// role without the right) is shown with the API's reason. `onDone(position)` after a step.
function VersionActions({ v, onDone }) {
  const [reason, setReason] = useState("");
  const [outcome, setOutcome] = useState(null);
  const run = async (mutation, key, extra) => {
    setOutcome({ busy: key });
    try {
      const data = await gql(mutation, { ruleSetId: v.ruleSetId, version: v.version, ...extra });
      setOutcome(null);
      onDone(data[key].position);
    } catch (error) {
      setOutcome({ key, error });
    }
  };
  const busy = Boolean(outcome && outcome.busy);
  const n = v.version;
  let buttons = null;
  if (v.status === "PROPOSED") {
    buttons = html`<button data-test=${"approve-" + n} disabled=${busy}
        onClick=${() => run(APPROVE, "approveRules")}>${t("approve")}</button>
      <input class="reason" data-test=${"reject-reason-" + n} value=${reason} placeholder=${t("rejectReason")}
        onInput=${(ev) => setReason(ev.target.value)} />
      <button class="secondary" data-test=${"reject-" + n} disabled=${busy}
        onClick=${() => run(REJECT, "rejectRules", { reason })}>${t("reject")}</button>`;
  } else if (v.status === "APPROVED" || v.status === "SUPERSEDED") {
    buttons = html`<button data-test=${"activate-" + n} disabled=${busy}
      onClick=${() => run(ACTIVATE, "activateRules")}>${t("activate")}</button>`;
  }
  return html`<div class="version-actions" data-test=${"actions-" + n} data-rule-set=${v.ruleSetId}>
    ${buttons || "—"}
    ${outcome && outcome.error && html`<div class="version-refused" data-test=${"version-refused-" + n} data-key=${outcome.key}>
      <${Failure} error=${outcome.error} act=${true} /></div>`}
  </div>`;
}

function Versions({ rules, me, onChanged }) {
  return html`<section class="panel" data-test="rule-versions">
    <h3>${t("ruleVersions")}</h3>
    <p class="hint">${t("fourEyesHint")}</p>
    <${Table} test="versions" rows=${rules.versions} empty=${t("noVersions")} columns=${[
      [t("rulesVersion"), (v) => html`<span title=${t("ruleSet") + " " + v.ruleSetId}>${v.version}</span>`],
      [t("status"), (v) => html`<span data-test=${"status-" + v.version} data-value=${v.status}
        class=${"badge badge-" + v.status.toLowerCase()}>${ruleStatus(v.status)}</span>`],
      [t("proposedBy"), (v) => html`<${Staff} id=${v.proposedBy} me=${me} test=${"proposed-by-" + v.version} />`],
      [t("approvedBy"), (v) => html`<${Staff} id=${v.approvedBy} me=${me} test=${"approved-by-" + v.version} />`],
      [t("proposedAt"), (v) => v.proposedPosition],
      [t("activatedAt"), (v) => (v.activatedPosition === null ? "—" : v.activatedPosition)],
      [t("contentHash"), (v) => html`<code title=${v.contentHash}>${short(v.contentHash)}</code>`],
      [t("fourEyesActions"), (v) => html`<${VersionActions} key=${v.ruleSetId + "/" + v.version + "/" + v.status} v=${v} onDone=${onChanged} />`],
    ]} />
  </section>`;
}

// The preview's rule set: a version the log records, or the rules in force with other tier
// thresholds or KPI weights. The API validates every figure.
function PreviewForm({ rules }) {
  const [source, setSource] = useState(rules.versions.length ? "v" + rules.versions[rules.versions.length - 1].version : "tiers");
  const [fields, setFields] = useState({});
  const [refused, setRefused] = useState(null);
  const number = (name) => html`<label class="inline">${t(name)}
    <input type="number" data-test=${"preview-" + name} value=${fields[name] || ""}
      onInput=${(ev) => setFields({ ...fields, [name]: ev.target.value })} /></label>`;
  const variables = () => {
    const int = (name) => (fields[name] === undefined || fields[name] === "" ? null : Number(fields[name]));
    if (source === "tiers") {
      return { tiers: { diamond: int("diamond"), gold: int("gold"), silver: int("silver") } };
    }
    if (source === "kpi") {
      return { kpiWeights: { newCustomerRate: int("newCustomerRate"), churnRate: int("churnRate"),
        upgradeRate: int("upgradeRate"), averageProfitability: int("averageProfitability") } };
    }
    return { version: Number(source.slice(1)) };
  };
  const start = async (ev) => {
    ev.preventDefault();
    setRefused(null);
    try {
      const data = await gql(START, variables());
      window.location.hash = "#/rules?job=" + encodeURIComponent(data.startRulesPreview.id);
    } catch (error) {
      setRefused(error);
    }
  };
  return html`<form class="preview-form" data-test="preview-form" onSubmit=${start}>
    <label class="inline">${t("previewOf")}
      <select data-test="preview-source" value=${source} onChange=${(ev) => setSource(ev.target.value)}>
        ${rules.versions.map((v) => html`<option value=${"v" + v.version}>${t("rulesVersion")} ${v.version} (${ruleStatus(v.status)})</option>`)}
        <option value="tiers">${t("otherTiers")}</option>
        <option value="kpi">${t("otherWeights")}</option>
      </select></label>
    ${source === "tiers" && html`${number("diamond")}${number("gold")}${number("silver")}`}
    ${source === "kpi" && html`${number("newCustomerRate")}${number("churnRate")}${number("upgradeRate")}${number("averageProfitability")}`}
    <button type="submit" data-test="preview-start">${t("startPreview")}</button>
    ${refused && html`<div data-test="preview-refused"><${Failure} error=${refused} act=${true} /></div>`}
  </form>`;
}

// The job as the jobProgress subscription reports it (now, then at each progress report,
// ending with its last state), then one `job(id)` read once the subscription has ended, for
// the last state and the diff; also one read each time the socket is lost, so a page whose
// proxy passes no WebSocket still shows where the job is. { job, error, live, state }: `live`
// is the last report the subscription gave, `state` the connection's (live.js).
function useJob(id) {
  const blank = { key: id, job: null, error: null, live: null, state: "connecting" };
  const [current, setCurrent] = useState(blank);
  useEffect(() => {
    let mounted = true;
    setCurrent(blank);
    const update = (change) => mounted && setCurrent((s) => ({ ...s, ...change(s) }));
    let ended = false;
    const read = () =>
      gql(JOB, { id }).then(
        (data) => {
          update(() => ({ job: data.job, error: null }));
          if (data.job.state !== "RUNNING") {
            stop();
          }
        },
        (error) => update(() => ({ job: null, error }))
      );
    const stop = subscribe(PROGRESS, { id }, {
      onData: (data) =>
        update((s) => ({
          job: s.job && s.job.state !== "RUNNING" ? s.job : data.jobProgress,
          live: data.jobProgress,
        })),
      // The subscription then ends ("off"), and the read after it says what is wrong.
      onError: () => {},
      onState: (state) => {
        update(() => ({ state }));
        if (state === "off" && !ended) {
          ended = true;
          read();
        } else if (state === "reconnecting") {
          read();
        }
      },
    });
    return () => {
      mounted = false;
      stop();
    };
  }, [id]);
  return current.key === id ? current : blank;
}

function Progress({ job }) {
  const percent = job.target > 0 ? Math.min(100, Math.floor((100 * job.done) / job.target)) : 0;
  return html`<div class="progress-line">
    <span data-test="job-state" data-value=${job.state}><${Badge} value=${job.state} /></span>
    <progress data-test="job-progress" max=${job.target || 1} value=${job.done}></progress>
    <span class="hint"><span data-test="job-done">${job.done}</span> / ${job.target} ${t("eventsFolded")}
      (${percent}%)${job.state === "RUNNING" ? " · " + Math.round(job.eventsPerSecond) + " " + t("perSecond") + " · " + t("eta") + " " + Math.ceil(job.etaSeconds) + " s" : ""}</span>
    ${job.error && html`<span class="failure" data-test="job-error">${job.error}</span>`}
  </div>`;
}

function Moves({ rows, test }) {
  return html`<${Table} test=${test} rows=${rows} columns=${[
    [t("from"), (m) => e(m.from)],
    [t("to"), (m) => e(m.to)],
    [t("customersCount"), (m) => html`<span class="num">${m.count}</span>`],
  ]} />`;
}

function Diff({ p }) {
  const arrow = (m) => e(m.from) + " → " + e(m.to);
  return html`<div data-test="preview-diff">
    <div class="figures">
      <${Figure} test="preview-rules" label=${t("rulesVersion")} value=${p.fromRulesVersion + " → " + p.toRulesVersion} />
      <${Figure} test="customers-compared" label=${t("customersCompared")} value=${p.customersCompared} />
      <${Figure} test="customers-changing-tier" label=${t("customersChangingTier")} value=${p.customersChangingTier} />
      <${Figure} test="churn-flag-changes" label=${t("churnFlagChanges")} value=${p.churnFlagChanges} />
      <${Figure} test="preview-position" label=${t("position")} value=${p.position} />
    </div>
    <div class="charts">
      <div class="panel">
        <h3>${t("tierMoves")}</h3>
        ${p.tierMoves.length > 0 && html`<${Chart} type="bar" test="tier-moves" label=${t("customersCount")}
          labels=${p.tierMoves.map(arrow)} values=${p.tierMoves.map((m) => m.count)} />`}
        <${Moves} test="tier-moves" rows=${p.tierMoves} />
      </div>
      <div class="panel">
        <h3>${t("tierMovesByBranch")}</h3>
        <${Table} test="tier-moves-by-branch" rows=${p.tierMovesByBranch} columns=${[
          [t("branch"), (g) => html`<code title=${g.groupId || ""}>${g.groupId ? short(g.groupId) : t("unassigned")}</code>`],
          [t("tierMoves"), (g) => g.moves.map((m) => arrow(m) + " " + m.count).join(", ")],
        ]} />
      </div>
      <div class="panel">
        <h3>${t("churnMoves")}</h3>
        <${Moves} test="churn-moves" rows=${p.churnMoves} />
        <h3 class="sub">${t("riskMoves")}</h3>
        <${Moves} test="risk-moves" rows=${p.riskPreferenceMoves} />
      </div>
    </div>
    <section class="panel">
      <h3>${t("rankingMoves")} (${p.rankingMoves.length})</h3>
      <div class="scroll">
        <${Table} test="ranking-moves" rows=${p.rankingMoves} columns=${[
          [t("name"), (r) => r.name],
          [t("rankFrom"), (r) => r.rankFrom],
          [t("rankTo"), (r) => r.rankTo],
          [t("rankChange"), (r) => html`<${Change} value=${r.rankFrom - r.rankTo} />`],
          [t("kpiComposite"), (r) => r.compositeFrom.toFixed(2) + " → " + r.compositeTo.toFixed(2)],
        ]} />
      </div>
    </section>
  </div>`;
}

function JobView({ id, me, onDone }) {
  const { job, error, live, state: connection } = useJob(id);
  const state = job && job.state;
  useEffect(() => {
    if (state && state !== "RUNNING") {
      onDone();
    }
  }, [state]);
  if (error) {
    return error.code === "NOT_FOUND"
      ? html`<p class="empty" data-test="job-gone">${t("jobGone")}</p>`
      : html`<${Failure} error=${error} />`;
  }
  if (!job) {
    return html`<${Loading} />`;
  }
  return html`<section class="panel wide" data-test="job" data-id=${job.id} data-state=${job.state}
      data-live-state=${live ? live.state : ""} data-live-done=${live ? live.done : ""}>
    <h3>${t("previewJob")} <code title=${job.id}>${short(job.id)}</code>
      <span class="hint"> ${t("startedBy")} <${Staff} id=${job.startedBy} me=${me} /> · ${t("rulesVersion")} ${job.rulesVersion}</span>
      ${(job.state === "RUNNING" || connection !== "off") && html`<span class=${"live live-" + connection}
        data-test="job-live" data-state=${connection}>● ${t("live_" + connection)}</span>`}</h3>
    <${Progress} job=${job} />
    ${job.state === "SUCCEEDED" && job.preview && html`<${Diff} p=${job.preview} />`}
  </section>`;
}

// Switch to the previewed generation, or back to the one before the last switch; the API
// refuses what may not be done (a preview under rules the log has not activated, no earlier
// generation) and the page says so.
function SwitchPanel({ onDone }) {
  const [outcome, setOutcome] = useState(null);
  const run = async (mutation, key) => {
    setOutcome({ busy: key });
    try {
      const data = await gql(mutation);
      setOutcome({ key, result: data[key] });
      onDone();
    } catch (error) {
      setOutcome({ key, error });
    }
  };
  const r = outcome && outcome.result;
  return html`<section class="panel" data-test="switch-panel">
    <h3>${t("switchTitle")}</h3>
    <p class="hint">${t("switchHint")}</p>
    <div class="toolbar">
      <button data-test="switch" disabled=${outcome && outcome.busy} onClick=${() => run(SWITCH, "switchReadModels")}>${t("switch")}</button>
      <button class="secondary" data-test="rollback" disabled=${outcome && outcome.busy}
        onClick=${() => run(ROLLBACK, "rollbackReadModels")}>${t("rollback")}</button>
    </div>
    ${r && html`<p data-test="switched" data-key=${outcome.key} data-generation=${r.generation} data-rules-version=${r.rulesVersion}>
      ${t(outcome.key === "switchReadModels" ? "switchedTo" : "rolledBackTo")}: ${t("generation")} ${r.generation} ·
      ${t("rulesVersion")} ${r.rulesVersion} · ${t("position")} ${r.position}</p>`}
    ${outcome && outcome.error && html`<div data-test="switch-refused" data-key=${outcome.key}><${Failure} error=${outcome.error} act=${true} /></div>`}
  </section>`;
}

function Jobs({ jobId, tick, me }) {
  const [data, error] = useQuery(() => gql(JOBS), [jobId, tick], true);
  if (error) {
    return html`<section class="panel"><${Failure} error=${error} /></section>`;
  }
  if (!data) {
    return html`<${Loading} />`;
  }
  const jobs = data.jobs;
  return html`<section class="panel" data-test="jobs">
    <h3>${t("jobs")}</h3>
    <${Table} test="job-list" rows=${jobs} columns=${[
      [t("kind"), (j) => (j.kind === "RULES_PREVIEW"
        ? html`<a href=${"#/rules?job=" + encodeURIComponent(j.id)}>${e(j.kind)}</a>` : e(j.kind))],
      [t("status"), (j) => html`<${Badge} value=${j.state} />`],
      [t("rulesVersion"), (j) => j.rulesVersion],
      [t("startedBy"), (j) => html`<${Staff} id=${j.startedBy} me=${me} />`],
      [t("progress"), (j) => j.done + " / " + j.target],
    ]} />
  </section>`;
}

// The preview, switch and rollback, for the roles the API lets run jobs (`jobs` answers);
// for the others the page says the API keeps these to operators.
function Operate({ rules, me, jobId, tick, onDone }) {
  const [data, error] = useQuery(() => gql(JOBS), []);
  if (error) {
    return error.code === "FORBIDDEN"
      ? html`<p class="hint" data-test="operate-hidden">${t("operateHidden")}</p>`
      : html`<${Failure} error=${error} />`;
  }
  if (!data) {
    return html`<${Loading} />`;
  }
  return html`<div data-test="operate" class="stack">
    <section class="panel">
      <h3>${t("preview")}</h3>
      <p class="hint">${t("previewHint")}</p>
      <${PreviewForm} rules=${rules} />
    </section>
    ${jobId && html`<${JobView} id=${jobId} me=${me} onDone=${onDone} />`}
    <div class="grid">
      <${SwitchPanel} onDone=${onDone} />
      <${Jobs} jobId=${jobId} tick=${tick} me=${me} />
    </div>
  </div>`;
}

export function Rules({ me, params }) {
  const [tick, setTick] = useState(0);
  // The position of the page's last version step, read back so the page shows its own write.
  const [at, setAt] = useState(null);
  const [data, error] = useQuery(() => gql(RULES, { at }), [tick, at], true);
  const jobId = params.get("job");
  if (error) {
    return html`<${Failure} error=${error} />`;
  }
  if (!data) {
    return html`<${Loading} />`;
  }
  const rules = data.rules;
  return html`<div data-test="rules" class="stack">
    <div class="toolbar"><h1>${t("rules")}</h1></div>
    <div class="figures">
      <${Figure} test="rules-version" label=${t("rulesInForce")} value=${rules.version} />
      <${Figure} test="rules-hash" label=${t("contentHash")} value=${short(rules.hash)} raw=${rules.hash} />
      <${Figure} test="pending-version" label=${t("pendingVersion")}
        value=${rules.pendingVersion === null ? "—" : rules.pendingVersion} raw=${rules.pendingVersion === null ? "" : rules.pendingVersion} />
    </div>
    <${Versions} rules=${rules} me=${me} onChanged=${(position) => setAt(position)} />
    <${Operate} rules=${rules} me=${me} jobId=${jobId} tick=${tick} onDone=${() => setTick((n) => n + 1)} />
  </div>`;
}
