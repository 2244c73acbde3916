"""The CloudFormation that `chalice package --merge-template` adds to the app, and the
IAM policy of the deployed stages, both built from what the code registers.

Tables come from the PynamoDB models (the same definitions the tests create their moto
and DynamoDB Local tables from), functions and schedules from app.py. Nothing here is
written by hand twice: `python -m deploy.template` rewrites deploy/merge-template.json
and .chalice/policy-<stage>.json, and tests/deploy fails if the committed ones are stale.
"""
import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MERGE_TEMPLATE = ROOT / "deploy" / "merge-template.json"
DEPLOYED_STAGES = ("dev", "prod")
API_HANDLER = "APIHandler"
FILES_BUCKET = "FilesBucket"
LOG_GROUP = "LogGroup"
LOG_GROUP_NAME = "/aws/lambda/${AWS::StackName}"
TABLE_PREFIX = "${AWS::StackName}-"
JWT_SECRET_PARAMETER_NAME = "/${AWS::StackName}/jwt-secret"

# What the code calls, as IAM actions. tests/deploy/test_policy.py records the calls of
# a test run and fails if this is missing one or grants one nobody calls.
DYNAMODB_ACTIONS = [
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:Scan",  # GET /admin/ledger/check reads every posting and account
    "dynamodb:UpdateItem",
]
S3_OBJECT_ACTIONS = ["s3:GetObject", "s3:PutObject"]
SES_ACTIONS = ["ses:SendEmail"]
SES_IDENTITY = "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/"

# Errors API Gateway answers itself, before the function runs, in the contract's shape.
# $context.error.messageString is already a quoted JSON string.
_GATEWAY_RESPONSES = {
    "MISSING_AUTHENTICATION_TOKEN": ("404", "NOT_FOUND", '"no such route"'),
    "REQUEST_TOO_LARGE": ("413", "PAYLOAD_TOO_LARGE", "$context.error.messageString"),
    "UNSUPPORTED_MEDIA_TYPE": ("415", "UNSUPPORTED_MEDIA_TYPE", "$context.error.messageString"),
    "THROTTLED": ("429", "THROTTLED", "$context.error.messageString"),
    "DEFAULT_4XX": (None, "INVALID_REQUEST", "$context.error.messageString"),
    "DEFAULT_5XX": (None, "INTERNAL_ERROR", "$context.error.messageString"),
}


def gateway_response_template(code: str, message: str) -> str:
    return ('{"error":{"code":"%s","message":%s,"details":{"type":"$context.error.responseType",'
            '"request_id":"$context.requestId"}}}' % (code, message))


def _sub(text: str) -> dict:
    return {"Fn::Sub": text}


def cfn_name(name: str) -> str:
    from chalice.utils import to_cfn_resource_name

    return to_cfn_resource_name(name)


def table_logical_id(model) -> str:
    return cfn_name(model.TABLE_SUFFIX) + "Table"


# --- tables ------------------------------------------------------------------
def _key_schema(keys: list[dict]) -> list[dict]:
    # CloudFormation and DynamoDB want HASH before RANGE; PynamoDB does not sort them.
    return [{"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]}
            for k in sorted(keys, key=lambda k: k["KeyType"] != "HASH")]


def _projection(index: dict) -> dict:
    projection = index["projection"]
    out = {"ProjectionType": projection["ProjectionType"]}
    if projection.get("NonKeyAttributes"):
        out["NonKeyAttributes"] = sorted(projection["NonKeyAttributes"])
    return out


def table_properties(model) -> dict:
    """The AWS::DynamoDB::Table properties of one model (keys, indexes, TTL, protection)."""
    schema = model._get_schema()
    props = {
        "TableName": _sub(TABLE_PREFIX + model.TABLE_SUFFIX),
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": sorted(
            ({"AttributeName": a["AttributeName"], "AttributeType": a["AttributeType"]}
             for a in schema["attribute_definitions"]), key=lambda a: a["AttributeName"]),
        "KeySchema": _key_schema(schema["key_schema"]),
    }
    for kind, prop in (("global_secondary_indexes", "GlobalSecondaryIndexes"),
                       ("local_secondary_indexes", "LocalSecondaryIndexes")):
        indexes = sorted(schema.get(kind) or [], key=lambda i: i["index_name"])
        if indexes:
            props[prop] = [{"IndexName": i["index_name"], "KeySchema": _key_schema(i["key_schema"]),
                            "Projection": _projection(i)} for i in indexes]
    if getattr(model, "TTL_ATTRIBUTE", None):
        props["TimeToLiveSpecification"] = {"AttributeName": model.TTL_ATTRIBUTE, "Enabled": True}
    if getattr(model, "MONEY_TABLE", False):
        props["PointInTimeRecoverySpecification"] = {"PointInTimeRecoveryEnabled": True}
        props["DeletionProtectionEnabled"] = True
    return props


def table_resource(model) -> dict:
    resource = {"Type": "AWS::DynamoDB::Table", "Properties": table_properties(model)}
    if getattr(model, "MONEY_TABLE", False):
        # Losing a money table loses money: a stack delete or replacement keeps it.
        resource["DeletionPolicy"] = resource["UpdateReplacePolicy"] = "Retain"
    else:
        resource["DeletionPolicy"] = resource["UpdateReplacePolicy"] = "Delete"
    return resource


def index_names(model) -> list[str]:
    schema = model._get_schema()
    return sorted(i["index_name"] for kind in ("global_secondary_indexes",
                                                "local_secondary_indexes")
                  for i in schema.get(kind) or [])


# --- the bucket --------------------------------------------------------------
def bucket_resources() -> dict:
    return {
        FILES_BUCKET: {
            "Type": "AWS::S3::Bucket",
            # Logos and delivered work belong to users: deleting the stack keeps them.
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "BucketEncryption": {"ServerSideEncryptionConfiguration": [{
                    "ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
                    "BucketKeyEnabled": True}]},
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True, "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                # Browsers upload and download straight to S3 with presigned URLs.
                "CorsConfiguration": {"CorsRules": [{
                    "AllowedMethods": ["GET", "PUT", "POST"],
                    "AllowedOrigins": {"Ref": "CorsAllowedOrigins"},
                    "AllowedHeaders": ["*"],
                    "ExposedHeaders": ["ETag"],
                    "MaxAge": 3000}]},
                "LifecycleConfiguration": {"Rules": [
                    {"Id": "abort-incomplete-uploads", "Status": "Enabled",
                     "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}},
                    # A presigned upload that no delivery ever claimed is tagged
                    # upload=pending by the uploader; it is garbage after a week.
                    {"Id": "expire-abandoned-uploads", "Status": "Enabled",
                     "TagFilters": [{"Key": "upload", "Value": "pending"}],
                     "ExpirationInDays": 7},
                ]},
            },
        },
        FILES_BUCKET + "Policy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": FILES_BUCKET},
                "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Sid": "DenyPlainHttp", "Effect": "Deny", "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [{"Fn::GetAtt": [FILES_BUCKET, "Arn"]},
                                 _sub("${%s.Arn}/*" % FILES_BUCKET)],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]},
            },
        },
    }


# --- functions ---------------------------------------------------------------
def scheduled_functions(chalice_app) -> list[tuple[str, str]]:
    """(name, schedule expression) of every @app.schedule function."""
    from chalice.app import ScheduledEventConfig

    found = []
    for source in chalice_app.event_sources:
        if isinstance(source, ScheduledEventConfig):
            expression = source.schedule_expression
            if not isinstance(expression, str):
                expression = expression.to_string()
            found.append((source.name, expression))
    return sorted(found)


def _environment() -> dict:
    return {
        "TABLE_PREFIX": _sub(TABLE_PREFIX),
        "BUCKET_NAME": {"Ref": FILES_BUCKET},
        "JWT_SECRET_SSM_PARAMETER": {"Fn::If": ["UseSsmSecret", _sub(JWT_SECRET_PARAMETER_NAME),
                                                ""]},
        "JWT_SECRET_SECRET_ARN": {"Fn::If": ["UseSecretsManager", {"Ref": "JwtSecretArn"}, ""]},
        "JWT_JWKS_URL": {"Ref": "JwtJwksUrl"},
        "JWT_AUDIENCE": {"Ref": "JwtAudience"},
        "JWT_ISSUER": {"Ref": "JwtIssuer"},
        "JWT_ROLES_CLAIM": {"Ref": "JwtRolesClaim"},
        "MAIL_FROM": {"Ref": "MailFrom"},
    }


def _function_properties() -> dict:
    return {
        "Environment": {"Variables": _environment()},
        # Lambda writes every logging line as JSON with the request id; our own request
        # and metric lines are printed as JSON already.
        "LoggingConfig": {"LogFormat": "JSON", "ApplicationLogLevel": "INFO",
                          "SystemLogLevel": "WARN", "LogGroup": {"Ref": LOG_GROUP}},
    }


def _parameters(schedules: list[tuple[str, str]]) -> dict:
    params = {
        "CorsAllowedOrigins": {
            "Type": "CommaDelimitedList", "Default": "*",
            "Description": "Origins allowed to upload to and download from the files bucket"},
        "JwtSecretArn": {
            "Type": "String", "Default": "",
            "Description": "Secrets Manager ARN of the HS256 secret; empty: read the SSM "
                           "parameter /<stack name>/jwt-secret instead"},
        "JwtJwksUrl": {
            "Type": "String", "Default": "",
            "Description": "Verify RS256 tokens against this JWKS (e.g. a Cognito user pool); "
                           "empty: HS256 with the stage's secret"},
        "JwtAudience": {"Type": "String", "Default": "",
                        "Description": "Expected aud of RS256 tokens (empty: not checked)"},
        "JwtIssuer": {"Type": "String", "Default": "",
                      "Description": "Expected iss of RS256 tokens (empty: not checked)"},
        "JwtRolesClaim": {"Type": "String", "Default": "roles",
                          "Description": "Claim holding the roles list (cognito:groups for "
                                         "Cognito)"},
        "MailFrom": {"Type": "String", "Default": "",
                     "Description": "SES-verified sender of notification e-mail (its address "
                                    "or its domain verified in SES); empty: no e-mail"},
        "LogRetentionDays": {"Type": "Number", "Default": 30,
                             "AllowedValues": [1, 3, 5, 7, 14, 30, 60, 90, 180, 365]},
    }
    for name, expression in schedules:
        params[cfn_name(name) + "Schedule"] = {
            "Type": "String", "Default": expression,
            "AllowedPattern": r"^(rate|cron)\(.+\)$",
            "Description": f"When {name} runs"}
    return params


def _conditions() -> dict:
    return {
        "UseJwks": {"Fn::Not": [{"Fn::Equals": [{"Ref": "JwtJwksUrl"}, ""]}]},
        "UseSecretsManager": {"Fn::And": [
            {"Fn::Not": [{"Condition": "UseJwks"}]},
            {"Fn::Not": [{"Fn::Equals": [{"Ref": "JwtSecretArn"}, ""]}]}]},
        "SendsMail": {"Fn::Not": [{"Fn::Equals": [{"Ref": "MailFrom"}, ""]}]},
        "UseSsmSecret": {"Fn::And": [{"Fn::Not": [{"Condition": "UseJwks"}]},
                                     {"Fn::Equals": [{"Ref": "JwtSecretArn"}, ""]}]},
    }


def merge_template(models, chalice_app) -> dict:
    """The template merged into chalice's: tables, bucket, log group, wiring, gateway errors."""
    schedules = scheduled_functions(chalice_app)
    resources = {table_logical_id(m): table_resource(m) for m in models}
    resources.update(bucket_resources())
    resources[LOG_GROUP] = {
        "Type": "AWS::Logs::LogGroup",
        "DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete",
        "Properties": {"LogGroupName": _sub(LOG_GROUP_NAME),
                       "RetentionInDays": {"Ref": "LogRetentionDays"}},
    }
    resources[API_HANDLER] = {"Properties": _function_properties()}
    for name, _ in schedules:
        fn = cfn_name(name)
        resources[fn] = {"Properties": {
            **_function_properties(),
            "Events": {fn + "Event": {"Properties": {"Schedule": {"Ref": fn + "Schedule"}}}}}}
    responses = {}
    for kind, (status, code, message) in _GATEWAY_RESPONSES.items():
        response = {"ResponseTemplates": {
            "application/json": gateway_response_template(code, message)}}
        if status:
            response["StatusCode"] = status
        responses[kind] = response
    resources["RestAPI"] = {"Properties": {"GatewayResponses": responses}}
    outputs = {"FilesBucketName": {"Value": {"Ref": FILES_BUCKET}},
               "TablePrefix": {"Value": _sub(TABLE_PREFIX)},
               "JwtSecretParameterName": {"Value": _sub(JWT_SECRET_PARAMETER_NAME)}}
    return {"Parameters": _parameters(schedules), "Conditions": _conditions(),
            "Resources": resources, "Outputs": outputs}


# --- the policy --------------------------------------------------------------
def policy(models) -> dict:
    """The role policy of every deployed function: our tables, our bucket, our secret."""
    table_arns = []
    for model in sorted(models, key=lambda m: m.TABLE_SUFFIX):
        logical = table_logical_id(model)
        table_arns.append({"Fn::GetAtt": [logical, "Arn"]})
        table_arns += [_sub("${%s.Arn}/index/%s" % (logical, name)) for name in index_names(model)]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Tables", "Effect": "Allow", "Action": DYNAMODB_ACTIONS,
             "Resource": table_arns},
            # Presigned uploads and downloads act with this role's permissions.
            {"Sid": "FilesObjects", "Effect": "Allow", "Action": S3_OBJECT_ACTIONS,
             "Resource": [_sub("${%s.Arn}/*" % FILES_BUCKET)]},
            {"Sid": "Logs", "Effect": "Allow",
             "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
             "Resource": [_sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}"
                               ":log-group:%s:*" % LOG_GROUP_NAME)]},
            {"Fn::If": ["UseSsmSecret", {
                "Sid": "JwtSecretParameter", "Effect": "Allow", "Action": ["ssm:GetParameter"],
                "Resource": [_sub("arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}"
                                  ":parameter" + JWT_SECRET_PARAMETER_NAME)]},
                {"Ref": "AWS::NoValue"}]},
            # Notification e-mail (deliver_notifications) may only be sent as MailFrom,
            # verified either as that address or as its domain.
            {"Fn::If": ["SendsMail", {
                "Sid": "Mail", "Effect": "Allow", "Action": SES_ACTIONS,
                "Resource": [_sub(SES_IDENTITY + "${MailFrom}"),
                             {"Fn::Sub": [SES_IDENTITY + "${Domain}", {"Domain": {
                                 "Fn::Select": [1, {"Fn::Split": ["@", {"Ref": "MailFrom"}]}]}}]}]},
                {"Ref": "AWS::NoValue"}]},
            {"Fn::If": ["UseSecretsManager", {
                "Sid": "JwtSecret", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
                "Resource": [{"Ref": "JwtSecretArn"}]}, {"Ref": "AWS::NoValue"}]},
        ],
    }


def policy_path(stage: str) -> Path:
    return ROOT / ".chalice" / f"policy-{stage}.json"


def dumps(document: dict) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def load_app(stage: str = "prod"):
    """app.py as a deployed stage sees it (the stage decides which routes exist)."""
    os.environ["STAGE"] = stage
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from chalicelib import settings

    settings.reload()
    import app

    return app.app


def generated(stage: str = "prod") -> dict[Path, str]:
    """Every generated file and its content."""
    chalice_app = load_app(stage)
    from chalicelib.storage import schema

    models = schema.all_models()
    files = {MERGE_TEMPLATE: dumps(merge_template(models, chalice_app))}
    for each in DEPLOYED_STAGES:
        files[policy_path(each)] = dumps(policy(models))
    return files


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="fail if a committed file differs from what the code generates")
    args = parser.parse_args(argv)
    stale = []
    for path, text in generated().items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current != text:
            stale.append(path.relative_to(ROOT))
            if not args.check:
                path.write_text(text, encoding="utf-8")
    if args.check and stale:
        print("stale: " + ", ".join(map(str, stale)) + " (run `python -m deploy.template`)")
        return 1
    for path in stale:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
