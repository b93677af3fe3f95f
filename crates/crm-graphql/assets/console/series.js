// The monthly series (每月趋势) of a dashboard's main figures — customers, assets, net inflow,
// commission, new and lost customers — over 6, 12 or 24 months as Chart.js charts and a
// table, with the switch between the lengths. One component for every level: the company's,
// a region's and a branch's dashboard all read `orgDashboard(scope).series`, which for a
// branch is its own dashboard's figures month by month (the API's, not summed here).
import { html, useQuery, Table, SeriesChart, Loading, Failure, money } from "./ui.js";
import { t } from "./i18n.js";
import { gql } from "./api.js";

const SERIES = `query ($scope: OrgScopeInput!, $period: BranchPeriodInput, $months: Int) {
  orgDashboard(scope: $scope, period: $period) { series(months: $months) { period customers assets netInflow commission newCustomers churned } } }`;

// The months the series switch offers; 12 unless the route asks for another.
export const SERIES_MONTHS = [6, 12, 24];

// The series length a route asks for (`?months=`), 12 unless one the switch offers.
export function seriesMonths(params) {
  const n = Number(params.get("months"));
  return SERIES_MONTHS.includes(n) ? n : 12;
}

// The month a route's `period` names as the API takes it; null for the latest.
export const periodArg = (period) => (period ? { month: period } : null);

// The series of `scope` (an `OrgScopeInput`) over `months` months up to `period` (YYYY-MM;
// none: the latest), with the 6 / 12 / 24 switch calling `onMonths`. `test` names the panel.
export function MonthlySeries({ scope, period, months, onMonths, test }) {
  const key = JSON.stringify(scope) + "/" + (period || "") + "/" + months;
  // The answer keeps the months it was for: the last one stays on screen while the next loads.
  const [data, error] = useQuery(
    () => gql(SERIES, { scope, period: periodArg(period), months })
      .then((d) => ({ months, points: d.orgDashboard ? d.orgDashboard.series : null })),
    [key],
    true
  );
  const points = data ? data.points : null;
  const labels = points ? points.map((p) => p.period) : [];
  const of = (field) => (points ? points.map((p) => Number(p[field])) : []);
  const switcher = html`<span class="switch" data-test="series-months">
    ${SERIES_MONTHS.map((n) => html`<button class=${n === months ? "chosen" : "secondary"}
      data-test=${"months-" + n} onClick=${() => onMonths(n)}>${n} ${t("monthsShort")}</button>`)}
  </span>`;
  let body;
  if (error) {
    body = html`<${Failure} error=${error} />`;
  } else if (!points) {
    body = html`<${Loading} />`;
  } else {
    body = html`<div class="series-grid">
        <div><h4>${t("customersCount")}</h4>
          <${SeriesChart} type="line" test="series-customers" labels=${labels}
            datasets=${[{ label: t("customersCount"), values: of("customers") }]} /></div>
        <div><h4>${t("assets")}</h4>
          <${SeriesChart} type="line" test="series-assets" labels=${labels}
            datasets=${[{ label: t("assets"), values: of("assets") }]} /></div>
        <div><h4>${t("netInflow")}</h4>
          <${SeriesChart} type="bar" test="series-net-inflow" labels=${labels}
            datasets=${[{ label: t("netInflow"), values: of("netInflow") }]} /></div>
        <div><h4>${t("commission")}</h4>
          <${SeriesChart} type="bar" test="series-commission" labels=${labels}
            datasets=${[{ label: t("commission"), values: of("commission") }]} /></div>
        <div><h4>${t("newAndLost")}</h4>
          <${SeriesChart} type="bar" test="series-customers-flow" labels=${labels}
            datasets=${[
              { label: t("newCustomers"), values: of("newCustomers") },
              { label: t("churned"), values: of("churned") },
            ]} /></div>
      </div>
      <details>
        <summary>${t("seriesTable")}</summary>
        <${Table} test="series" rows=${points} columns=${[
          [t("month"), (p) => p.period],
          [t("customersCount"), (p) => p.customers],
          [t("assets"), (p) => money(p.assets)],
          [t("netInflow"), (p) => money(p.netInflow)],
          [t("commission"), (p) => money(p.commission)],
          [t("newCustomers"), (p) => p.newCustomers],
          [t("churned"), (p) => p.churned],
        ]} />
      </details>`;
  }
  return html`<section class="panel wide" data-test=${test} data-asked=${months}
    data-months=${data ? data.months : ""} data-points=${points ? points.length : ""}>
    <div class="panel-head"><h3>${t("monthlyTrend")} (${months} ${t("monthsShort")})</h3>${switcher}</div>
    ${body}
  </section>`;
}
