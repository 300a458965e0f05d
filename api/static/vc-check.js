// The counter page's check of a W3C VC 2.0: this platform's or another city's on the trust list.
// Self-contained (its own section, #vc-check, in counter.html): paste or upload the credential, it is sent
// to POST /counters/verify/vc with the counter key the page keeps, and the verdict and every check are shown
// in Chinese with English. Everything shown is written with textContent: nothing is parsed as HTML.
"use strict";

(() => {
  const KEY_STORE = "certledger.counter.key";  // the key counter.js keeps for this tab
  const $ = (id) => document.getElementById(id);
  const WORDS = {VALID: ["有效", "valid"], INVALID: ["无效", "invalid"], ERROR: ["出错", "error"],
    SKIPPED: ["跳过", "skipped"]};
  const CHECKS = {
    contexts: ["上下文", "JSON-LD contexts (packaged only)"],
    issuer_trusted: ["发证机构在信任列表中", "issuer on the trust list"],
    verification_method: ["签名密钥登记于发证机构", "key is an assertion method of the issuer"],
    proof: ["数字签名", "Data Integrity proof (ecdsa-rdfc-2019)"],
    validity_period: ["有效期", "validity period"],
    status: ["撤销状态", "status list"],
  };
  const REASONS = {
    issuer_not_trusted: "发证机构不在信任列表中",
    foreign_issuer_trusted: "外地发证机构，已列入信任列表",
    own_issuer: "本市发证部门",
    signature_invalid: "签名无效：凭证已被改动",
    context_unknown: "含未知的上下文",
    method_not_authorized: "签名密钥未登记于发证机构",
    revoked: "已撤销",
    suspension: "已中止",
    expired: "已过期",
    not_yet_valid: "尚未生效",
    status_not_checked: "信任列表未允许获取其状态列表，未检查撤销",
    status_list_unreachable: "无法获取状态列表",
    not_revoked: "未撤销",
  };

  function cell(tag, zh, en, cls) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    node.append(zh || "");
    if (en) {
      const span = document.createElement("span");
      span.className = "en";
      span.textContent = en;
      node.append(" ", span);
    }
    return node;
  }

  function show(result) {
    const [zh, en] = WORDS[result.verdict] || [result.verdict, ""];
    const verdict = $("vc-verdict");
    verdict.replaceChildren(cell("strong", zh, en.toUpperCase()));
    verdict.className = `verdict verdict-${en || "error"}`;
    verdict.dataset.verdict = result.verdict;
    const cert = result.certificate || {};
    verdict.append(cell("p", `${cert.issuer_name || ""} ${cert.name || ""}`.trim(), cert.issuer || ""));
    const body = $("vc-checks");
    body.replaceChildren();
    for (const c of result.checks) {
      const [checkZh, checkEn] = CHECKS[c.name] || [c.name, ""];
      const [statusZh, statusEn] = WORDS[c.status] || [c.status, ""];
      const row = document.createElement("tr");
      row.dataset.check = c.name;
      row.dataset.status = c.status;
      row.append(cell("th", checkZh, checkEn), cell("td", statusZh, statusEn, `badge badge-${statusEn}`),
        cell("td", REASONS[c.reason] || "", c.reason), cell("td", "", c.message || "", "message"));
      body.append(row);
    }
    $("vc-result").hidden = false;
  }

  async function verify(event) {
    event.preventDefault();
    const error = $("vc-error");
    error.hidden = true;
    $("vc-result").hidden = true;
    let text = $("vc-text").value.trim();
    const file = $("vc-file").files[0];
    if (!text && file) text = await file.text();
    let credential;
    try {
      credential = JSON.parse(text);
    } catch (e) {
      error.replaceChildren(cell("strong", "不是 JSON 格式的凭证", "not a JSON credential"));
      error.hidden = false;
      return;
    }
    const response = await fetch("/counters/verify/vc", {method: "POST", body: JSON.stringify(credential),
      headers: {"X-API-Key": sessionStorage.getItem(KEY_STORE) || "", "Content-Type": "application/json",
        "Accept": "application/json"}});
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      const e = answer.error || {};
      error.replaceChildren(cell("strong", "核验请求失败", `HTTP ${response.status} ${e.code || ""}`),
        cell("p", e.message || ""));
      error.hidden = false;
      return;
    }
    show(answer);
  }

  document.addEventListener("DOMContentLoaded", () => {
    const form = $("vc-form");
    if (form) form.addEventListener("submit", verify);
  });
})();
