"""Least privilege: the deployed policy grants every AWS action the code calls (recorded
while a whole market scenario runs through the API on moto) and nothing wider."""
import json
import re
from datetime import timedelta

import pytest
from chalice.test import Client

from chalicelib import clock, secrets, settings
from chalicelib.storage import files, schema
from deploy import template
from tests.api import catalog_support as catalog
from tests.api import messages_support as messages
from tests.api import orders_support as orders
from tests.deploy.aws_calls import recording
from tests.support import ApiClient

BUYER, BUYER_2, PROVIDER, OPERATOR = "buyer-1", "buyer-2", "provider-1", "op-1"
DAY = 24 * 3600

# Granted though the scenario does not reach them, each with the code path that needs it.
USED_BUT_NOT_IN_SCENARIO: dict[str, str] = {}


def _ok(reply, *statuses):
    assert reply.status in (statuses or (200, 201, 204)), reply
    return reply.json


def _market_scenario(api: ApiClient) -> None:
    """Every kind of thing users, operators and the scheduler do, once."""
    catalog.approved_provider(api, PROVIDER)
    service = catalog.listed(api, PROVIDER)
    _ok(api.get("/services"))
    _ok(api.get("/services?q=装修"))
    _ok(api.get(f"/services/{service['id']}"))
    _ok(api.post(f"/admin/services/{service['id']}/feature", user=OPERATOR, operator=True))
    _ok(api.get("/services?featured=true"))
    _ok(api.get(f"/providers/{PROVIDER}"))
    _ok(api.get("/providers/me", user=PROVIDER))
    _ok(api.get("/providers/me/services", user=PROVIDER))
    _ok(api.get("/admin/providers?status=approved", user=OPERATOR, operator=True))
    now = clock.now()
    campaign = _ok(api.post("/admin/campaigns", {
        "name": "新店扶持计划", "starts_at": clock.to_iso(now - timedelta(hours=1)),
        "ends_at": clock.to_iso(now + timedelta(days=30)), "max_price": 100000},
        user=OPERATOR, operator=True))
    trial = catalog.draft(api, PROVIDER, n=5, price=50000)
    catalog.with_logo(api, trial["id"])
    _ok(api.post(f"/services/{trial['id']}/list", {"campaign_id": campaign["id"]}, user=PROVIDER))
    _ok(api.get("/campaigns"))
    _ok(api.get("/categories"))

    # The happy path, with an Idempotency-Key on the order and a replay of it.
    body = {"service_id": service["id"], "requirement": "双十一首页，红色主题，突出满减活动",
            "due_at": orders.due_in()}
    order = _ok(api.post("/orders", body, user=BUYER, headers={"Idempotency-Key": "下单-1"}))
    _ok(api.post("/orders", body, user=BUYER, headers={"Idempotency-Key": "下单-1"}))
    oid = order["id"]
    _ok(api.post(f"/orders/{oid}/pay", user=BUYER))
    _ok(api.post(f"/orders/{oid}/accept", user=PROVIDER))
    reference = messages.attach(api, oid)
    _ok(api.post(f"/orders/{oid}/messages", {"body": "参考图见附件", "file_ids": [reference]},
                 user=BUYER))
    _ok(api.get(f"/orders/{oid}/messages", user=PROVIDER))
    _ok(api.get(f"/orders/{oid}/attachments/{reference}", user=PROVIDER))
    _ok(orders.deliver(api, oid))
    _ok(api.post(f"/orders/{oid}/request-revision", {"note": "请把主色调改为深红"}, user=BUYER))
    file_id = orders.upload(api, oid)
    _ok(api.post(f"/orders/{oid}/deliver", {"file_ids": [file_id], "note": "第二版"},
                 user=PROVIDER))
    _ok(api.get(f"/orders/{oid}/deliverables/{file_id}", user=BUYER))
    _ok(api.post(f"/orders/{oid}/approve", user=BUYER))
    _ok(api.post(f"/orders/{oid}/reviews", {"rating": "good", "comment": "设计很用心"}, user=BUYER))
    _ok(api.post(f"/orders/{oid}/reviews", {"rating": "good", "comment": "买家沟通顺畅"},
                 user=PROVIDER))
    _ok(api.get(f"/orders/{oid}/events", user=BUYER))
    _ok(api.get(f"/orders/{oid}/reviews", user=BUYER))
    _ok(api.post(f"/orders/{oid}/reviews/buyer/reply", {"body": "感谢认可"}, user=PROVIDER))
    _ok(api.get(f"/services/{service['id']}/reviews"))
    _ok(api.get(f"/providers/{PROVIDER}/reviews"))
    _ok(api.get("/orders?as=buyer", user=BUYER))
    _ok(api.get("/orders?as=provider&status=completed", user=PROVIDER))
    _ok(api.get("/me/notifications", user=PROVIDER))
    _ok(api.get("/me/notifications?unread=true", user=PROVIDER))
    _ok(api.get("/me/notifications/unread-count", user=PROVIDER))
    first = api.get("/me/notifications?limit=1", user=PROVIDER).json["items"][0]["id"]
    _ok(api.post("/me/notifications/read", {"ids": [first]}, user=PROVIDER))
    _ok(api.post("/me/notifications/read", {"all": True}, user=BUYER))
    _ok(api.put("/me/channels", {"email": "shop@example.com"}, user=BUYER))
    _ok(api.get("/me/channels", user=BUYER))
    _deliver_by_ses(api)
    _ok(api.get("/me/balance", user=PROVIDER))
    _ok(api.get(f"/users/{BUYER}"))

    # Cancelled unpaid, rejected, disputed and resolved, and one left to the sweeps.
    unpaid = _ok(orders.place(api, service["id"], buyer=BUYER_2))["id"]
    _ok(api.post(f"/orders/{unpaid}/cancel", user=BUYER_2))
    rejected = _ok(orders.place(api, service["id"]))["id"]
    _ok(api.post(f"/orders/{rejected}/pay", user=BUYER))
    _ok(api.post(f"/orders/{rejected}/reject", {"reason": "档期已满"}, user=PROVIDER))
    disputed = _ok(orders.place(api, service["id"]))["id"]
    _ok(api.post(f"/orders/{disputed}/pay", user=BUYER))
    _ok(api.post(f"/orders/{disputed}/accept", user=PROVIDER))
    _ok(api.post(f"/orders/{disputed}/dispute", {"reason": "迟迟不交稿"}, user=BUYER))
    _ok(api.get("/admin/orders?status=disputed", user=OPERATOR, operator=True))
    held = orders.escrow(api, disputed)["held"]
    _ok(api.post(f"/admin/orders/{disputed}/resolve",
                 {"refund": held // 2, "release": held - held // 2, "note": "各担一半"},
                 user=OPERATOR, operator=True))
    waiting = _ok(orders.place(api, service["id"], buyer=BUYER_2))["id"]
    _ok(api.post(f"/orders/{waiting}/pay", user=BUYER_2))
    clock.advance(8 * DAY)
    api.invoke("sweep_timeouts")
    api.invoke("release_escrow")
    orders.ledger_clean(api)

    # The catalog's remaining writes: edit, delist, delete; suspend a provider.
    _ok(api.post(f"/services/{service['id']}/delist", user=PROVIDER))
    _ok(api.patch(f"/services/{service['id']}", {"title": "旗舰店铺装修（升级版）"}, user=PROVIDER))
    spare = catalog.draft(api, PROVIDER, n=3)
    _ok(api.delete(f"/services/{spare['id']}", user=PROVIDER))
    catalog.approved_provider(api, "provider-2")
    _ok(api.post("/admin/providers/provider-2/suspend", {"reason": "资质过期"}, user=OPERATOR,
                 operator=True))


def _deliver_by_ses(api: ApiClient) -> None:
    """deliver_notifications as a deployed stage runs it: mail through SES."""
    import dataclasses

    import boto3

    boto3.client("ses", region_name="us-east-1").verify_email_identity(
        EmailAddress="notices@market.example.com")
    before = settings.get()
    settings._current = dataclasses.replace(before, mail_transport="ses",
                                            mail_from="notices@market.example.com")
    try:
        assert api.invoke("deliver_notifications").payload["moved"] >= 1
    finally:
        settings._current = before


def _deployed_secret_reads() -> None:
    """A deployed container reading its secret from SSM, then from Secrets Manager."""
    import boto3

    value = "s" * 48
    boto3.client("ssm", region_name="us-east-1").put_parameter(
        Name="/market-prod/jwt-secret", Value=value, Type="SecureString")
    arn = boto3.client("secretsmanager", region_name="us-east-1").create_secret(
        Name="market-prod-jwt", SecretString=value)["ARN"]
    base = {**settings.load().__dict__, "stage": "prod", "jwt_secret": None,
            "region": "us-east-1"}
    for source in ({"jwt_secret_ssm_parameter": "/market-prod/jwt-secret"},
                   {"jwt_secret_secret_arn": arn}):
        secrets.forget()
        assert secrets.jwt_secret(settings.Settings(**{**base, **source})) == value
    secrets.forget()


@pytest.fixture(scope="module")
def recorded_calls():
    from moto import mock_aws

    import app as app_module
    from tests.conftest import _point_at

    clock.reset()
    with mock_aws():
        _point_at(None, None, "test-")
        schema.create_missing_tables()
        schema.create_bucket_if_missing()
        with Client(app_module.app, stage_name="local") as client:
            with recording(type(files.s3_client())) as calls:
                _market_scenario(ApiClient(client))
                _deployed_secret_reads()
    clock.reset()
    return calls


def _policy(stage="prod") -> dict:
    return json.loads(template.policy_path(stage).read_text(encoding="utf-8"))


def _statements(policy: dict) -> list[dict]:
    """Statements as deployed, whichever branch of a CloudFormation condition applies."""
    out = []
    for statement in policy["Statement"]:
        if "Fn::If" in statement:
            out += [s for s in statement["Fn::If"][1:] if "Effect" in s]
        else:
            out.append(statement)
    return out


def _granted(sid: str) -> set[str]:
    return {a for s in _statements(_policy()) if s.get("Sid") == sid for a in s["Action"]}


def _models_by_table() -> dict:
    return {"test-" + m.TABLE_SUFFIX: m for m in schema.all_models()}


def test_the_scenario_reached_every_kind_of_call(recorded_calls):
    services = {c["service"] for c in recorded_calls}
    assert {"dynamodb", "s3", "ssm", "secretsmanager", "email"} <= services
    actions = {a for c in recorded_calls for a in c["actions"]}
    assert {"dynamodb:Query", "dynamodb:UpdateItem", "s3:PutObject", "s3:GetObject"} <= actions


def test_the_policy_grants_every_dynamodb_action_the_code_calls_on_our_tables(recorded_calls):
    tables = _models_by_table()
    resources = [json.dumps(r) for r in _statements(_policy())[0]["Resource"]]
    granted = _granted("Tables")
    missing = set()
    for call in (c for c in recorded_calls if c["service"] == "dynamodb"):
        missing |= set(call["actions"]) - granted
        for name in call["tables"]:
            assert name in tables, f"{name} is not a registered model's table"
            logical = template.table_logical_id(tables[name])
            wanted = ({"Fn::Sub": "${%s.Arn}/index/%s" % (logical, call["index"])}
                      if call["index"] else {"Fn::GetAtt": [logical, "Arn"]})
            assert json.dumps(wanted) in resources, f"policy lacks {wanted}"
    assert not missing, f"policy lacks {sorted(missing)}: add them to deploy/template.py"


def test_the_policy_grants_the_s3_and_secret_actions_the_code_calls(recorded_calls):
    granted = (_granted("FilesObjects") | _granted("JwtSecretParameter") | _granted("JwtSecret")
               | _granted("Mail"))
    called = {a for c in recorded_calls if c["service"] != "dynamodb" for a in c["actions"]}
    assert called <= granted, f"policy lacks {sorted(called - granted)}"


def test_the_policy_grants_no_action_the_code_never_calls(recorded_calls):
    called = {a for c in recorded_calls for a in c["actions"]}
    granted = set().union(*(set(s["Action"]) for s in _statements(_policy())))
    unused = granted - called - set(USED_BUT_NOT_IN_SCENARIO)
    unused -= {"logs:CreateLogStream", "logs:PutLogEvents"}  # Lambda's runtime writes logs
    assert not unused, f"granted but never called: {sorted(unused)}"


# Where a `*` may appear in a resource: objects of our own bucket (keys are ids the app
# makes) and log streams of our own log group (Lambda names them). Nothing else.
_ALLOWED_WILDCARDS = [
    re.escape("${%s.Arn}/*" % template.FILES_BUCKET),
    re.escape(":log-group:" + template.LOG_GROUP_NAME + ":*\"}"),
]


def _wildcards(policy: dict) -> list[str]:
    found = []
    for statement in _statements(policy):
        if statement["Effect"] != "Allow":
            continue
        found += [f"action {a}" for a in statement["Action"] if "*" in a]
        for resource in statement["Resource"]:
            text = resource if isinstance(resource, str) else json.dumps(resource)
            if "*" in text and not any(re.search(p, text) for p in _ALLOWED_WILDCARDS):
                found.append(f"resource {text}")
    return found


@pytest.mark.parametrize("stage", template.DEPLOYED_STAGES)
def test_the_policy_grants_no_wildcard_action_or_resource(stage):
    assert _wildcards(_policy(stage)) == []


def test_the_wildcard_check_catches_broad_grants():
    policy = _policy()
    policy["Statement"] += [
        {"Effect": "Allow", "Action": ["dynamodb:*"], "Resource": [{"Fn::GetAtt": ["X", "Arn"]}]},
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["*"]},
        {"Effect": "Allow", "Action": ["dynamodb:Query"],
         "Resource": [{"Fn::Sub": "${OrdersTable.Arn}/index/*"}]},
    ]
    assert len(_wildcards(policy)) == 3


def test_every_table_and_index_is_in_the_policy_and_nothing_else():
    resources = _statements(_policy())[0]["Resource"]
    expected = []
    for model in sorted(schema.all_models(), key=lambda m: m.TABLE_SUFFIX):
        logical = template.table_logical_id(model)
        expected.append({"Fn::GetAtt": [logical, "Arn"]})
        expected += [{"Fn::Sub": "${%s.Arn}/index/%s" % (logical, i)}
                     for i in template.index_names(model)]
    assert resources == expected
