// The administrator's page of the city plan's targets: progress bars with their figures, a chart of the
// certificates collected per day and per department (inline SVG), and the lists of what is missing, each
// exportable as CSV. Plain browser JavaScript, no dependencies; everything shown is written with textContent.
"use strict";

(() => {
  const KEY_STORE = "certledger.admin.key";
  const SVG = "http://www.w3.org/2000/svg";
  const COLOURS = ["#1f5fa8", "#a3161a", "#13703a", "#8a5300", "#6b3fa0", "#00707a", "#b0407a", "#4a5563",
    "#5a7d1a", "#c2410c"];
  const CSV_HEADER = ["编码 code", "名称 name", "部门代码 department code", "部门 department", "说明 note"];
  const $ = (id) => document.getElementById(id);
  let figures = null;

  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "text") node.textContent = v;
      else if (k === "style") Object.assign(node.style, v);  // CSSOM: allowed by the page's style-src 'self'
      else node.setAttribute(k, v);
    }
    for (const child of children) if (child) node.append(child);
    return node;
  };
  const svg = (tag, attrs = {}) => {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    return node;
  };
  // "中文 / English" titles: the Chinese first, the English beside in the page's muted style
  const bilingual = (tag, title, attrs = {}) => {
    const [zh, en] = title.split(" / ");
    return el(tag, attrs, document.createTextNode(zh + " "), en ? el("span", {class: "en", text: en}) : null);
  };
  const number = (n) => n.toLocaleString("zh-CN");
  const percent = (share) => (share * 100).toFixed(1) + "%";

  const storedKey = () => sessionStorage.getItem(KEY_STORE) || "";

  function showError(title, message, code) {
    $("error-title").textContent = title;
    $("error-message").textContent = message || "";
    $("error-code").textContent = code ? "code: " + code : "";
    $("error").hidden = false;
  }

  function showKeyForm() {
    $("key-section").hidden = false;
    $("work").hidden = true;
    $("session").hidden = true;
    $("key-input").focus();
  }

  async function call(path, accept = "application/json") {
    const response = await fetch(path, {headers: {"X-API-Key": storedKey(), "Accept": accept}, cache: "no-store"});
    if (!response.ok) {
      let error = {code: "http_" + response.status, message: response.statusText};
      try { error = (await response.json()).error || error; } catch (e) { /* not JSON */ }
      if (response.status === 401 || response.status === 403) {
        sessionStorage.removeItem(KEY_STORE);
        showKeyForm();
      }
      throw error;
    }
    return response;
  }

  async function load() {
    $("error").hidden = true;
    $("as-of").textContent = "正在读取… Loading…";
    try {
      figures = await (await call("plan-targets?days=" + $("days").value)).json();
    } catch (error) {
      $("as-of").textContent = "";
      showError("读取指标失败 / Could not read the targets", error.message, error.code);
      return;
    }
    $("key-section").hidden = true;
    $("session").hidden = false;
    $("work").hidden = false;
    $("as-of").textContent = "截至 " + figures.as_of.replace("T", " ").replace("+00:00", "") + " (UTC) · as of";
    renderTargets(figures.targets);
    renderChart(figures.series);
    renderMissing(figures.targets);
  }

  function renderTargets(targets) {
    const list = $("targets");
    list.replaceChildren();
    for (const t of targets) {
      const titleId = "target-" + t.key;
      const width = Math.min(1, t.share) * 100;
      const bar = el("div", {class: "bar", role: "progressbar", "aria-labelledby": titleId, "aria-valuemin": "0",
        "aria-valuemax": String(t.target), "aria-valuenow": String(Math.min(t.figure, t.target)),
        "aria-valuetext": `${number(t.figure)} / ${number(t.target)} (${percent(t.share)})`},
      el("span", {style: {width: `${width.toFixed(2)}%`}}));
      const badge = t.meets_target ? el("span", {class: "badge badge-met", text: "已达标 met"})
        : el("span", {class: "badge badge-open", text: "未达标 not yet"});
      const item = el("li", {class: "card target" + (t.meets_target ? " met" : ""), "data-key": t.key},
        bilingual("h3", t.title, {id: titleId}),
        el("div", {class: "figures"}, el("span", {class: "figure", text: number(t.figure)}),
          el("span", {class: "goal", text: "/ " + number(t.target)}), badge,
          el("span", {class: "share", text: percent(t.share)})),
        bar,
        t.missing.length ? el("p", {class: "hint", text: `缺 ${t.missing.length} 项 · ${t.missing.length} missing`}) : null);
      list.append(item);
    }
  }

  function renderChart(series) {
    // drawn at the box's own width (text stays legible on a phone), redrawn when the window is resized
    const width = Math.round(Math.max(320, Math.min(960, $("chart").clientWidth || 960)));
    const height = width < 600 ? 240 : 300, left = 44, right = 10, top = 12, bottom = 36;
    const days = series.days, n = days.length;
    const totals = days.map((_, i) => series.departments.reduce((sum, d) => sum + d.counts[i], 0));
    const max = Math.max(1, ...totals);
    const raw = max / 4, power = Math.pow(10, Math.floor(Math.log10(raw)));
    const tick = [1, 2, 5, 10].map((m) => m * power).find((m) => m >= raw);  // 1, 2 or 5 times a power of ten
    const ceiling = Math.max(4, tick * 4);
    const plotW = width - left - right, plotH = height - top - bottom;
    const slot = plotW / n, barW = Math.max(2, slot * 0.72);
    const y = (v) => top + plotH - (v / ceiling) * plotH;
    const total = totals.reduce((a, b) => a + b, 0);
    const root = svg("svg", {viewBox: `0 0 ${width} ${height}`, role: "img", "aria-labelledby": "chart-svg-title"});
    const title = svg("title", {id: "chart-svg-title"});
    title.textContent = `${days[0]} 至 ${days[n - 1]} 共归集 ${total} 份证照 / ${total} certificates collected from ` +
      `${days[0]} to ${days[n - 1]}`;
    root.append(title);
    for (let k = 0; k <= 4; k++) {
      const v = (ceiling / 4) * k;  // whole numbers: the tick is at least 1
      root.append(svg("line", {x1: left, x2: width - right, y1: y(v), y2: y(v), stroke: "#e1e5ea"}));
      const label = svg("text", {x: left - 6, y: y(v) + 4, "text-anchor": "end"});
      label.textContent = number(Math.round(v));
      root.append(label);
    }
    series.departments.forEach((dept, d) => {
      const colour = COLOURS[d % COLOURS.length];
      dept.counts.forEach((count, i) => {
        if (!count) return;
        const below = series.departments.slice(0, d).reduce((sum, other) => sum + other.counts[i], 0);
        const rect = svg("rect", {x: left + i * slot + (slot - barW) / 2, y: y(below + count), width: barW,
          height: Math.max(0.5, y(below) - y(below + count)), fill: colour});
        const tip = svg("title");
        tip.textContent = `${days[i]} ${dept.name || dept.uscc}: ${count}`;
        rect.append(tip);
        root.append(rect);
      });
    });
    const every = Math.max(1, Math.ceil(n / Math.max(3, Math.floor(width / 90))));
    days.forEach((day, i) => {
      if (i % every && i !== n - 1) return;
      const label = svg("text", {x: left + i * slot + slot / 2, y: height - bottom + 18, "text-anchor": "middle"});
      label.textContent = day.slice(5);
      root.append(label);
    });
    $("chart").replaceChildren(root);
    $("legend").replaceChildren(...series.departments.map((dept, d) => el("li", {},
      el("span", {class: "swatch", style: {background: COLOURS[d % COLOURS.length]}}),
      document.createTextNode(`${dept.name || dept.uscc} ${number(dept.counts.reduce((a, b) => a + b, 0))}`))));
    if (!series.departments.length) {
      $("legend").append(el("li", {class: "muted", text: "此期间没有归集证照 · nothing collected in this period"}));
    }
  }

  function csvCell(value) {
    let text = value === null || value === undefined ? "" : String(value);
    if (/^[=+\-@]/.test(text)) text = "'" + text;  // never a formula in Excel
    return /[",\r\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  }

  function download(name, blob) {
    const link = el("a", {href: URL.createObjectURL(blob), download: name});
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  }

  function exportList(t) {
    const rows = [CSV_HEADER, ...t.missing.map((m) => [m.code, m.name, m.department_uscc, m.department_name, m.note])];
    const text = "\ufeff" + rows.map((r) => r.map(csvCell).join(",")).join("\r\n") + "\r\n";
    download(`missing-${t.key}.csv`, new Blob([text], {type: "text/csv;charset=utf-8"}));
  }

  function renderMissing(targets) {
    const box = $("missing");
    box.replaceChildren();
    const open = targets.filter((t) => t.missing.length);
    if (!open.length) box.append(el("p", {class: "card", text: "全部达标，没有缺项。 Every target is met: nothing is missing."}));
    for (const t of open) {
      const exportButton = el("button", {type: "button", class: "secondary", "data-export": t.key},
        document.createTextNode("导出 CSV "), el("span", {class: "en", text: "Export CSV"}));
      exportButton.addEventListener("click", () => exportList(t));
      const rows = t.missing.map((m) => el("tr", {}, el("td", {class: "mono", text: m.code}), el("td", {text: m.name}),
        el("td", {text: m.department_name || "—"}), el("td", {text: m.note})));
      const head = el("tr", {}, ...CSV_HEADER.filter((_, i) => i !== 2).map((h) => {
        const [zh, en] = h.split(" ");
        return el("th", {scope: "col"}, document.createTextNode(zh), el("span", {class: "en", text: en}));
      }));
      const summary = el("summary", {}, bilingual("span", t.title), el("span", {class: "badge badge-open",
        text: `${t.missing.length} 项 missing`}));
      const table = el("table", {}, el("caption", {class: "en", text: t.title}), el("thead", {}, head),
        el("tbody", {}, ...rows));
      box.append(el("details", {class: "card", "data-key": t.key}, summary,
        el("div", {}, el("div", {class: "list-actions"}, exportButton),
          el("div", {class: "scroll", tabindex: "0", role: "region", "aria-label": t.title}, table))));
    }
  }

  async function exportAll() {
    try {
      const response = await call("plan-targets.csv?days=" + $("days").value, "text/csv");
      download("plan-targets.csv", await response.blob());
    } catch (error) {
      showError("导出失败 / Export failed", error.message, error.code);
    }
  }

  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const key = $("key-input").value.trim();
    if (!key) return;
    sessionStorage.setItem(KEY_STORE, key);
    $("key-input").value = "";
    load();
  });
  $("forget-key").addEventListener("click", () => {
    sessionStorage.removeItem(KEY_STORE);
    showKeyForm();
  });
  $("refresh").addEventListener("click", load);
  $("export-all").addEventListener("click", exportAll);
  $("days").addEventListener("change", load);
  let resizing = 0;
  window.addEventListener("resize", () => {
    clearTimeout(resizing);
    resizing = setTimeout(() => { if (figures && !$("work").hidden) renderChart(figures.series); }, 150);
  });

  if (storedKey()) load(); else showKeyForm();
})();
