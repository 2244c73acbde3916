"""`make package STAGE=prod`, offline: the packaged template creates exactly the tables the
tests run on, protects the money, wires the functions to their resources, keeps the local
routes out, lints clean, and the slimmed zip still imports where Lambda runs it."""
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from chalicelib.storage import schema
from deploy import template

ROOT = template.ROOT
PY = sys.executable


def _clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("JWT_", "TABLE_", "BUCKET_", "DYNAMODB_", "S3_", "STAGE"))}
    return {**env, "AWS_DEFAULT_REGION": "us-east-1", **extra}


@pytest.fixture(scope="module")
def packaged(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("package") / "prod"
    result = subprocess.run([PY, "-m", "deploy.package", "--stage", "prod", "--out", str(out),
                             "--no-regenerate"], cwd=ROOT, env=_clean_env(),
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def sam(packaged) -> dict:
    return json.loads((packaged / "sam.json").read_text(encoding="utf-8"))


def _resources(sam, kind):
    return {k: v for k, v in sam["Resources"].items() if v["Type"] == kind}


def _functions(sam):
    return _resources(sam, "AWS::Serverless::Function")


def test_the_committed_merge_template_and_policies_are_current():
    result = subprocess.run([PY, "-m", "deploy.template", "--check"], cwd=ROOT,
                            env=_clean_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


# --- tables ------------------------------------------------------------------
def _shape(keys):
    return sorted((k["AttributeName"], k["KeyType"]) for k in keys)


def _indexes(described):
    return {i["IndexName"]: (_shape(i["KeySchema"]), i["Projection"]["ProjectionType"])
            for i in described or []}


def test_every_table_has_the_keys_and_indexes_of_the_tables_the_tests_run_on(sam, moto_aws):
    """The schema drift test: what moto was given by the tests against the template."""
    tables = _resources(sam, "AWS::DynamoDB::Table")
    models = schema.all_models()
    assert set(tables) == {template.table_logical_id(m) for m in models}
    for model in models:
        described = model.describe_table()
        props = tables[template.table_logical_id(model)]["Properties"]
        assert props["TableName"] == {"Fn::Sub": "${AWS::StackName}-" + model.TABLE_SUFFIX}
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert _shape(props["KeySchema"]) == _shape(described["KeySchema"])
        assert props["KeySchema"][0]["KeyType"] == "HASH"
        assert sorted(map(json.dumps, props["AttributeDefinitions"])) == sorted(
            json.dumps({"AttributeName": a["AttributeName"], "AttributeType": a["AttributeType"]})
            for a in described["AttributeDefinitions"])
        assert _indexes(props.get("GlobalSecondaryIndexes")) == _indexes(
            described.get("GlobalSecondaryIndexes")), model.TABLE_SUFFIX
        assert _indexes(props.get("LocalSecondaryIndexes")) == _indexes(
            described.get("LocalSecondaryIndexes")), model.TABLE_SUFFIX


def test_the_sparse_due_timer_index_is_deployed(sam):
    orders = sam["Resources"]["OrdersTable"]["Properties"]
    assert "due_timers" in {i["IndexName"] for i in orders["GlobalSecondaryIndexes"]}


def test_every_table_can_be_restored_and_money_tables_are_protected_and_retained(sam):
    """What users wrote (reviews, messages, attachments, channels…) is restorable too."""
    money = [m for m in schema.all_models() if m.MONEY_TABLE]
    assert {"orders", "order_events"} <= {m.TABLE_SUFFIX for m in money}
    for model in schema.all_models():
        resource = sam["Resources"][template.table_logical_id(model)]
        props = resource["Properties"]
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        if model.MONEY_TABLE:
            assert props["DeletionProtectionEnabled"] is True
            assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"
        else:
            assert "DeletionProtectionEnabled" not in props


def test_ttl_is_on_exactly_the_models_that_declare_it(sam):
    for model in schema.all_models():
        props = sam["Resources"][template.table_logical_id(model)]["Properties"]
        if model.TTL_ATTRIBUTE:
            assert props["TimeToLiveSpecification"] == {"AttributeName": model.TTL_ATTRIBUTE,
                                                        "Enabled": True}
        else:
            assert "TimeToLiveSpecification" not in props


# --- bucket ------------------------------------------------------------------
def test_the_files_bucket_is_private_encrypted_and_open_to_browser_uploads(sam):
    bucket = sam["Resources"]["FilesBucket"]
    props = bucket["Properties"]
    assert bucket["DeletionPolicy"] == "Retain"
    assert all(props["PublicAccessBlockConfiguration"][k] is True for k in (
        "BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"))
    sse = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    cors = props["CorsConfiguration"]["CorsRules"][0]
    assert {"GET", "POST"} == set(cors["AllowedMethods"])
    rules = {r["Id"]: r for r in props["LifecycleConfiguration"]["Rules"]}
    assert rules["abort-incomplete-uploads"]["AbortIncompleteMultipartUpload"]
    assert rules["expire-abandoned-uploads"]["ExpirationInDays"] > 0
    # Versioned, and old versions do not pile up for ever.
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    old_versions = rules["expire-old-versions"]
    assert old_versions["NoncurrentVersionExpiration"]["NoncurrentDays"] > 0
    assert old_versions["ExpiredObjectDeleteMarker"] is True
    assert "Prefix" not in old_versions and "TagFilters" not in old_versions
    deny = sam["Resources"]["FilesBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


# --- functions, schedules, routes ---------------------------------------------
def test_every_function_is_wired_to_the_tables_bucket_secret_and_json_logs(sam):
    functions = _functions(sam)
    assert "APIHandler" in functions
    policy_of = {"APIHandler": template.API_FUNCTION,
                 **{template.cfn_name(n): n for n in _scheduled_names()},
                 template.cfn_name("index_market"): "index_market"}
    roles = set()
    for name, fn in functions.items():
        variables = fn["Properties"]["Environment"]["Variables"]
        assert variables["STAGE"] == "prod", name
        assert variables["TABLE_PREFIX"] == {"Fn::Sub": template.TABLE_PREFIX}, name
        assert variables["BUCKET_NAME"] == {"Ref": "FilesBucket"}, name
        assert variables["CORS_ALLOWED_ORIGINS"] == {
            "Fn::Join": [",", {"Ref": "CorsAllowedOrigins"}]}, name
        assert variables["JWT_SECRET_SSM_PARAMETER"]["Fn::If"][1] == {
            "Fn::Sub": "/${AWS::StackName}/jwt-secret"}
        assert "JWT_SECRET" not in variables  # never a secret in the template
        assert fn["Properties"]["LoggingConfig"]["LogFormat"] == "JSON"
        assert fn["Properties"]["LoggingConfig"]["LogGroup"] == {"Ref": "LogGroup"}
        role = fn["Properties"]["Role"]["Fn::GetAtt"][0]
        roles.add(role)
        policies = sam["Resources"][role]["Properties"]
        assert policies["Policies"][0]["PolicyDocument"] == json.loads(
            template.policy_path("prod", policy_of[name]).read_text(encoding="utf-8")), name
    assert len(roles) == len(functions)  # a role, and a policy, of its own each


def _evaluate(expression, parameters: dict, conditions: dict):
    """The value of a CloudFormation condition expression for these parameter values."""
    if isinstance(expression, dict):
        (fn, args), = expression.items()
        if fn == "Ref":
            return parameters[args]
        if fn == "Condition":
            return _evaluate(conditions[args], parameters, conditions)
        values = [_evaluate(a, parameters, conditions) for a in args]
        return {"Fn::Equals": lambda: values[0] == values[1], "Fn::Not": lambda: not values[0],
                "Fn::And": lambda: all(values), "Fn::Or": lambda: any(values),
                "Fn::Contains": lambda: values[1] in values[0]}[fn]()
    return expression


def _stack(sam, **given) -> dict:
    defaults = {name: p.get("Default") for name, p in sam["Parameters"].items()}
    return {**defaults, "CorsAllowedOrigins": ["https://market.example.com"], **given}


def _failed_rules(sam, parameters) -> list[str]:
    failed = []
    for rule in sam["Rules"].values():
        if _evaluate(rule.get("RuleCondition", True), parameters, sam["Conditions"]):
            failed += [a["AssertDescription"] for a in rule["Assertions"]
                       if not _evaluate(a["Assert"], parameters, sam["Conditions"])]
    return failed


def test_a_stack_with_any_origin_for_the_bucket_is_refused(sam):
    assert _failed_rules(sam, _stack(sam)) == []
    refused = _failed_rules(sam, _stack(sam, CorsAllowedOrigins=["https://a.example", "*"]))
    assert refused and "CorsAllowedOrigins" in refused[0]


@pytest.mark.parametrize("jwks", ["", "https://idp.example/.well-known/jwks.json"])
@pytest.mark.parametrize("arn", ["", "arn:aws:secretsmanager:us-east-1:1:secret:jwt"])
def test_every_mode_reads_the_stages_secret_which_signs_the_cursors(sam, jwks, arn):
    """With a JWKS too: cursors are signed with the stage's secret, never a public default."""
    parameters = _stack(sam, JwtJwksUrl=jwks, JwtSecretArn=arn, JwtIssuer="https://idp.example",
                        JwtAudience="market-web")
    conditions = sam["Conditions"]
    ssm = _evaluate({"Condition": "UseSsmSecret"}, parameters, conditions)
    manager = _evaluate({"Condition": "UseSecretsManager"}, parameters, conditions)
    assert (ssm, manager) == ((False, True) if arn else (True, False))


@pytest.mark.parametrize("missing", ["JwtIssuer", "JwtAudience"])
def test_a_jwks_stack_without_issuer_or_audience_is_refused_before_it_is_built(sam, missing):
    parameters = _stack(sam, **{"JwtJwksUrl": "https://idp.example/.well-known/jwks.json",
                                "JwtIssuer": "https://idp.example", "JwtAudience": "market-web",
                                missing: ""})
    failed = _failed_rules(sam, parameters)
    assert len(failed) == 1 and missing in failed[0]


def _scheduled_names() -> set[str]:
    code = ("import json, deploy.template as t; "
            "print(json.dumps([n for n, _ in t.scheduled_functions(t.load_app('prod'))]))")
    result = subprocess.run([PY, "-c", code], cwd=ROOT, env=_clean_env(), capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def test_the_scheduled_functions_run_every_minute_by_default_and_are_configurable(sam):
    names = _scheduled_names() & {"sweep_timeouts", "release_escrow"}
    functions = _functions(sam)
    for name in names:
        logical = template.cfn_name(name)
        event = functions[logical]["Properties"]["Events"][logical + "Event"]
        assert event["Type"] == "Schedule"
        assert event["Properties"]["Schedule"] == {"Ref": logical + "Schedule"}
        assert sam["Parameters"][logical + "Schedule"]["Default"] == "rate(1 minute)"


def test_the_market_index_consumer_reads_the_services_tables_own_stream(sam):
    """The services table streams both images; index_market is wired to that stream (not
    app.py's placeholder), bisects a failing batch, records what keeps failing in its
    queue, and may read that one stream and write only the market index."""
    services = sam["Resources"]["ServicesTable"]["Properties"]
    assert services["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    streamed = [k for k, r in _resources(sam, "AWS::DynamoDB::Table").items()
                if "StreamSpecification" in r["Properties"]]
    assert streamed == ["ServicesTable"]
    consumer = _functions(sam)["IndexMarket"]["Properties"]
    (event,) = consumer["Events"].values()
    assert event["Type"] == "DynamoDB"
    props = event["Properties"]
    assert props["Stream"] == {"Fn::GetAtt": ["ServicesTable", "StreamArn"]}
    assert props["StartingPosition"] == "TRIM_HORIZON" and props["BatchSize"] == 100
    assert props["BisectBatchOnFunctionError"] is True and props["MaximumRetryAttempts"] > 0
    queue = props["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
    assert sam["Resources"][queue]["Type"] == "AWS::SQS::Queue"
    assert consumer["ReservedConcurrentExecutions"]["Fn::If"][1] == {
        "Ref": "StreamConcurrencyLimit"}
    role = sam["Resources"][consumer["Role"]["Fn::GetAtt"][0]]["Properties"]
    statements = role["Policies"][0]["PolicyDocument"]["Statement"]
    tables = {r["Fn::GetAtt"][0] for st in statements if st["Sid"] != "ReadStream"
              for r in st["Resource"] if isinstance(r, dict) and "Fn::GetAtt" in r
              and r["Fn::GetAtt"][0].endswith("Table")}
    assert tables == {"MarketIndexTable"}
    api_role = _functions(sam)["APIHandler"]["Properties"]["Role"]["Fn::GetAtt"][0]
    api = sam["Resources"][api_role]["Properties"]["Policies"][0]["PolicyDocument"]
    index_grant = next(st for st in api["Statement"] if st["Sid"] == "MarketIndexTable")
    assert index_grant["Action"] == ["dynamodb:Query"]  # requests only read the index


def test_the_packaged_api_has_no_local_routes_and_no_clock(sam):
    paths = set(sam["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"])
    assert "/health" in paths and "/orders/{order_id}/pay" in paths
    assert not [p for p in paths if p.startswith("/_local")]
    assert not [p for p in paths if "clock" in p]


def test_logo_uploads_pass_api_gateway_as_binary(sam):
    body = sam["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    assert {"image/jpeg", "image/png", "image/bmp"} <= set(
        body["x-amazon-apigateway-binary-media-types"])


def test_the_gateways_own_errors_answer_in_the_contract_shape(sam):
    responses = sam["Resources"]["RestAPI"]["Properties"]["GatewayResponses"]
    assert {"DEFAULT_4XX", "DEFAULT_5XX", "MISSING_AUTHENTICATION_TOKEN"} <= set(responses)
    assert responses["MISSING_AUTHENTICATION_TOKEN"]["StatusCode"] == "404"
    for kind, response in responses.items():
        rendered = (response["ResponseTemplates"]["application/json"]
                    .replace("$context.error.messageString", json.dumps("拒绝 \"访问\""))
                    .replace("$context.error.responseType", kind)
                    .replace("$context.requestId", "req-1"))
        body = json.loads(rendered)
        assert set(body) == {"error"}
        assert set(body["error"]) == {"code", "message", "details"}
        assert body["error"]["code"].isupper()
    not_found = responses["MISSING_AUTHENTICATION_TOKEN"]["ResponseTemplates"]["application/json"]
    assert '"code":"NOT_FOUND"' in not_found


def test_the_gateways_own_errors_are_readable_by_pages_on_other_origins(sam):
    for kind, response in sam["Resources"]["RestAPI"]["Properties"]["GatewayResponses"].items():
        headers = response["ResponseParameters"]["Headers"]
        assert headers["Access-Control-Allow-Origin"] == "method.request.header.Origin", kind
        assert "Retry-After" in headers["Access-Control-Expose-Headers"]


def test_the_api_allows_the_stacks_cors_origins_and_answers_preflights_itself(sam):
    variables = _functions(sam)["APIHandler"]["Properties"]["Environment"]["Variables"]
    assert variables["CORS_ALLOWED_ORIGINS"] == {"Fn::Join": [",", {"Ref": "CorsAllowedOrigins"}]}
    paths = sam["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    without = [p for p, ops in paths.items() if "options" not in ops]
    assert without == []


# --- lint and zip -------------------------------------------------------------
def _cfn_lint(path: Path) -> subprocess.CompletedProcess:
    lint = Path(PY).with_name("cfn-lint")
    return subprocess.run([str(lint), str(path)], capture_output=True, text=True, timeout=300)


def test_cfn_lint_finds_nothing_in_the_packaged_template(packaged):
    result = _cfn_lint(packaged / "sam.json")
    assert result.returncode == 0, result.stdout + result.stderr


def test_cfn_lint_would_catch_a_broken_table(sam, tmp_path):
    broken = json.loads(json.dumps(sam))
    broken["Resources"]["OrdersTable"]["Properties"]["BillingMode"] = "FREE_OF_CHARGE"
    path = tmp_path / "sam.json"
    path.write_text(json.dumps(broken), encoding="utf-8")
    assert _cfn_lint(path).returncode != 0


def test_the_zip_leaves_out_what_lambda_provides_and_keeps_what_it_does_not(packaged):
    with zipfile.ZipFile(packaged / "deployment.zip") as zf:
        tops = {name.split("/", 1)[0] for name in zf.namelist()}
        total = sum(i.file_size for i in zf.infolist())
    assert not {"botocore", "boto3", "urllib3", "dateutil", "jmespath"} & tops
    assert {"app.py", "chalicelib", "pynamodb", "jwt", "PIL", "cryptography"} <= tops
    assert total < 250 * 1024 * 1024  # Lambda's unzipped limit
    assert (packaged / "deployment.zip").stat().st_size < 50 * 1024 * 1024


def test_the_zip_ships_bytecode_the_read_only_runtime_uses_as_it_is(packaged):
    """Lambda cannot write .pyc files: each module's unchecked-hash bytecode is in the zip."""
    with zipfile.ZipFile(packaged / "deployment.zip") as zf:
        names = set(zf.namelist())
        ours = [n for n in names if n.endswith(".py")
                and (n == "app.py" or n.startswith(("chalicelib/", "pynamodb/")))]
        assert len(ours) > 50
        for name in ours:
            head, _, file = name.rpartition("/")
            cached = f"{head}/__pycache__/{file[:-3]}.cpython-311.pyc".lstrip("/")
            assert cached in names, name
        flags = int.from_bytes(zf.read("chalicelib/__pycache__/settings.cpython-311.pyc")[4:8],
                               "little")
        assert flags == 0b01  # hash-based, not checked against the source


def test_the_slim_zip_imports_with_only_what_lambda_adds(packaged, tmp_path):
    """Unzipped beside boto3/botocore alone (what the runtime provides), app.py imports
    as a deployed prod function and answers /health; and every module it names lazily
    (chalicelib/lazy.py: loaded by the first call that needs it) imports there too."""
    code_dir, runtime_dir = tmp_path / "task", tmp_path / "runtime"
    with zipfile.ZipFile(packaged / "deployment.zip") as zf:
        zf.extractall(code_dir)
    import boto3
    import botocore

    site = Path(botocore.__file__).parents[1]
    runtime_dir.mkdir()
    for name in ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py"):
        source = site / name
        if source.exists():
            (runtime_dir / name).symlink_to(source)
    assert Path(boto3.__file__).parents[1] == site
    stdlib = [p for p in sys.path if p and "site-packages" not in p and "/work/" not in p]
    event = {"resource": "/health", "path": "/health", "httpMethod": "GET", "headers": {},
             "multiValueHeaders": {}, "queryStringParameters": None,
             "multiValueQueryStringParameters": None, "pathParameters": None,
             "stageVariables": None, "body": None, "isBase64Encoded": False,
             "requestContext": {"resourcePath": "/health", "httpMethod": "GET",
                                "requestId": "req-health-1", "path": "/api/health",
                                "stage": "api"}}
    probe = ("import sys, json, types; sys.path[:] = %r; import app; "
             "reply = app.app(%r, types.SimpleNamespace(aws_request_id='r1')); "
             "print(json.dumps(reply), flush=True); "
             "import importlib, chalicelib.lazy as lazy; "
             "[importlib.import_module(name) for name in lazy.named()]"
             % ([str(code_dir), str(runtime_dir)] + stdlib, event))
    env = _clean_env(STAGE="prod", AWS_LAMBDA_FUNCTION_NAME="service-market-prod",
                     JWT_SECRET_SSM_PARAMETER="/market-prod/jwt-secret",
                     PAYMENT_GATEWAY="alipay", ALIPAY_SSM_PARAMETER="/market-prod/alipay",
                     AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    result = subprocess.run([PY, "-S", "-c", probe], cwd=code_dir, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    reply = json.loads(result.stdout.strip().splitlines()[-1])
    body = json.loads(reply["body"])
    assert reply["statusCode"] == 200 and body["status"] == "ok"
    assert body["clock_moved"] is False  # a deployed stage runs on the real clock
    request_line = json.loads(result.stdout.strip().splitlines()[0])
    assert request_line["request_id"] == "req-health-1" and request_line["route"] == "/health"
    shutil.rmtree(code_dir)


# --- logos CDN ----------------------------------------------------------------
def test_logos_are_served_by_a_cdn_that_reads_only_the_logos_prefix(sam):
    cdn = sam["Resources"]["LogosDistribution"]["Properties"]["DistributionConfig"]
    origin = cdn["Origins"][0]
    assert origin["DomainName"] == {"Fn::GetAtt": ["FilesBucket", "RegionalDomainName"]}
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["LogosOriginAccessControl", "Id"]}
    assert cdn["DefaultCacheBehavior"]["AllowedMethods"] == ["GET", "HEAD"]
    assert cdn["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    statements = sam["Resources"]["FilesBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert len(allows) == 1  # nothing but the CDN, and the CDN nothing but logos/
    assert allows[0]["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allows[0]["Action"] == "s3:GetObject"
    assert allows[0]["Resource"] == {"Fn::Sub": "${FilesBucket.Arn}/logos/*"}
    assert "LogosDistribution" in allows[0]["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]


def test_the_api_answers_logo_urls_on_the_cdn(sam):
    for _name, fn in _functions(sam).items():
        variables = fn["Properties"]["Environment"]["Variables"]
        assert variables["LOGO_BASE_URL"] == {"Fn::Sub": "https://${LogosDistribution.DomainName}"}


# --- operations: throttling, dead letters, logs, scanner ------------------------------
def test_the_package_alarms_on_the_stage_it_packages(sam):
    assert sam["Parameters"]["Stage"]["Default"] == "prod"
    assert sam["Parameters"]["Stage"]["AllowedValues"] == ["prod"]


def test_the_api_stage_is_throttled_by_parameters_with_sensible_defaults(sam):
    api = sam["Resources"]["RestAPI"]["Properties"]
    (settings,) = api["MethodSettings"]
    assert (settings["ResourcePath"], settings["HttpMethod"]) == ("/*", "*")
    assert settings["ThrottlingRateLimit"] == {"Ref": "ApiThrottlingRateLimit"}
    assert settings["ThrottlingBurstLimit"] == {"Ref": "ApiThrottlingBurstLimit"}
    rate = sam["Parameters"]["ApiThrottlingRateLimit"]["Default"]
    burst = sam["Parameters"]["ApiThrottlingBurstLimit"]["Default"]
    # Far below API Gateway's account default (10,000/s), at least the steady rate.
    assert 0 < rate <= burst < 5000
    # Over the limit is the contract's 429 THROTTLED, answered by the gateway itself.
    assert api["GatewayResponses"]["THROTTLED"]["StatusCode"] == "429"


def test_the_api_stage_is_access_logged_traced_and_named_for_its_metrics(sam):
    api = sam["Resources"]["RestAPI"]["Properties"]
    assert api["TracingEnabled"] is True
    assert api["Name"] == {"Ref": "AWS::StackName"}  # the ApiName its alarms read
    log = api["AccessLogSetting"]
    assert log["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    line = json.loads(log["Format"].replace("$context.", "ctx_"))
    assert {"request_id", "status", "route", "latency_ms"} <= set(line)
    group = sam["Resources"]["ApiAccessLogGroup"]["Properties"]
    assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    # The stage may log only once the account's CloudWatch role is set; the role outlives
    # the stack, as other APIs of the account may rely on it.
    assert sam["Resources"]["RestAPI"]["DependsOn"] == ["ApiGatewayAccount"]
    assert sam["Resources"]["ApiGatewayCloudWatchRole"]["DeletionPolicy"] == "Retain"


def test_each_scheduled_function_has_a_dead_letter_queue_and_a_concurrency_limit(sam):
    functions = _functions(sam)
    scheduled = [template.cfn_name(n) for n in _scheduled_names()]
    assert len(scheduled) >= 4
    for logical in scheduled:
        props = functions[logical]["Properties"]
        queue = props["DeadLetterQueue"]
        assert queue["Type"] == "SQS"
        queue_id = queue["TargetArn"]["Fn::GetAtt"][0]
        assert sam["Resources"][queue_id]["Type"] == "AWS::SQS::Queue"
        assert sam["Resources"][queue_id]["Properties"]["SqsManagedSseEnabled"] is True
        assert props["ReservedConcurrentExecutions"]["Fn::If"][1] == {
            "Ref": "SweepConcurrencyLimit"}
    api = functions["APIHandler"]["Properties"]
    assert "DeadLetterQueue" not in api  # called synchronously: errors answer the caller
    assert api["ReservedConcurrentExecutions"]["Fn::If"][1] == {"Ref": "ApiConcurrencyLimit"}


def test_the_bucket_and_the_cdn_write_access_logs_to_a_private_log_bucket(sam):
    resources = sam["Resources"]
    logging_config = resources["FilesBucket"]["Properties"]["LoggingConfiguration"]
    assert logging_config["DestinationBucketName"] == {"Ref": "AccessLogsBucket"}
    cdn = resources["LogosDistribution"]["Properties"]["DistributionConfig"]
    assert cdn["Logging"]["Bucket"] == {"Fn::GetAtt": ["AccessLogsBucket", "RegionalDomainName"]}
    logs = resources["AccessLogsBucket"]["Properties"]
    assert all(logs["PublicAccessBlockConfiguration"].values())
    assert logs["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == {
        "Ref": "AccessLogRetentionDays"}


def test_the_cdn_serves_tls_1_2_on_a_domain_of_yours(sam):
    cdn = sam["Resources"]["LogosDistribution"]["Properties"]["DistributionConfig"]
    condition, own, default = cdn["ViewerCertificate"]["Fn::If"]
    assert own["MinimumProtocolVersion"] == "TLSv1.2_2021" and own["SslSupportMethod"] == "sni-only"
    assert default == {"CloudFrontDefaultCertificate": True}
    with_domain = _stack(sam, LogosDomainName="logos.market.example",
                         LogosCertificateArn="arn:aws:acm:us-east-1:123456789012:certificate/x")
    assert _evaluate({"Condition": condition}, with_domain, sam["Conditions"]) is True
    assert _failed_rules(sam, with_domain) == []
    half = _stack(sam, LogosDomainName="logos.market.example")
    assert _failed_rules(sam, half) == ["LogosDomainName needs LogosCertificateArn"]


CHECKOV = ROOT / ".local" / "checkov" / "bin" / "checkov"


@pytest.mark.skipif(not CHECKOV.exists(),
                    reason="checkov is not installed: `make checkov` (a dependency of "
                           "`make test`) installs it into .local/checkov")
def test_checkov_passes_the_packaged_template_but_for_reasoned_skips(sam, tmp_path):
    """checkov 3.3.30, a scanner nobody here wrote. It scans the template without the
    API's OpenAPI body (routes, which no CloudFormation check reads: the same results,
    in a third of the time), next to a copy with a table's recovery turned off, which it
    must catch."""
    scanned = json.loads(json.dumps(sam))
    scanned["Resources"]["RestAPI"]["Properties"].pop("DefinitionBody")
    (tmp_path / "ok").mkdir()
    (tmp_path / "ok" / "sam.json").write_text(json.dumps(scanned), encoding="utf-8")
    broken = json.loads(json.dumps(scanned))
    broken["Resources"]["ReviewsTable"]["Properties"].pop("PointInTimeRecoverySpecification")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "sam.json").write_text(json.dumps(broken), encoding="utf-8")

    result = subprocess.run(
        [str(CHECKOV), "--config-file", str(ROOT / "deploy" / "checkov.yaml"), "-o", "json",
         "-d", str(tmp_path)], capture_output=True, text=True, timeout=300, cwd=ROOT)
    report = json.loads(result.stdout)
    assert report["summary"]["parsing_errors"] == 0
    failed = [(c["check_id"], c["resource"], c["file_path"]) for c in
              report["results"]["failed_checks"]]
    assert failed == [("CKV_AWS_28", "AWS::DynamoDB::Table.ReviewsTable", "/broken/sam.json")]
    assert report["summary"]["passed"] > 100
    # Every skip says why.
    for skipped in report["results"]["skipped_checks"]:
        assert len(skipped["check_result"].get("suppress_comment") or "") > 20, skipped
    config = (ROOT / "deploy" / "checkov.yaml").read_text(encoding="utf-8")
    skips = re.findall(r"((?:  #.*\n)+)  - (CKV\w+)", config)
    listed = re.findall(r"^  - (CKV\w+)", config, flags=re.M)
    assert sorted(check for _, check in skips) == sorted(listed) and listed
