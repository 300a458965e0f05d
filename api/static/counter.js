// The counter's page: verify a certificate by identifier (typed or scanned), sealed PDF or proof
// bundle, or open an intake with a holder's use code; show the verdict, every check, the
// certificate, its seal and its history. Plain browser JavaScript, no dependencies.
// Everything shown is written with textContent: nothing from an answer is parsed as HTML.
"use strict";

(() => {
  const KEY_STORE = "certledger.counter.key";
  const STAFF_STORE = "certledger.counter.staff";
  const IDENTIFIER_PREFIX = "1.2.156.3005.2.";

  const $ = (id) => document.getElementById(id);

  const VERDICTS = {
    VALID: ["有效", "VALID", "valid"],
    INVALID: ["无效", "INVALID", "invalid"],
    ERROR: ["核验出错", "ERROR", "error"],
    PENDING: ["待上链", "PENDING", "pending"],
    SKIPPED: ["未核验", "SKIPPED", "skipped"],
  };
  const STATUS_WORDS = {VALID: "通过", INVALID: "未通过", ERROR: "出错", SKIPPED: "跳过", PENDING: "待上链"};
  // only the document at hand failed: the certificate itself may be genuine
  const DOCUMENT_GUIDE = ["此文件与签发时不一致，请勿采信该文件：请用证照标识（扫码）核验，或向持证人索取原件。",
    "This file is not the one issued: do not rely on it; verify by identifier (scan the QR code) or ask for the original."];
  // what each verdict means and what to do next (ledger/core/messages.json, "verdicts")
  const GUIDE = {
    VALID: ["可以按证照内容办理业务。", "You may rely on it."],
    PENDING: ["证照已签发并盖章，尚待上链，并非无效：请在预计上链时间之后再次核验。",
      "Sealed and recorded, not yet anchored (not a sign of forgery): verify again after the expected time."],
    INVALID: ["请勿据此办理业务：请持证人向发证部门核实；如证照已被取代，请核验当前版本。",
      "Do not rely on it: ask the holder to contact the issuing department; if superseded, verify the current version."],
    ERROR: ["暂时无法完成核验，这不说明证照真假：请稍后重试，如持续出错请联系平台运维。",
      "Verification could not be completed; this says nothing about the certificate. Try again later."],
  };
  const CHECKS = {
    record_integrity: "记录完整性",
    merkle_proof: "默克尔证明",
    anchor_on_chain: "链上锚定",
    anchor_issuer: "锚定部门与印章登记",
    seal: "电子印章",
    seal_intact: "印章签名完整",
    seal_chain: "印章证书链",
    seal_certificate_valid: "印章证书有效",
    seal_signer_matches: "签章部门一致",
    status: "证照状态",
    validity_period: "有效期",
    document_digest: "文件摘要",
    document_seal: "文件电子签章",
  };
  // Chinese for the reasons a counter meets most; the English message follows each.
  const REASONS = {
    leaf_mismatch: "记录与上链时不一致，已被篡改",
    proof_mismatch: "默克尔证明不能通向链上根",
    root_not_anchored: "该批次未在链上锚定",
    not_yet_anchored: "证照已签发，尚待上链，请稍后再核验",
    wrong_chain: "核验包指向的不是本链",
    wrong_contract: "核验包指向的不是本合约",
    contract_not_found: "链上找不到证照合约",
    chain_error: "区块链节点未响应",
    issuer_not_department: "锚定账户不是登记的发证部门",
    anchor_mismatch: "链上锚定与核验包不符",
    department_mismatch: "签章或锚定部门与记录所载颁发部门不一致",
    seal_not_current: "印章证书不是锚定时该部门在链上登记的现行印章",
    untrusted_chain: "核验包指向的链不在信任列表中",
    untrusted_contract: "核验包指向的合约不在信任列表中（可能是伪造的合约）",
    digest_mismatch: "内容与签章时不一致",
    signature_invalid: "签名验证失败",
    modified_after_sealing: "文件在签章后被修改",
    unsupported_algorithm: "不支持的签章算法",
    unknown_issuer: "印章证书不是市印章根签发",
    issuer_signature_invalid: "印章证书签名无效",
    untrusted_by_pyhanko: "文件签章证书不受信任",
    eseal_invalid: "电子印章数据无效",
    expired_at_signing: "签章时印章证书已过期",
    not_yet_valid_at_signing: "签章时印章证书尚未生效",
    root_not_valid_at_signing: "签章时根证书无效",
    signed_after_compromise: "签章时间晚于登记的印章密钥泄露时间",
    anchored_after_compromise: "上链时间晚于印章密钥泄露时间，签章时间不可信",
    suspended: "证照已暂停使用",
    revoked: "证照已被撤销",
    cancelled: "证照已注销",
    withdrawn: "证照已收回",
    superseded: "证照已被新版本取代",
    expired: "证照已过期",
    not_yet_valid: "证照尚未生效",
    dates_malformed: "有效期日期格式错误",
    record_has_no_document: "记录未附文件",
    no_document: "未提供文件",
    no_anchor: "未上链，无链上状态",
  };
  const SEAL_PARTS = new Set(["seal_intact", "seal_chain", "seal_certificate_valid", "seal_signer_matches"]);
  const CERT_STATUSES = {
    "01": "有效 valid", "02": "暂停 suspended", "03": "撤销 revoked", "04": "注销 cancelled",
    "05": "过期 expired", "06": "迁出 transferred", "07": "收回 withdrawn", "08": "已被新版本取代 superseded",
    "99": "其他 other",
  };
  const ACTIONS = {
    issue: "签发 issued", anchor: "上链 anchored", suspend: "暂停 suspended", reinstate: "恢复 reinstated",
    revoke: "撤销 revoked", cancel: "注销 cancelled", withdraw: "收回 withdrawn", renew: "延续 renewed",
    amend: "变更 amended", supersede: "被取代 superseded", expire: "过期 expired",
  };
  const OUTCOMES = {
    provided: ["已提供", "provided", "valid"],
    missing: ["缺失", "missing", "invalid"],
    not_linked: ["未关联证照", "not linked", "skipped"],
  };
  const ALGORITHMS = {
    cms: "ECDSA P-256 · SHA-256 (CMS)",
    gbt38540: "SM2 · SM3 (GB/T 38540)",
    pades: "PAdES",
  };
  const TRUST = {
    registry: "平台印章登记 platform seal registry",
    trust_list: "信任列表中的城市根证书 the trust list's city root",
  };
  // [key, Chinese label, English label, kind]
  const CERT_FIELDS = [
    ["name", "证照名称", "Name"],
    ["identifier", "证照标识", "Identifier", "mono"],
    ["number", "证照编号", "Number"],
    ["version", "版本", "Version"],
    ["holder", "持证主体", "Holder"],
    ["issuing_department", "颁发部门", "Issuing department"],
    ["issuing_department_code", "颁发部门代码", "Department code", "mono"],
    ["issue_date", "颁发日期", "Issue date"],
    ["validity", "有效期", "Valid"],
    ["status", "链上状态", "Status on chain", "status"],
    ["type_code", "证照类型代码", "Type code", "mono"],
    ["service_item", "关联事项", "Service item"],
    ["anchored_at", "上链时间", "Anchored at", "time"],
    ["expected_anchoring_by", "预计上链时间", "Expected on chain by", "time"],
    ["block_number", "区块高度", "Block"],
    ["issuer_account", "上链账户", "Anchoring account", "mono"],
    ["root", "默克尔根", "Merkle root", "hash"],
  ];
  const SHOWN = new Set(CERT_FIELDS.map((f) => f[0]).concat(["valid_from", "valid_until"]));

  class ApiError extends Error {
    constructor(status, code, message, details) {
      super(message);
      this.status = status;
      this.code = code;
      this.details = details || {};
    }
  }

  // ---------------------------------------------------------------- small DOM helpers

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else node.setAttribute(k, v);
    }
    for (const child of children) {
      if (child === null || child === undefined || child === "") continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const en = (text) => el("span", {class: "en", text});

  function badge(status, zh, english) {
    const kind = (VERDICTS[status] || ["", "", "skipped"])[2];
    return el("span", {class: `badge badge-${kind}`}, zh || STATUS_WORDS[status] || status, " ",
      el("span", {class: "badge-en", text: english || status}));
  }

  function formatTime(value) {
    if (!value) return "";
    const d = new Date(value);
    if (Number.isNaN(d.getTime())) return String(value);
    const pad = (n) => String(n).padStart(2, "0");
    // China time (UTC+8), whatever the counter PC's clock zone
    const c = new Date(d.getTime() + 8 * 3600 * 1000);
    return `${c.getUTCFullYear()}-${pad(c.getUTCMonth() + 1)}-${pad(c.getUTCDate())} ` +
      `${pad(c.getUTCHours())}:${pad(c.getUTCMinutes())}:${pad(c.getUTCSeconds())} (UTC+8)`;
  }

  function shortHex(value) {
    const s = String(value);
    return s.length > 22 ? `${s.slice(0, 12)}…${s.slice(-8)}` : s;
  }

  function definition(list, zh, english, value, kind) {
    if (value === undefined || value === null || value === "") return;
    const dd = el("dd", {});
    if (kind === "mono") {
      dd.className = "mono";
      dd.textContent = String(value);
    } else if (kind === "hash") {
      dd.className = "mono";
      dd.textContent = shortHex(value);
      dd.title = String(value);
    } else if (kind === "time") {
      dd.textContent = formatTime(value);
    } else if (kind === "status") {
      const word = CERT_STATUSES[value] || "";
      dd.append(el("span", {class: value === "01" ? "status-ok" : "status-bad", text: `${value} ${word}`.trim()}));
    } else if (value instanceof Node) {
      dd.append(value);
    } else {
      dd.textContent = String(value);
    }
    list.append(el("div", {class: "pair"}, el("dt", {}, zh, " ", en(english)), dd));
  }

  // ---------------------------------------------------------------- the key

  const storedKey = () => sessionStorage.getItem(KEY_STORE) || "";

  // ---------------------------------------------------------------- service items (the intake's picker)

  function fillServiceItems(items) {
    const select = $("service-item");
    const chosen = select.value;
    select.replaceChildren(el("option", {value: ""}, "请选择事项 · choose a service item"));
    for (const item of items) {
      select.append(el("option", {value: item.code}, `${item.name}（${item.code}）`));
    }
    select.value = chosen;
  }

  /** Check a key before keeping it: the service items (any valid key may read them) also fill the picker. */
  async function checkKey(key) {
    const response = await fetch("admin/service-items", {headers: {"X-API-Key": key, "Accept": "application/json"},
      cache: "no-store"});
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      const error = (data && data.error) || {};
      throw new ApiError(response.status, error.code || `http_${response.status}`, error.message || "");
    }
    fillServiceItems((data && data.items) || []);
  }

  function showKeyState() {
    const has = Boolean(storedKey());
    $("key-section").hidden = has;
    $("work").hidden = !has;
    $("session").hidden = !has;
    if (!has) $("key-input").focus();
  }

  function forgetKey(message) {
    sessionStorage.removeItem(KEY_STORE);
    showKeyState();
    if (message) {
      const hint = $("key-form").querySelector(".hint");
      const note = el("p", {class: "alert inline", role: "alert", text: message});
      $("key-form").insertBefore(note, hint);
    }
  }

  // ---------------------------------------------------------------- API calls

  async function call(method, path, body) {
    const headers = {"X-API-Key": storedKey(), "Accept": "application/json"};
    let payload;
    if (body instanceof FormData) {
      payload = body;
    } else if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, {method, headers, body: payload, cache: "no-store"});
    } catch (e) {
      throw new ApiError(0, "network_error", `无法连接服务，请检查网络。Cannot reach the service (${e.message}).`);
    }
    let data = null;
    try {
      data = await response.json();
    } catch (e) {
      data = null;
    }
    if (!response.ok) {
      const error = (data && data.error) || {};
      throw new ApiError(response.status, error.code || `http_${response.status}`,
        error.message || `服务返回 HTTP ${response.status}`, error.details);
    }
    return data;
  }

  // ---------------------------------------------------------------- state of the result area

  let generation = 0; // answers to an older request are dropped

  function begin() {
    generation += 1;
    hideError();
    $("busy").hidden = false;
    return generation;
  }

  function end(token) {
    if (token === generation) $("busy").hidden = true;
  }

  function hideError() {
    $("error").hidden = true;
    $("error").replaceChildren();
  }

  function showError(err) {
    if (err.status === 401) {
      forgetKey(`${err.message}（窗口密钥无效或已停用，请重新输入。The key was refused: enter it again.）`);
    }
    const box = $("error");
    box.replaceChildren(
      el("strong", {}, "操作未完成 ", en("Not done")),
      el("p", {class: "error-message", text: err.message}),
      err.code ? el("p", {class: "error-code", text: `code: ${err.code}`}) : null,
    );
    box.hidden = false;
  }

  function clearResults() {
    $("result").hidden = true;
    $("intake-result").hidden = true;
  }

  // ---------------------------------------------------------------- a verification

  function failingChecks(result) {
    const bad = result.checks.filter((c) => c.status === "INVALID" || c.status === "ERROR");
    if (bad.length) return bad.filter((c) => !SEAL_PARTS.has(c.name) ||
      !bad.some((b) => b.name === "seal"));
    return result.checks.filter((c) => c.status === "SKIPPED" && c.name !== "document_digest");
  }

  function renderVerdict(result) {
    const [zh, english, kind] = VERDICTS[result.verdict] || [result.verdict, result.verdict, "skipped"];
    const box = $("verdict");
    box.className = `verdict verdict-${kind}`;
    box.dataset.verdict = result.verdict;
    $("verdict-zh").textContent = zh;
    $("verdict-en").textContent = english;
    const cert = result.certificate || {};
    $("verdict-cert").textContent = [cert.name, cert.holder, cert.issuing_department].filter(Boolean).join(" · ");
    const summary = $("verdict-summary");
    summary.replaceChildren();
    renderGuide(result);
    if (result.verdict === "VALID") {
      summary.append("全部必需核验项均已通过。", en("Every required check passed."));
      return;
    }
    if (result.verdict === "PENDING") {
      summary.append("已签发并盖章，尚待上链。", en("Sealed and recorded, not yet anchored."));
      if (cert.expected_anchoring_by) {
        summary.append(el("p", {class: "pending-time"}, "预计上链时间 ", en("expected on chain by"), " ",
          el("strong", {text: formatTime(cert.expected_anchoring_by)})));
      }
      return;
    }
    summary.append("未通过的核验项：", en("What did not pass:"));
    const list = el("ul", {class: "verdict-reasons"});
    for (const c of failingChecks(result)) {
      list.append(el("li", {}, el("strong", {text: `${CHECKS[c.name] || c.name}：${REASONS[c.reason] || c.reason}`}),
        " ", el("span", {class: "en", text: `${c.name} — ${c.message || c.reason}`})));
    }
    summary.append(list);
  }

  function renderGuide(result) {
    const guide = $("verdict-guide");
    guide.replaceChildren();
    const failed = new Set((result.checks || []).filter((c) => c.status === "INVALID").map((c) => c.name));
    const documentOnly = failed.size > 0 && [...failed].every((n) => n.startsWith("document_"));
    const [zh, english] = documentOnly ? DOCUMENT_GUIDE : GUIDE[result.verdict] || GUIDE.ERROR;
    guide.append(el("p", {class: "next-step"}, el("strong", {}, "下一步 ", en("What to do"), "："), zh, " ", en(english)));
    const status = (result.checks || []).find((c) => c.name === "status");
    const current = status && status.data && status.data.current_version;
    if (current) {
      const button = el("button", {type: "button", class: "primary current-version", "data-identifier": current},
        "核验当前版本 ", el("span", {class: "en-inline", text: "Verify the current version"}));
      button.addEventListener("click", () => verifyIdentifier(current));
      guide.append(button);
    }
  }

  function verifyIdentifier(identifier) {
    selectTab($("tab-identifier"), false);
    $("identifier-input").value = identifier;
    verify(() => call("POST", "counters/verify/identifier", {identifier}));
  }

  function renderCertificate(cert, checks) {
    const list = $("cert-fields");
    list.replaceChildren();
    const integrity = checks.find((c) => c.name === "record_integrity");
    $("cert-warning").hidden = !integrity || integrity.status === "VALID";
    const validity = cert.valid_from || cert.valid_until
      ? `${cert.valid_from || "—"} 至 ${cert.valid_until || "长期 long-term"}` : null;
    for (const [key, zh, english, kind] of CERT_FIELDS) {
      definition(list, zh, english, key === "validity" ? validity : cert[key], kind);
    }
    for (const [key, value] of Object.entries(cert)) {
      if (SHOWN.has(key) || value === null || typeof value === "object") continue;
      definition(list, key, "", value);
    }
    // a certificate from an intake carries its type's own fields (扩展信息)
    const labels = (cert.labelled || {})["扩展信息"] || {};
    const byLabel = Object.keys(labels);
    for (const [i, [key, value]] of Object.entries(cert.fields || {}).entries()) {
      // the type's schema names each field in Chinese (labelled); the key stays beside it
      const label = byLabel.length === Object.keys(cert.fields).length ? byLabel[i] : key;
      if (value !== null && typeof value !== "object") definition(list, label, label === key ? "" : key, value);
    }
    if (!list.children.length) list.append(el("p", {class: "muted"}, "无证照信息 ", en("no certificate details")));
  }

  function renderSeal(checks) {
    const by = Object.fromEntries(checks.map((c) => [c.name, c]));
    const data = (name) => (by[name] && by[name].data) || {};
    const list = $("seal-fields");
    list.replaceChildren();
    if (by.seal) definition(list, "印章核验", "Seal check", badge(by.seal.status));
    definition(list, "签章部门", "Sealed by", data("seal_signer_matches").department);
    definition(list, "签章部门代码", "Sealer's credit code", data("seal_signer_matches").certificate_code, "mono");
    definition(list, "印章证书序列号", "Seal certificate serial", data("seal_chain").serial, "mono");
    const format = data("seal_intact").format;
    definition(list, "签章算法", "Algorithm", format ? ALGORITHMS[format] || format : null);
    const valid = data("seal_certificate_valid");
    definition(list, "签章时间", "Sealed at", valid.signing_time, "time");
    if (valid.not_before || valid.not_after) {
      definition(list, "印章证书有效期", "Seal certificate valid",
        `${formatTime(valid.not_before)} 至 ${formatTime(valid.not_after)}`);
    }
    if (valid.compromise_time) {
      definition(list, "密钥泄露登记时间", "Key compromise reported for", el("span", {class: "status-bad",
        text: formatTime(valid.compromise_time)}));
    }
    definition(list, "信任根", "Trusted by", TRUST[data("seal").trust_root] || data("seal").trust_root);
    if (by.document_seal) definition(list, "文件电子签章", "Document seal", badge(by.document_seal.status));
    if (!list.children.length) list.append(el("p", {class: "muted"}, "无印章信息 ", en("no seal details")));
  }

  function renderChecks(checks) {
    const body = $("checks-body");
    body.replaceChildren();
    for (const c of checks) {
      const part = SEAL_PARTS.has(c.name);
      const row = el("tr", {class: `check check-${(VERDICTS[c.status] || ["", "", "skipped"])[2]}${part ? " sub" : ""}`,
        "data-check": c.name, "data-status": c.status});
      row.append(
        el("th", {scope: "row"}, el("span", {class: "check-zh", text: CHECKS[c.name] || c.name}),
          el("span", {class: "check-name", text: c.name})),
        el("td", {}, badge(c.status)),
        el("td", {}, REASONS[c.reason] && c.status !== "VALID" ? el("span", {class: "reason-zh", text: REASONS[c.reason]}) : null,
          el("span", {class: "mono", text: c.reason})),
        el("td", {class: "message", text: c.message || ""}),
      );
      body.append(row);
    }
  }

  async function renderHistory(identifier, token) {
    const note = $("history-note");
    const table = $("history-table");
    const body = $("history-body");
    body.replaceChildren();
    table.hidden = true;
    note.hidden = false;
    if (!identifier) {
      note.textContent = "无证照标识，无法查询历史。No identifier to look up a history for.";
      return;
    }
    note.textContent = "正在查询历史… Loading the history…";
    let history;
    try {
      history = await call("GET", `counters/certificates/${encodeURIComponent(identifier)}/history`);
    } catch (err) {
      if (token !== generation) return;
      note.textContent = err.code === "route_not_found"
        ? "本服务暂不提供历史记录。This service does not offer certificate histories yet."
        : `历史记录不可用：${err.message}`;
      return;
    }
    if (token !== generation) return;
    const events = (history && history.events) || [];
    const current = history && history.current_version;
    note.textContent = current && current !== identifier
      ? `当前版本 current version: ${current}` : "";
    note.hidden = !note.textContent;
    if (!events.length) {
      note.textContent = "暂无变更记录。No lifecycle events.";
      note.hidden = false;
      return;
    }
    for (const e of events) {
      const tx = e.tx_hash ? el("span", {class: "mono", title: e.tx_hash, text: shortHex(e.tx_hash)}) : "—";
      body.append(el("tr", {"data-action": e.action},
        el("td", {text: formatTime(e.at)}),
        el("td", {text: ACTIONS[e.action] || e.action}),
        el("td", {text: e.status ? `${e.status} ${CERT_STATUSES[e.status] || ""}`.trim() : ""}),
        el("td", {text: e.reason || ""}),
        el("td", {}, tx, e.block_number ? el("span", {class: "block", text: ` #${e.block_number}`}) : null),
      ));
    }
    table.hidden = false;
  }

  function showVerification(result, token, kind) {
    $("result").dataset.verdict = result.verdict;
    renderVerdict(result);
    renderCertificate(result.certificate || {}, result.checks || []);
    renderSeal(result.checks || []);
    renderChecks(result.checks || []);
    $("result").hidden = false;
    if (kind === "report") {
      $("history-table").hidden = true;
      $("history-note").hidden = false;
      $("history-note").textContent = "报告摘要没有状态历史。A report summary has no status history.";
      return;
    }
    renderHistory((result.certificate || {}).identifier, token);
  }

  async function verify(request, kind) {
    const token = begin();
    clearResults();
    try {
      const result = await request();
      if (token !== generation) return;
      showVerification(result, token, kind);
      $("verdict").scrollIntoView({block: "nearest"});
    } catch (err) {
      if (token === generation) showError(err);
    } finally {
      end(token);
    }
  }

  // ---------------------------------------------------------------- what a scanner types

  /** The identifier in what was typed or scanned: a bare identifier, or the QR code's address
   *  (".../verify/<identifier>" or "...?id=<identifier>"). */
  function identifierFrom(text) {
    const value = text.trim();
    if (!/^https?:\/\//i.test(value)) return value;
    let url;
    try {
      url = new URL(value);
    } catch (e) {
      return value;
    }
    const byQuery = url.searchParams.get("id");
    if (byQuery) return byQuery.trim();
    const segments = url.pathname.split("/").filter(Boolean).map((s) => decodeURIComponent(s));
    const found = segments.find((s) => s.startsWith(IDENTIFIER_PREFIX));
    return found || segments[segments.length - 1] || value;
  }

  // ---------------------------------------------------------------- intake

  function renderIntake(answer) {
    const item = answer.service_item || {};
    const meta = $("intake-meta");
    meta.replaceChildren(
      el("span", {}, el("strong", {text: item.name || item.code || ""}), " ",
        el("span", {class: "mono", text: item.code || ""})),
      el("span", {}, "办件登记号 ", en("intake"), " ", el("span", {class: "mono", text: String(answer.intake_id)})),
      el("span", {}, "已记入用证日志 ", en("recorded in the access log")),
    );
    const body = $("materials-body");
    body.replaceChildren();
    for (const [index, m] of (answer.materials || []).entries()) {
      const [zh, english, kind] = OUTCOMES[m.outcome] || [m.outcome, m.outcome, "skipped"];
      const cert = m.certificate;
      const verdict = m.verification ? badge(m.verification.verdict,
        (VERDICTS[m.verification.verdict] || [m.verification.verdict])[0], m.verification.verdict) : "—";
      let pdf = null;
      if (cert && cert.identifier) {
        pdf = el("button", {type: "button", class: "link open-pdf"}, "查看 PDF ", en("sealed PDF"));
        pdf.addEventListener("click", () => openPdf(answer.intake_id, cert.identifier, pdf));
      }
      let details = "";
      if (m.verification && cert) {
        details = el("button", {type: "button", class: "link"}, "查看核验 ", en("details"));
        details.addEventListener("click", () => {
          generation += 1;
          hideError();
          showVerification({...m.verification, certificate: cert}, generation);
          $("verdict").scrollIntoView({block: "start"});
        });
      }
      body.append(el("tr", {"data-outcome": m.outcome, "data-position": String(m.position), "data-material": m.name},
        el("td", {text: String(index + 1)}),
        el("th", {scope: "row"}, m.name || "", m.required === false ? el("span", {class: "muted", text: "（非必需 optional）"}) : null,
          el("span", {class: "check-name", text: m.certificate_type_code || ""})),
        el("td", {}, el("span", {class: `badge badge-${kind}`}, zh, " ", el("span", {class: "badge-en", text: english}))),
        el("td", {}, cert ? el("span", {}, cert.name || "", el("span", {class: "check-name mono", title: cert.identifier,
          text: cert.identifier || ""})) : "—"),
        el("td", {}, verdict),
        el("td", {class: "actions-cell"}, details, pdf),
      ));
    }
    $("intake-result").hidden = false;
  }

  /** The sealed PDF of a certificate this intake showed, opened in a new tab (fetched with the key). */
  async function openPdf(intakeId, identifier, button) {
    hideError();
    const path = `counters/intakes/${encodeURIComponent(intakeId)}/certificates/${encodeURIComponent(identifier)}/document`;
    const response = await fetch(path, {headers: {"X-API-Key": storedKey()}, cache: "no-store"});
    if (!response.ok) {
      const data = await response.json().catch(() => null);
      const error = (data && data.error) || {};
      showError(new ApiError(response.status, error.code || `http_${response.status}`, error.message || ""));
      return;
    }
    const blob = await response.blob();
    button.dataset.pdfBytes = String(blob.size);
    const url = URL.createObjectURL(new Blob([blob], {type: "application/pdf"}));
    window.open(url, "_blank", "noopener");
  }

  async function openIntake(form) {
    const token = begin();
    clearResults();
    const staff = form.staff_id.value.trim();
    sessionStorage.setItem(STAFF_STORE, staff);
    try {
      const answer = await call("POST", "counters/intakes", {
        service_item_code: form.service_item_code.value.trim(),
        holder: {id_type: form.id_type.value, id_number: form.id_number.value.trim().toUpperCase()},
        use_code: form.use_code.value.trim(),
        case_number: form.case_number.value.trim(),
        staff_id: staff,
      });
      if (token !== generation) return;
      renderIntake(answer);
      form.use_code.value = ""; // single use: it cannot be used again
    } catch (err) {
      if (token === generation) showError(err);
    } finally {
      end(token);
    }
  }

  // ---------------------------------------------------------------- tabs

  function selectTab(tab, focus) {
    for (const t of document.querySelectorAll('[role="tab"]')) {
      const on = t === tab;
      t.setAttribute("aria-selected", String(on));
      t.tabIndex = on ? 0 : -1;
      $(t.getAttribute("aria-controls")).hidden = !on;
    }
    if (focus) tab.focus();
    const first = $(tab.getAttribute("aria-controls")).querySelector("input, select");
    if (first && !focus) first.focus();
  }

  function wireTabs() {
    const tabs = Array.from(document.querySelectorAll('[role="tab"]'));
    tabs.forEach((tab, i) => {
      tab.addEventListener("click", () => selectTab(tab, false));
      tab.addEventListener("keydown", (e) => {
        const step = {ArrowRight: 1, ArrowLeft: -1}[e.key];
        if (step) {
          e.preventDefault();
          selectTab(tabs[(i + step + tabs.length) % tabs.length], true);
        }
      });
    });
  }

  // ---------------------------------------------------------------- wiring

  function start() {
    wireTabs();
    $("key-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const key = $("key-input").value.trim();
      if (!key) return;
      for (const note of $("key-form").querySelectorAll(".alert")) note.remove();
      checkKey(key).then(() => {
        sessionStorage.setItem(KEY_STORE, key);
        $("key-input").value = "";
        showKeyState();
        $("identifier-input").focus();
      }).catch((err) => {
        const why = err.status === 401 ? "密钥无效或已停用，请核对后重新输入。The key was refused: check it and enter it again."
          : `无法核对密钥：${err.message} Cannot check the key now.`;
        $("key-form").insertBefore(el("p", {class: "alert inline", role: "alert", text: `${why} (${err.code})`}),
          $("key-form").querySelector(".hint"));
        $("key-input").focus();
      });
    });
    $("forget-key").addEventListener("click", () => {
      clearResults();
      hideError();
      forgetKey();
    });
    $("identifier-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const input = $("identifier-input");
      const identifier = identifierFrom(input.value);
      input.value = identifier;
      input.select(); // the next scan replaces it
      verify(() => call("POST", "counters/verify/identifier", {identifier}));
    });
    $("pdf-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const file = $("pdf-input").files[0];
      if (!file) return;
      const body = new FormData();
      body.append("file", file, file.name);
      verify(() => call("POST", "counters/verify/pdf", body));
    });
    $("bundle-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const file = $("bundle-input").files[0];
      if (!file) return;
      verify(async () => {
        let bundle;
        try {
          bundle = JSON.parse(await file.text());
        } catch (err) {
          throw new ApiError(0, "bundle_not_json", `文件 ${file.name} 不是 JSON 核验包。The file is not a JSON proof bundle (${err.message}).`);
        }
        return call("POST", "counters/verify/bundle", bundle);
      });
    });
    $("report-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const identifier = $("report-input").value.trim();
      if (identifier) verify(() => call("POST", "counters/verify/report", {identifier}), "report");
    });
    $("report-document-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const file = $("report-document-input").files[0];
      if (!file) return;
      const body = new FormData();
      body.append("file", file, file.name);
      verify(() => call("POST", "counters/verify/report-document", body), "report");
    });
    $("intake-form").addEventListener("submit", (e) => {
      e.preventDefault();
      openIntake(e.target);
    });
    $("staff-id").value = sessionStorage.getItem(STAFF_STORE) || "";
    showKeyState();
    if (storedKey()) {
      $("identifier-input").focus();
      checkKey(storedKey()).catch((err) => { if (err.status === 401) forgetKey(err.message); });
    }
  }

  document.addEventListener("DOMContentLoaded", start);
})();
