"""SD-JWT VC: the holder reveals only the fields chosen; the issuer's signature, the disclosures, the status and
the anchor check with the Python reference (``sd-jwt``, inside ``ledger.credentials.sd_jwt_verify``) and with
``@sd-jwt/sd-jwt-vc`` (npm), each refusing a tampered copy; a revocation or suspension makes both refuse."""

from __future__ import annotations

import base64
import json
import subprocess

from ledger.credentials.sd_jwt_verify import issuer_key, verify_sd_jwt
from ledger.issue.anchoring import Anchorer
from tests.fixtures.credentials import INTEROP, VcWorld

CHOSEN = ["name", "number", "issuing_department", "valid_from"]


def _share(w: VcWorld, identifier: str, disclose: list[str]) -> str:
    r = w.call("POST", f"/holders/certificates/{identifier}/sd-jwt", token=w.token, json={"disclose": disclose})
    assert r.status_code == 200, r.text
    return r.json()["sd_jwt"]


def _resolver(w: VcWorld):
    def resolve(ref: str):
        if ref.startswith("did:"):
            return w.get_json(f"/dids/{ref.rsplit(':', 1)[1]}/did.json")
        r = w.client.get(ref.removeprefix(w.env.lib.settings.public_url))
        assert r.status_code == 200 and r.headers["content-type"] == "application/statuslist+jwt", r.text
        return r.text
    return resolve


def _npm_verify(w: VcWorld, presentation: str, required: list[str] = CHOSEN) -> dict:
    payload = json.loads(base64.urlsafe_b64decode(presentation.split(".")[1] + "=="))
    header = json.loads(base64.urlsafe_b64decode(presentation.split(".")[0] + "=="))
    resolve = _resolver(w)
    jwk = issuer_key(resolve(payload["iss"]), header["kid"]).export_public(as_dict=True)
    status_list = resolve(payload["status"]["status_list"]["uri"])
    out = subprocess.run(["node", str(INTEROP / "verify-sd-jwt.mjs")], capture_output=True, text=True, timeout=60,
                         input=json.dumps({"sd_jwt": presentation, "jwk": jwk, "status_list": status_list,
                                           "required": required}), check=False)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _tampered(presentation: str) -> list[str]:
    jwt, *disclosures = presentation.split("~")
    head, body, sig = jwt.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=="))
    payload["vct"] = "urn:other"
    forged_body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    salt, name, value = json.loads(base64.urlsafe_b64decode(disclosures[0] + "=="))
    forged = base64.urlsafe_b64encode(json.dumps([salt, name, "伪造"]).encode()).rstrip(b"=").decode()
    return ["~".join([f"{head}.{forged_body}.{sig}", *disclosures]),
            "~".join([jwt, forged, *disclosures[1:]])]


def test_selective_disclosure_verifies_with_both_references_and_tampering_fails(vc_world: VcWorld) -> None:
    w = vc_world
    presentation = _share(w, w.identifier, CHOSEN)
    assert presentation.count("~") == len(CHOSEN) + 1
    contract = w.env.lib.require_contract()
    result = verify_sd_jwt(presentation, _resolver(w), contract=contract)
    assert result["valid"], result
    assert all(result["checks"].values()), result
    assert set(CHOSEN) <= set(result["claims"]) and not {"holder", "holder_id"} & set(result["claims"])
    npm = _npm_verify(w, presentation)
    assert npm["verified"], npm
    assert set(CHOSEN) <= set(npm["claims"]) and "holder_id" not in npm["claims"]

    for forged in _tampered(presentation):
        assert verify_sd_jwt(forged, _resolver(w), contract=contract)["valid"] is False
        assert _npm_verify(w, forged)["verified"] is False

    r = w.client.post("/verify/sd-jwt", json={"sd_jwt": presentation})
    assert r.status_code == 200 and r.json()["valid"] is True, r.text
    r = w.client.post("/verify/sd-jwt", json={"sd_jwt": _tampered(presentation)[0]})
    assert r.status_code == 200 and r.json()["valid"] is False


def test_type_fields_are_separate_disclosures_and_unknown_names_are_refused(vc_world: VcWorld) -> None:
    w = vc_world
    field = next(iter(w.env.types["business_licence"].fields))["key"]
    presentation = _share(w, w.identifier, [f"fields.{field}", "holder"])
    claims = verify_sd_jwt(presentation, _resolver(w))["claims"]
    assert list(claims["fields"]) == [field] and claims["holder"] == "示例持证企业有限公司"
    r = w.call("POST", f"/holders/certificates/{w.identifier}/sd-jwt", token=w.token, json={"disclose": ["salt"]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "sd_jwt_claim_unknown"
    r = w.call("POST", f"/holders/certificates/{w.identifier}/sd-jwt", token=w.stranger_token, json={"disclose": []})
    assert r.status_code == 404


def test_revoked_and_suspended_are_refused_by_both(vc_world: VcWorld) -> None:
    w = vc_world
    revoked, suspended = w.issue(), w.issue()
    Anchorer(w.env.lib).run_once(force=True)
    shares = {i: _share(w, i, ["number"]) for i in (revoked, suspended)}
    for action, identifier in (("revoke", revoked), ("suspend", suspended)):
        r = w.call("POST", f"/departments/certificates/{identifier}/status", "market",
                   json={"action": action, "reason": "测试"})
        assert r.status_code == 200, r.text
    for identifier, status in ((revoked, 1), (suspended, 2)):
        result = verify_sd_jwt(shares[identifier], _resolver(w))
        assert result["valid"] is False and result["errors"] == [f"status {status} (1 invalid, 2 suspended)"]
        assert _npm_verify(w, shares[identifier], ["number"])["verified"] is False
