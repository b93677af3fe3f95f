// The console: one small app with hash routing (#/sign-in,
// #/dashboard?region=ID&months=N&period=YYYY-MM, #/dashboard?branch=ID, #/customers?q=…,
// #/customer/ID, #/replay/ID, #/replay-staff/ID?branch=ID&period=YYYY-MM&asOf=T,
// #/replay-branch/ID?period=YYYY-MM&asOf=T, #/rules?job=ID,
// #/appraisal?month=YYYY-MM&period=P). Every
// figure comes from /graphql (and its subscriptions) under the signed-in token.
import { html, render, useState, useEffect, Loading, Failure } from "./ui.js";
import { t, e, lang, setLang } from "./i18n.js";
import { gql, token, signOut } from "./api.js";
import { SignIn } from "./signin.js";
import { Dashboard } from "./dashboard.js";
import { Customers } from "./customers.js";
import { Customer } from "./customer.js";
import { Replay } from "./replay.js";
import { StaffReplay, BranchReplay } from "./replay_org.js";
import { Rules } from "./rules.js";
import { Appraisal } from "./appraisal.js";
import { orgLevel, ORG_READABLE } from "./org.js";

export const ME = "{ me { staffId role scope { kind regionId branchId teamId } } }";

function route() {
  const hash = window.location.hash.replace(/^#\/?/, "");
  const [path, query] = hash.split("?");
  const parts = path.split("/").map(decodeURIComponent);
  const params = new URLSearchParams(query || "");
  return { page: parts[0] || "dashboard", id: parts[1] || null, params };
}

// Whether the API lets the signed-in token read the rules (headquarters, company auditors,
// operators): the nav offers the page only then.
const RULES_READABLE = "{ rules { version } }";

function Nav({ me, page, onLang }) {
  // A page's own sub-pages (#/replay-staff under #/replay) keep its link marked.
  const link = (to, key) =>
    html`<a href=${"#/" + to} class=${page === to || page.startsWith(to + "-") ? "active" : ""}
      data-test=${"nav-" + to}>${t(key)}</a>`;
  return html`<header class="nav">
    <span class="brand">${t("console")}</span>
    ${link("dashboard", "dashboard")}
    ${link("customers", "customers")}
    ${link("appraisal", "appraisal")}
    ${me.role === "AUDITOR" && link("replay", "replay")}
    ${me.rulesReadable && link("rules", "rules")}
    <span class="spacer"></span>
    <span class="who" data-test="signed-in-role">${t("signedInAs")}: ${e(me.role)}</span>
    <button class="link" data-test="lang" onClick=${onLang}>${lang() ? "中文" : "English"}</button>
    <button class="link" data-test="sign-out" onClick=${() => {
      signOut();
      window.location.hash = "#/sign-in";
    }}>${t("signOut")}</button>
  </header>`;
}

function App() {
  const [where, setWhere] = useState(route());
  const [me, setMe] = useState({ data: null, error: null, token: null });
  const [, setLangTick] = useState(0);
  useEffect(() => {
    const onHash = () => setWhere(route());
    window.addEventListener("hashchange", onHash);
    return () => window.removeEventListener("hashchange", onHash);
  }, []);
  const current = token();
  useEffect(() => {
    if (!current || me.token === current) {
      return;
    }
    // What the token may read decides the nav and the dashboard: the rules, and the org
    // dashboard of the caller's level (null: the branch dashboard).
    const orgReadable = (who) => {
      const scope = orgLevel(who);
      if (!scope) {
        return Promise.resolve(null);
      }
      return gql(ORG_READABLE, { scope }).then(
        (d) => (d.orgDashboard ? scope : null),
        () => null
      );
    };
    gql(ME).then(
      (data) =>
        Promise.all([
          gql(RULES_READABLE).then(() => true, () => false),
          orgReadable(data.me),
        ]).then(([rulesReadable, org]) =>
          setMe({ data: { ...data.me, rulesReadable, org }, error: null, token: current })
        ),
      (error) => setMe({ data: null, error, token: current })
    );
  }, [current, me.token]);
  const onLang = () => {
    setLang(!lang());
    setLangTick((n) => n + 1);
  };
  if (!current || where.page === "sign-in") {
    return html`<${SignIn} onLang=${onLang} />`;
  }
  if (me.token !== current) {
    return html`<${Loading} />`;
  }
  if (me.error) {
    return html`<main><${Failure} error=${me.error} /><a href="#/sign-in">${t("signIn")}</a></main>`;
  }
  let body;
  if (where.page === "customers") {
    body = html`<${Customers} params=${where.params} />`;
  } else if (where.page === "replay") {
    body = html`<${Replay} id=${where.id} params=${where.params} />`;
  } else if (where.page === "replay-staff") {
    body = html`<${StaffReplay} id=${where.id} params=${where.params} />`;
  } else if (where.page === "replay-branch") {
    body = html`<${BranchReplay} id=${where.id} params=${where.params} />`;
  } else if (where.page === "appraisal") {
    body = html`<${Appraisal} me=${me.data} params=${where.params} />`;
  } else if (where.page === "rules") {
    body = html`<${Rules} me=${me.data} params=${where.params} />`;
  } else if (where.page === "customer" && where.id) {
    body = html`<${Customer} id=${where.id} />`;
  } else {
    body = html`<${Dashboard} me=${me.data} params=${where.params} />`;
  }
  return html`<div class="shell" data-test=${"page-" + where.page}>
    <${Nav} me=${me.data} page=${where.page} onLang=${onLang} />
    <main>${body}</main>
  </div>`;
}

document.documentElement.lang = lang() ? "en" : "zh-CN";
const root = document.getElementById("app");
root.textContent = "";
render(html`<${App} />`, root);
