// Sign in: paste a bearer token, or (when the server runs with --demo and offers them) pick a
// demo role. The token is checked with `me` before it is kept.
import { html, useState, useEffect } from "./ui.js";
import { t, lang } from "./i18n.js";
import { gql, signIn, demoSignIns } from "./api.js";

const ME = "{ me { role } }";

export function SignIn({ onLang }) {
  const [pasted, setPasted] = useState("");
  const [demo, setDemo] = useState([]);
  const [refused, setRefused] = useState(null);
  useEffect(() => {
    demoSignIns().then(setDemo);
  }, []);
  const use = async (value) => {
    const candidate = value.trim();
    setRefused(null);
    try {
      await gql(ME, {}, candidate);
    } catch (error) {
      setRefused(error);
      return;
    }
    signIn(candidate);
    window.location.hash = "#/dashboard";
    // The hash may already be #/dashboard (signing in again): re-render either way.
    window.dispatchEvent(new HashChangeEvent("hashchange"));
  };
  return html`<main class="sign-in" data-test="page-sign-in">
    <div class="sign-in-head">
      <h1>${t("console")}</h1>
      <button class="link" data-test="lang" onClick=${onLang}>${lang() ? "中文" : "English"}</button>
    </div>
    <form onSubmit=${(ev) => {
      ev.preventDefault();
      use(pasted);
    }}>
      <label for="token">${t("pasteToken")}</label>
      <textarea id="token" data-test="token" rows="4" value=${pasted}
        onInput=${(ev) => setPasted(ev.target.value)}></textarea>
      <button type="submit" data-test="sign-in">${t("signIn")}</button>
    </form>
    ${refused && html`<p class="failure" data-test="refused">${t("tokenRefused")} (${refused.code})</p>`}
    ${demo.length > 0 && html`<section data-test="demo-roles">
      <h2>${t("demoRoles")}</h2>
      <p class="hint">${t("demoHint")}</p>
      <ul class="roles">
        ${demo.map((d) => html`<li>
          <button data-test=${"demo-" + d.role} onClick=${() => use(d.token)}>${d.role}</button>
          <span class="hint">${d.who}</span>
        </li>`)}
      </ul>
    </section>`}
  </main>`;
}
