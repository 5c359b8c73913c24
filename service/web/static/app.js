/* leanplan planner pages: draw the Plotly figures the server embedded, and the what-if form. */
"use strict";

const BASE_LAYOUT = {
  margin: { l: 64, r: 18, t: 16, b: 46 },
  paper_bgcolor: "rgba(0,0,0,0)",
  plot_bgcolor: "rgba(0,0,0,0)",
  font: { family: "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif", size: 12, color: "#1f2937" },
  hoverlabel: { font: { size: 12 } },
  xaxis: { gridcolor: "#eef2f7", linecolor: "#cbd5e1", zeroline: false },
  yaxis: { gridcolor: "#eef2f7", linecolor: "#cbd5e1", zeroline: false, separatethousands: true },
  separators: ".,",
};
const CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["lasso2d", "select2d"] };

function merge(base, extra) {
  const out = Object.assign({}, base);
  for (const [k, v] of Object.entries(extra || {})) {
    out[k] = v && typeof v === "object" && !Array.isArray(v) && base[k] && typeof base[k] === "object"
      ? merge(base[k], v) : v;
  }
  return out;
}

function drawCharts(root) {
  if (typeof Plotly === "undefined") return;
  for (const spec of root.querySelectorAll("script.chart-spec")) {
    const box = spec.previousElementSibling;
    if (!box || box.dataset.drawn) continue;
    const fig = JSON.parse(spec.textContent);
    Plotly.newPlot(box, fig.data, merge(BASE_LAYOUT, fig.layout), CONFIG);
    box.dataset.drawn = "1";
  }
  document.body.dataset.chartsDrawn = "1";
}

/* --- what-if ------------------------------------------------------------------------------------------- */

const FMT = {
  units: (x) => x == null ? "—" : x.toLocaleString("en-US", { maximumFractionDigits: Math.abs(x) < 100 ? 1 : 0 }),
  money: (x) => x == null ? "—" : x.toLocaleString("en-US", { maximumFractionDigits: Math.abs(x) < 100 ? 2 : 0 }),
  pct: (x) => x == null ? "—" : (100 * x).toLocaleString("en-US", { minimumFractionDigits: 1, maximumFractionDigits: 1 }) + " %",
  days: (x) => x == null ? "—" : x.toLocaleString("en-US", { maximumFractionDigits: Math.abs(x) < 10 ? 1 : 0 }) + " d",
};
const ROWS = [
  ["service_target", "Fill-rate target", "pct"],
  ["lead_time_days", "Mean lead time", "days"],
  ["safety_stock", "Safety stock (units)", "units"],
  ["reorder_point", "Reorder point (units)", "units"],
  ["order_up_to", "Order-up-to level (units)", "units"],
  ["order_qty", "Order quantity (units)", "units"],
  ["order_now", "Order to place now (units)", "units"],
  ["expected_fill_rate", "Expected fill rate", "pct"],
  ["capital", "Capital (expected inventory value)", "money"],
  ["days_of_supply", "Days of supply", "days"],
];
const HIGHER_IS_BETTER = { expected_fill_rate: true, capital: false, safety_stock: false, days_of_supply: false };

function whatIf(form) {
  const out = document.getElementById("whatif-result");
  const status = document.getElementById("whatif-status");
  const values = {};
  for (const input of form.querySelectorAll("[data-show]")) {
    const show = document.getElementById(input.dataset.show);
    if (show) show.textContent = input.dataset.fmt === "pct" ? (+input.value).toFixed(1) + " %" : input.value;
  }
  let timer = null;
  async function run() {
    const body = { sku: form.sku.value.trim() };
    const target = parseFloat(form.service_target.value);
    const lead = form.lead_time_days.value.trim();
    const moq = form.moq.value.trim();
    if (!isNaN(target)) body.service_target = target / 100;
    if (lead !== "") body.lead_time_days = parseFloat(lead);
    if (moq !== "") body.moq = parseFloat(moq);
    out.classList.add("busy");
    status.textContent = "computing…";
    try {
      const response = await fetch(form.action, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": form.dataset.csrf },
        body: JSON.stringify(body),
        credentials: "same-origin",
      });
      const data = await response.json();
      if (!response.ok) {
        status.textContent = data.detail || ("error " + response.status);
        status.className = "note down";
        return;
      }
      render(data);
      status.textContent = "as of " + data.as_of + (data.plan_id ? " · baseline from plan " + data.plan_id : "")
        + (data.model_version ? " · forecast " + (/^\d+$/.test(data.model_version) ? "v" : "") + data.model_version
          : " · demand from history");
      status.className = "note";
    } catch (err) {
      status.textContent = "could not reach the server: " + err;
      status.className = "note down";
    } finally {
      out.classList.remove("busy");
    }
  }
  function render(data) {
    const r = data.results[0];
    const body = out.querySelector("tbody");
    body.innerHTML = "";
    for (const [key, label, kind] of ROWS) {
      const tr = document.createElement("tr");
      const base = r.baseline[key], scen = r.scenario[key];
      const d = key in r.delta ? r.delta[key] : (base != null && scen != null ? scen - base : null);
      let cls = "";
      if (d != null && Math.abs(d) > 1e-9 && key in HIGHER_IS_BETTER) {
        cls = (d > 0) === HIGHER_IS_BETTER[key] ? "up" : "down";
      }
      const sign = d != null && d > 0 ? "+" : "";
      const cells = [label, FMT[kind](base), FMT[kind](scen), d == null ? "—" : sign + FMT[kind](d)];
      cells.forEach((text, i) => {
        const td = document.createElement("td");
        td.textContent = text;
        if (i > 0) td.className = "num" + (i === 3 ? " delta " + cls : "");
        tr.appendChild(td);
      });
      tr.dataset.metric = key;
      body.appendChild(tr);
    }
    out.hidden = false;
  }
  function schedule() {
    for (const input of form.querySelectorAll("[data-show]")) {
      const show = document.getElementById(input.dataset.show);
      if (show) show.textContent = input.dataset.fmt === "pct" ? (+input.value).toFixed(1) + " %" : input.value;
    }
    clearTimeout(timer);
    timer = setTimeout(run, 250);
  }
  form.addEventListener("input", (e) => { if (e.target.name !== "sku") schedule(); });
  form.addEventListener("change", (e) => { if (e.target.name === "sku") schedule(); });
  form.addEventListener("submit", (e) => { e.preventDefault(); run(); });
  run();
}

document.addEventListener("DOMContentLoaded", () => {
  drawCharts(document);
  const form = document.getElementById("whatif-form");
  if (form) whatIf(form);
});
