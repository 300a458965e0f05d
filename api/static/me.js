// The holder's page: my certificates (PDF, proof bundle), use codes, share links and my access log.
// Talks only to this origin with the holder token (Authorization: Bearer), kept in sessionStorage.
"use strict";

const TOKEN_KEY = "certledger.holderToken";
const STATUS = { "01": ["有效", "valid"], "02": ["暂停", "suspended"], "03": ["撤销", "revoked"], "04": ["注销", "cancelled"],
  "05": ["过期", "expired"], "07": ["撤回", "withdrawn"], "08": ["已换新", "superseded"] };
const BASE_FIELDS = [["holder", "持证主体", "Holder"], ["number", "证照编号", "Number"], ["issue_date", "发证日期", "Issue date"],
  ["valid_from", "有效期起始", "Valid from"], ["valid_until", "有效期截止", "Valid until"]];
const LINK_STATES = { active: ["有效", "active"], expired: ["已过期", "expired"], revoked: ["已撤销", "revoked"] };
const VERDICTS = { VALID: ["已上链核验", "anchored and verified"], INVALID: ["核验失败", "verification failed"],
  SKIPPED: ["等待上链", "waiting to be anchored"] };

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(c == null ? "" : String(c)));
  return node;
}

function bilingual(zh, en) {
  return [zh, el("span", { class: "en", lang: "en" }, en)];
}

function token() { return sessionStorage.getItem(TOKEN_KEY); }

async function call(method, path, body) {
  const headers = { Authorization: "Bearer " + token(), Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!r.ok) {
    let message = r.status + "";
    try { message = (await r.json()).error.message; } catch (e) { /* not JSON */ }
    const err = new Error(message);
    err.status = r.status;
    throw err;
  }
  return r;
}

async function download(path, filename) {
  const r = await call("GET", path);
  const url = URL.createObjectURL(await r.blob());
  const a = el("a", { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function svgData(svg) {
  return "data:image/svg+xml;base64," + btoa(unescape(encodeURIComponent(svg)));
}

function showError(node, err) {
  node.textContent = err.message;
  node.hidden = false;
}

function statusBadge(code) {
  const [zh, en] = STATUS[code] || [code, ""];
  const cls = code === "01" ? "s-valid" : (code === "02" || code === "05" ? "s-other" : "s-bad");
  return el("span", { class: "badge " + cls }, ...bilingual(zh, en));
}

function certItem(c) {
  const safe = c.identifier.replace(/[^0-9A-Za-z.]/g, "_");
  const pdf = el("button", { type: "button", onclick: (e) => download(`/holders/me/certificates/${encodeURIComponent(c.identifier)}/document`, safe + ".pdf").catch((err) => alert(err.message)) },
    ...bilingual("下载 PDF", "Download PDF"), el("span", { class: "sr-only" }, " " + c.name));
  const bundle = el("button", { type: "button", onclick: () => download(`/holders/me/certificates/${encodeURIComponent(c.identifier)}/bundle`, safe + ".json").catch((err) => alert(err.message)) },
    ...bilingual("下载核验包", "Proof bundle"), el("span", { class: "sr-only" }, " " + c.name));
  return el("li", {},
    el("div", { class: "cert-head" }, el("span", { class: "cert-name" }, c.name + (c.current ? "" : "（旧版本 former version）")), statusBadge(c.status)),
    el("div", { class: "mono" }, c.identifier),
    el("div", { class: "muted" }, `${c.issuing_department || ""} · 发证 issued ${c.issue_date || "—"} · 有效至 until ${c.valid_until || "长期 no end"}`),
    el("div", { class: "actions" }, pdf, bundle));
}

async function loadCertificates() {
  const items = (await (await call("GET", "/holders/me/certificates")).json()).items;
  $("certs").replaceChildren(...items.map(certItem));
  $("certs-empty").hidden = items.length > 0;
  $("share-cert").replaceChildren(...items.filter((c) => c.current).map((c) => el("option", { value: c.identifier }, `${c.name} · ${c.number || c.identifier}`)));
}

async function loadLinks() {
  const items = (await (await call("GET", "/holders/me/share-links")).json()).items;
  $("links").replaceChildren(...items.map((l) => {
    const [zh, en] = LINK_STATES[l.state];
    const revoke = l.state === "active"
      ? el("button", { type: "button", onclick: async () => { await call("POST", `/holders/me/share-links/${l.id}/revoke`); loadLinks(); } }, ...bilingual("撤销", "Revoke"), el("span", { class: "sr-only" }, ` #${l.id}`))
      : "";
    return el("tr", {}, el("td", {}, l.name + (l.label ? ` · ${l.label}` : "")), el("td", {}, ...bilingual(zh, en)),
      el("td", {}, new Date(l.expires_at).toLocaleString("zh-CN")), el("td", {}, l.openings), el("td", {}, revoke));
  }));
}

function logItem(e) {
  const certs = e.certificates.map((c) => c.name || c.identifier).join("、");
  const looker = e.counter ? `${e.counter.name || e.counter.uscc}${e.staff_id ? ` · 工作人员 ${e.staff_name || ""} ${e.staff_id}` : ""}` : "公众（扫码核验）";
  const who = e.kind === "share_opening"
    ? bilingual(`分享链接 #${e.share_link} 被打开，显示：${(e.fields || []).join(", ")}`, "a share link was opened")
    : e.kind === "lookup"
    ? bilingual(`${looker} 按证照标识查验 ${e.lookups} 次，持证人已隐去`, e.counter ? "looked up by a counter (holder masked)" : "looked up by the public (holder masked)")
    : bilingual(`${e.counter.name || e.counter.uscc} · 工作人员 ${e.staff_name || ""} ${e.staff_id} · ${e.service_item.name || e.service_item.code} · 办件号 ${e.case_number}`, "counter intake");
  const result = el("div", { class: "check-result", role: "status" });
  const check = el("button", { type: "button", onclick: async () => {
    try {
      const out = await (await call("GET", `/holders/me/access-log/${e.id}/anchor`)).json();
      const [zh, en] = VERDICTS[out.verdict] || [out.verdict, ""];
      result.replaceChildren(el("span", { class: "badge " + (out.verdict === "VALID" ? "s-valid" : out.verdict === "INVALID" ? "s-bad" : "s-other") }, ...bilingual(zh, en)));
    } catch (err) { result.textContent = err.message; }
  } }, ...bilingual("核验上链记录", "Check its anchor"), el("span", { class: "sr-only" }, ` #${e.id}`));
  return el("li", {}, el("div", { class: "cert-head" }, el("strong", {}, new Date(e.time).toLocaleString("zh-CN")), el("span", { class: "muted" }, certs)),
    el("div", {}, ...who), check, result);
}

async function loadLog() {
  const items = (await (await call("GET", "/holders/me/access-log")).json()).items;
  $("log").replaceChildren(...items.map(logItem));
  $("log-empty").hidden = items.length > 0;
}

function renderFieldChoices() {
  $("share-fields").replaceChildren(...BASE_FIELDS.map(([key, zh, en]) =>
    el("label", { class: "check" }, el("input", { type: "checkbox", name: "field", value: key }), zh, el("span", { class: "en", lang: "en" }, en))));
  const sync = () => $("share-fields").querySelectorAll("input").forEach((i) => { i.disabled = $("share-all").checked; });
  $("share-all").addEventListener("change", sync);
  sync();
}

async function makeCode() {
  const out = await (await call("POST", "/holders/me/use-codes")).json();
  $("code-text").textContent = out.code;
  $("code-qr").src = out.qr_svg ? svgData(out.qr_svg) : "data:image/png;base64," + out.qr_png;
  $("code-expiry").textContent = `有效至 ${new Date(out.expires_at).toLocaleTimeString("zh-CN")} · valid until then`;
  $("code-box").hidden = false;
}

async function makeLink(event) {
  event.preventDefault();
  $("share-error").hidden = true;
  const chosen = [...$("share-fields").querySelectorAll("input:checked")].map((i) => i.value);
  const body = { identifier: $("share-cert").value, ttl_hours: Number($("share-hours").value) };
  if (!$("share-all").checked) body.fields = chosen;
  if ($("share-label").value.trim()) body.label = $("share-label").value.trim();
  try {
    const out = await (await call("POST", "/holders/me/share-links", body)).json();
    $("share-url").textContent = out.url;
    $("share-url").href = out.url;
    $("share-qr").src = svgData(out.qr_svg);
    $("share-box").hidden = false;
    loadLinks();
  } catch (err) { showError($("share-error"), err); }
}

async function start() {
  try {
    await loadCertificates();
  } catch (err) {
    sessionStorage.removeItem(TOKEN_KEY);
    $("work").hidden = true;
    $("token-section").hidden = false;
    $("sign-out").hidden = true;
    showError($("token-error"), err);
    return;
  }
  $("token-section").hidden = true;
  $("work").hidden = false;
  $("sign-out").hidden = false;
  await Promise.all([loadLinks(), loadLog()]);
}

document.addEventListener("DOMContentLoaded", () => {
  renderFieldChoices();
  $("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    $("token-error").hidden = true;
    sessionStorage.setItem(TOKEN_KEY, $("token-input").value.trim());
    $("token-input").value = "";
    start();
  });
  $("sign-out").addEventListener("click", () => { sessionStorage.removeItem(TOKEN_KEY); location.reload(); });
  $("make-code").addEventListener("click", () => makeCode().catch((err) => alert(err.message)));
  $("share-form").addEventListener("submit", makeLink);
  if (token()) start();
});
