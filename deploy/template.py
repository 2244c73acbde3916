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

from deploy import hardening, monitoring

ROOT = Path(__file__).resolve().parents[1]
MERGE_TEMPLATE = ROOT / "deploy" / "merge-template.json"
DEPLOYED_STAGES = ("dev", "prod")
API_HANDLER = "APIHandler"
FILES_BUCKET = "FilesBucket"
LOGOS_CDN = "LogosDistribution"
LOGOS_OAC = "LogosOriginAccessControl"
LOGOS_PREFIX = "logos/"
# AWS's managed cache policy "CachingOptimized" (honours the objects' long
# Cache-Control) and response headers policy "SimpleCORS" (any page may show a logo).
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
SIMPLE_CORS = "60669652-455b-4ae9-85a4-c4c02393f86c"
LOG_GROUP = "LogGroup"
LOG_GROUP_NAME = "/aws/lambda/${AWS::StackName}"
TABLE_PREFIX = "${AWS::StackName}-"
JWT_SECRET_PARAMETER_NAME = "/${AWS::StackName}/jwt-secret"
ALIPAY_PARAMETER_NAME = "/${AWS::StackName}/alipay"

# What each deployed function does to each table (`suffix`) and index (`suffix/index`),
# as DynamoDB actions. tests/deploy/test_policy.py records a market scenario that drives
# every route and every kind of job work, and fails if a function lacks a grant for a
# call it makes or holds one it never makes. Nothing may delete or batch-write a money
# table; only the API scans, and only for the ledger audit.
API_FUNCTION = "api_handler"  # chalice's name for the function behind the routes
_LEDGER_AUDIT = ["Scan"]  # GET /admin/ledger/check reads every posting, account and order
TABLE_GRANTS: dict[str, dict[str, list[str]]] = {
    API_FUNCTION: {
        "accounts": ["GetItem", "UpdateItem", *_LEDGER_AUDIT],
        "attachments": ["GetItem", "PutItem", "Query", "UpdateItem"],
        "campaigns": ["ConditionCheckItem", "GetItem", "PutItem"],
        "campaigns/by_end": ["Query"],
        "catalog_guards": ["DeleteItem", "GetItem", "PutItem"],
        "channels": ["GetItem", "UpdateItem"],
        "contracts": ["GetItem", "PutItem", "UpdateItem", *_LEDGER_AUDIT],
        "contracts/by_buyer": ["Query"],
        "contracts/by_provider": ["Query"],
        "contracts/by_status_shard": ["Query"],
        # Day counters move with each counted change; a buyer's day mark is read first.
        "daily_counts": ["GetItem", "Query", "UpdateItem"],
        "statements": ["GetItem", "Query", "UpdateItem", *_LEDGER_AUDIT],
        "statements/disputed": ["Query"],
        "deliverables": ["BatchGetItem", "GetItem", "PutItem", "Query", "UpdateItem"],
        "evidence": ["GetItem", "PutItem"],
        "evidence/by_time": ["Query"],
        "idempotency": ["DeleteItem", "GetItem", "PutItem", "UpdateItem"],
        "inquiries": ["GetItem", "PutItem", "UpdateItem"],
        "inquiries/by_buyer": ["Query"],
        "inquiries/by_provider": ["Query"],
        "inquiry_messages": ["PutItem", "Query"],
        "instructions": ["GetItem", "PutItem", "UpdateItem", *_LEDGER_AUDIT],
        "market_index": ["Query"],
        "market_index/by_best": ["Query"],
        "market_index/by_price": ["Query"],
        "market_index/by_rating": ["Query"],
        "messages": ["PutItem"],
        "messages/by_time": ["Query"],
        "notification_counters": ["GetItem", "UpdateItem"],
        "notifications": ["PutItem", "Query", "UpdateItem"],
        "notifications/unread": ["Query"],
        "order_events": ["PutItem", "Query"],
        "orders": ["GetItem", "PutItem", "UpdateItem", *_LEDGER_AUDIT],
        "orders/by_buyer": ["Query"],
        "orders/by_buyer_status": ["Query"],
        "orders/by_provider": ["Query"],
        "orders/by_provider_status": ["Query"],
        "orders/by_status_shard": ["Query"],
        "payments": ["GetItem", "PutItem", "UpdateItem", *_LEDGER_AUDIT],
        "payout_accounts": ["GetItem", "PutItem"],
        "postings": ["PutItem", *_LEDGER_AUDIT],
        "postings/by_account": ["Query"],
        "proposals": ["GetItem", "PutItem", "Query", "UpdateItem"],
        "providers": ["ConditionCheckItem", "GetItem", "UpdateItem"],
        "providers/by_status": ["Query"],
        "provider_stats": ["GetItem", "UpdateItem"],
        "reviews": ["GetItem", "PutItem", "Query", "UpdateItem"],
        "reviews/by_public_provider": ["Query"],
        "reviews/by_public_service": ["Query"],
        "services": ["ConditionCheckItem", "DeleteItem", "GetItem", "PutItem", "UpdateItem"],
        "services/by_listed_provider": ["Query"],
        "services/by_provider": ["Query"],
        "stuck_items": ["Query"],
        "users": ["GetItem", "UpdateItem"],
        "withdrawals": ["GetItem", "PutItem", *_LEDGER_AUDIT],
        "withdrawals/by_user": ["Query"],
    },
    # After each run every job reads its gauges (services.sweep_health): the first key of
    # its index, its own parked items (stuck_items Query), and what waits behind it.
    "sweep_timeouts": {
        "accounts": ["GetItem", "UpdateItem"],
        "campaigns": ["UpdateItem"],
        "campaigns/by_pending_end": ["Query"],
        "catalog_guards": ["DeleteItem"],
        "daily_counts": ["UpdateItem"],
        "instructions": ["GetItem", "PutItem", "UpdateItem"],
        "notification_counters": ["UpdateItem"],
        "notifications": ["PutItem"],
        "order_events": ["PutItem"],
        "orders": ["GetItem", "UpdateItem"],
        "orders/due_timers": ["Query"],
        "postings": ["PutItem"],
        "proposals": ["UpdateItem"],
        "provider_stats": ["UpdateItem"],
        "providers": ["UpdateItem"],
        "reviews": ["UpdateItem"],
        "services": ["UpdateItem"],
        "services/by_trial_campaign": ["Query"],
        "stuck_items": ["DeleteItem", "Query", "UpdateItem"],
        # An unpaid order the payment window closes leaves its buyer's unpaid count.
        "users": ["UpdateItem"],
    },
    "release_escrow": {
        "accounts": ["UpdateItem"],
        "contracts": ["UpdateItem"],
        "daily_counts": ["UpdateItem"],
        "instructions": ["GetItem", "UpdateItem"],
        "instructions/pending": ["Query"],
        "orders": ["UpdateItem"],
        "postings": ["PutItem"],
        "stuck_items": ["DeleteItem", "Query", "UpdateItem"],
        "withdrawals": ["GetItem", "UpdateItem"],
    },
    # Notifications leave for webhooks and e-mail from the outbox index; a receiver that
    # keeps failing is parked for operators.
    "deliver_notifications": {
        "channels": ["GetItem"],
        "notifications": ["GetItem", "UpdateItem"],
        "notifications/outbox": ["Query"],
        "stuck_items": ["DeleteItem", "Query", "UpdateItem"],
    },
    # Payments whose notification never came: ask the gateway, then settle as the
    # notification would have (fund the order, or refund money for a closed one).
    "settle_payments": {
        "accounts": ["UpdateItem"],
        "contracts": ["GetItem", "UpdateItem"],
        "statements": ["GetItem", "Query", "UpdateItem"],
        # A confirmed pay counts in its day, and its buyer's day mark is read first.
        "daily_counts": ["GetItem", "UpdateItem"],
        "instructions": ["GetItem", "PutItem", "UpdateItem"],
        "notification_counters": ["UpdateItem"],
        "notifications": ["PutItem"],
        "order_events": ["PutItem"],
        "orders": ["GetItem", "UpdateItem"],
        "payments": ["GetItem", "UpdateItem"],
        "payments/pending": ["Query"],
        "payments/problems": ["Query"],
        "postings": ["PutItem"],
        # A confirmed pay moves the provider's record (the buyer's pair item: 回头客).
        "provider_stats": ["GetItem", "UpdateItem"],
        "stuck_items": ["DeleteItem", "Query", "UpdateItem"],
    },
    # Contracts: open statements, act on their deadlines, draw and return deposits.
    "sweep_contracts": {
        "contracts": ["GetItem", "UpdateItem"],
        "contracts/due_timers": ["Query"],
        "statements": ["GetItem", "PutItem", "Query", "UpdateItem"],
        "statements/statement_due_timers": ["Query"],
        "accounts": ["UpdateItem"],
        "daily_counts": ["UpdateItem"],
        "instructions": ["GetItem", "PutItem", "UpdateItem"],
        "notification_counters": ["UpdateItem"],
        "notifications": ["PutItem"],
        "postings": ["PutItem"],
        "stuck_items": ["Query", "UpdateItem"],
    },
    # The services' stream consumer: each service's head item (the version fence and the
    # keys it wrote) and its search entries. Reading the stream is granted apart
    # (stream_statement): Lambda's event source mapping reads it with this role.
    "index_market": {
        "market_index": ["BatchWriteItem", "UpdateItem"],
    },
}
# The functions that talk to the payment gateway read its registration (app id and keys):
# the API (pay, notifications), release_escrow (refunds, payouts), settle_payments (queries).
GATEWAY_FUNCTIONS = (API_FUNCTION, "release_escrow", "settle_payments", "sweep_contracts")
# Only the API touches the bucket (presigned URLs act with its role) and reads the
# stage's secret (tokens, cursors); the jobs do neither.
S3_OBJECT_ACTIONS = ["s3:GetObject", "s3:PutObject"]
# Deleting a service, or replacing its logo, deletes the old logo; nothing else is ever
# deleted from the bucket (delivered files are evidence).
LOGO_PREFIX = "logos/"
S3_LOGO_ACTIONS = ["s3:DeleteObject"]
# Uploads carry the tag the abandoned-upload rule expires (the presigned POST sets it, so
# the role signing it needs the tagging action). Delivering copies each file, untagged, to
# a pinned key outside this prefix; the upload itself then expires like an abandoned one.
UPLOAD_PREFIX = "orders/"
PENDING_UPLOAD_TAG = {"Key": "upload", "Value": "pending"}
S3_UPLOAD_ACTIONS = ["s3:PutObjectTagging"]
# E-mail, only from the configured sender: notices (the deliver_notifications job) and the
# confirmation link of a new address (sent by the API in the request that sets it).
MAIL_FUNCTIONS = {"deliver_notifications", API_FUNCTION}
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


# A browser reads an error API Gateway answers itself (no such route, too large,
# throttled) only if it carries CORS headers too. The request's origin is echoed: a
# gateway response can only map a request value or a constant, never test a list, and
# these answers hold nothing but the error code, so any page may read them.
GATEWAY_RESPONSE_CORS_HEADERS = {
    "Access-Control-Allow-Origin": "method.request.header.Origin",
    "Access-Control-Expose-Headers": "'Idempotent-Replayed,Retry-After'",
    "Vary": "'Origin'",
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
    view = getattr(model.Meta, "stream_view_type", None)
    if view:  # read by a stream consumer (stream_functions)
        props["StreamSpecification"] = {"StreamViewType": view}
    if getattr(model, "TTL_ATTRIBUTE", None):
        props["TimeToLiveSpecification"] = {"AttributeName": model.TTL_ATTRIBUTE, "Enabled": True}
    # Every table can be restored to any second of the last 35 days: the money, and also
    # what users wrote (reviews, messages, attachments, channels) and what is derived from
    # it (market index, counters), so that a restore brings back one consistent moment.
    props["PointInTimeRecoverySpecification"] = {"PointInTimeRecoveryEnabled": True}
    if getattr(model, "MONEY_TABLE", False):
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
                "LoggingConfiguration": hardening.files_bucket_logging(),
                # Browsers of the configured web app download with presigned GETs and
                # upload with presigned POSTs of a form (no header beyond Content-Type).
                "CorsConfiguration": {"CorsRules": [{
                    "AllowedMethods": ["GET", "POST"],
                    "AllowedOrigins": {"Ref": "CorsAllowedOrigins"},
                    "AllowedHeaders": ["Content-Type"],
                    "ExposedHeaders": ["ETag"],
                    "MaxAge": 3000}]},
                # An overwrite or a delete keeps the old bytes as a noncurrent version.
                # Delivered files live under pinned/ keys that are written once and never
                # again, so they stay current for ever; this is the undo for anything else.
                "VersioningConfiguration": {"Status": "Enabled"},
                "LifecycleConfiguration": {"Rules": [
                    {"Id": "abort-incomplete-uploads", "Status": "Enabled",
                     "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}},
                    # Every delivery upload arrives tagged upload=pending (its presigned
                    # POST requires the field) and delivering removes the tag: what
                    # still carries it after a week was never delivered.
                    {"Id": "expire-abandoned-uploads", "Status": "Enabled",
                     "Prefix": UPLOAD_PREFIX, "TagFilters": [PENDING_UPLOAD_TAG],
                     "ExpirationInDays": 7},
                    # Old versions (a draft posted again, a replaced logo, an expired
                    # upload) are kept 30 days, then go; so do delete markers left alone.
                    {"Id": "expire-old-versions", "Status": "Enabled",
                     "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
                     "ExpiredObjectDeleteMarker": True},
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
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}}}, {
                    # The logos CDN reads logos and nothing else: delivered work stays
                    # behind presigned URLs.
                    "Sid": "LogosCdnReadsLogos", "Effect": "Allow",
                    "Principal": {"Service": "cloudfront.amazonaws.com"},
                    "Action": "s3:GetObject",
                    "Resource": _sub("${%s.Arn}/%s*" % (FILES_BUCKET, LOGOS_PREFIX)),
                    "Condition": {"StringEquals": {"AWS:SourceArn": _sub(
                        "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${%s}"
                        % LOGOS_CDN)}}}]},
            },
        },
    }


def logos_cdn_resources() -> dict:
    """A CloudFront distribution over the bucket, reading it with origin access control.

    Logo keys are content hashes, so a logo's URL never changes and the objects carry a
    year's Cache-Control: browsers, phones and the CDN cache them; the API answers
    https://<distribution>/logos/... without signing anything per request.
    """
    return {
        LOGOS_OAC: {
            "Type": "AWS::CloudFront::OriginAccessControl",
            "Properties": {"OriginAccessControlConfig": {
                "Name": _sub("${AWS::StackName}-logos"),
                "OriginAccessControlOriginType": "s3",
                "SigningBehavior": "always", "SigningProtocol": "sigv4"}},
        },
        LOGOS_CDN: {
            "Type": "AWS::CloudFront::Distribution",
            "Properties": {"DistributionConfig": {
                "Enabled": True,
                "Comment": _sub("${AWS::StackName} service logos"),
                "HttpVersion": "http2and3",
                "PriceClass": {"Ref": "LogosPriceClass"},
                "Origins": [{
                    "Id": "files",
                    "DomainName": {"Fn::GetAtt": [FILES_BUCKET, "RegionalDomainName"]},
                    "S3OriginConfig": {"OriginAccessIdentity": ""},
                    "OriginAccessControlId": {"Fn::GetAtt": [LOGOS_OAC, "Id"]}}],
                "DefaultCacheBehavior": {
                    "TargetOriginId": "files",
                    "ViewerProtocolPolicy": "redirect-to-https",
                    "AllowedMethods": ["GET", "HEAD"], "CachedMethods": ["GET", "HEAD"],
                    "Compress": True,
                    "CachePolicyId": CACHING_OPTIMIZED,
                    "ResponseHeadersPolicyId": SIMPLE_CORS},
                **hardening.logos_cdn_settings(),
            }},
            "Metadata": {"checkov": {"skip": hardening.LOGOS_CDN_SKIPS}},
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


def stream_functions(chalice_app) -> list[tuple[str, str]]:
    """(name, table suffix) of every @app.on_dynamodb_record function. app.py names the
    table in its placeholder ARN (`...:table/<suffix>/stream/...`); the template wires
    the real stream of that table in (stream_function_resource)."""
    from chalice.app import DynamoDBEventConfig

    found = []
    for source in chalice_app.event_sources:
        if isinstance(source, DynamoDBEventConfig):
            found.append((source.name, source.stream_arn.split(":table/", 1)[1].split("/")[0]))
    return sorted(found)


# A batch the consumer keeps failing is split in halves (to isolate the record) and
# retried; what still fails is recorded in the function's queue (its shard and sequence
# numbers: DynamoDB keeps the records 24 hours) and the stream moves on. A service's
# later change applies over it, as the version fence allows only newer images.
STREAM_RETRIES = 10


def stream_event_properties(table_logical: str, function_id: str) -> dict:
    return {"Stream": {"Fn::GetAtt": [table_logical, "StreamArn"]},
            "MaximumRetryAttempts": STREAM_RETRIES, "BisectBatchOnFunctionError": True,
            "DestinationConfig": {"OnFailure": {
                "Type": "SQS",
                "Destination": {"Fn::GetAtt": [hardening.dead_letter_queue_id(function_id),
                                               "Arn"]}}}}


def stream_event_id(name: str) -> str:
    """The logical id `chalice package` gives the function's DynamoDB event."""
    return cfn_name(name + "-dynamodb-event-source")


def _environment() -> dict:
    return {
        "TABLE_PREFIX": _sub(TABLE_PREFIX),
        "BUCKET_NAME": {"Ref": FILES_BUCKET},
        # The API's own CORS allows the same origins as the bucket's.
        "CORS_ALLOWED_ORIGINS": {"Fn::Join": [",", {"Ref": "CorsAllowedOrigins"}]},
        "JWT_SECRET_SSM_PARAMETER": {"Fn::If": ["UseSsmSecret", _sub(JWT_SECRET_PARAMETER_NAME),
                                                ""]},
        "JWT_SECRET_SECRET_ARN": {"Fn::If": ["UseSecretsManager", {"Ref": "JwtSecretArn"}, ""]},
        "JWT_JWKS_URL": {"Ref": "JwtJwksUrl"},
        "JWT_AUDIENCE": {"Ref": "JwtAudience"},
        "JWT_ISSUER": {"Ref": "JwtIssuer"},
        "JWT_ROLES_CLAIM": {"Ref": "JwtRolesClaim"},
        "LOGO_BASE_URL": _sub("https://${%s.DomainName}" % LOGOS_CDN),
        # A deployed stage takes real payments or refuses to start (settings).
        "PAYMENT_GATEWAY": "alipay",
        "ALIPAY_GATEWAY_URL": {"Ref": "AlipayGatewayUrl"},
        "ALIPAY_SSM_PARAMETER": {"Fn::If": ["UseAlipaySsm", _sub(ALIPAY_PARAMETER_NAME), ""]},
        "ALIPAY_SECRET_ARN": {"Fn::If": ["UseAlipaySecretsManager", {"Ref": "AlipaySecretArn"},
                                         ""]},
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
            "Type": "CommaDelimitedList",
            "Description": "Origins of the web app (e.g. https://market.example.com), allowed "
                           "to upload to and download from the files bucket; not *"},
        "JwtSecretArn": {
            "Type": "String", "Default": "",
            "Description": "Secrets Manager ARN of the stage's secret (signs HS256 tokens and "
                           "list cursors); empty: read the SSM parameter "
                           "/<stack name>/jwt-secret instead. Needed with a JWKS too"},
        "JwtJwksUrl": {
            "Type": "String", "Default": "",
            "Description": "Verify RS256 tokens against this https JWKS (e.g. a Cognito user "
                           "pool); empty: HS256 with the stage's secret"},
        "JwtAudience": {"Type": "String", "Default": "",
                        "Description": "Expected aud of RS256 tokens (required with JwtJwksUrl)"},
        "JwtIssuer": {"Type": "String", "Default": "",
                      "Description": "Expected iss of RS256 tokens (required with JwtJwksUrl)"},
        "JwtRolesClaim": {"Type": "String", "Default": "roles",
                          "Description": "Claim holding the roles list (cognito:groups for "
                                         "Cognito)"},
        "LogosPriceClass": {
            "Type": "String", "Default": "PriceClass_All",
            "AllowedValues": ["PriceClass_100", "PriceClass_200", "PriceClass_All"],
            "Description": "Where the logos CDN has edges (PriceClass_All includes Asia)"},
        "AlipayGatewayUrl": {
            "Type": "String", "Default": "https://openapi.alipay.com/gateway.do",
            "AllowedPattern": r"^https://.+",
            "Description": "Alipay's open-platform gateway (its sandbox: "
                           "https://openapi-sandbox.dl.alipaydev.com/gateway.do)"},
        "AlipaySecretArn": {
            "Type": "String", "Default": "",
            "Description": "Secrets Manager ARN of the Alipay registration (JSON, see "
                           "docs/deploy.md); empty: read the SSM parameter /<stack name>/alipay"},
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
    # The stage's secret is read in every mode: with a JWKS it still signs list cursors.
    return {
        "UseSecretsManager": {"Fn::Not": [{"Fn::Equals": [{"Ref": "JwtSecretArn"}, ""]}]},
        "UseSsmSecret": {"Fn::Equals": [{"Ref": "JwtSecretArn"}, ""]},
        "UseAlipaySecretsManager": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlipaySecretArn"}, ""]}]},
        "UseAlipaySsm": {"Fn::Equals": [{"Ref": "AlipaySecretArn"}, ""]},
        "SendsMail": {"Fn::Not": [{"Fn::Equals": [{"Ref": "MailFrom"}, ""]}]},
    }


def _rules() -> dict:
    """Parameter checks CloudFormation makes before it creates or changes anything."""
    def given(name):
        return {"Fn::Not": [{"Fn::Equals": [{"Ref": name}, ""]}]}

    return {
        "JwksNeedsIssuerAndAudience": {
            "RuleCondition": given("JwtJwksUrl"),
            "Assertions": [
                {"Assert": given("JwtIssuer"), "AssertDescription": "JwtJwksUrl needs JwtIssuer"},
                {"Assert": given("JwtAudience"),
                 "AssertDescription": "JwtJwksUrl needs JwtAudience"}]},
        "CorsNamesTheWebAppsOrigins": {
            "Assertions": [{
                "Assert": {"Fn::Not": [{"Fn::Contains": [{"Ref": "CorsAllowedOrigins"}, "*"]}]},
                "AssertDescription": "CorsAllowedOrigins names the web app's origins, not *"}]},
    }


def merge_template(models, chalice_app) -> dict:
    """The template merged into chalice's: tables, bucket, log group, wiring, gateway errors."""
    schedules = scheduled_functions(chalice_app)
    resources = {table_logical_id(m): table_resource(m) for m in models}
    resources.update(bucket_resources())
    resources.update(logos_cdn_resources())
    resources[LOG_GROUP] = {
        "Type": "AWS::Logs::LogGroup",
        "DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete",
        "Properties": {"LogGroupName": _sub(LOG_GROUP_NAME),
                       "RetentionInDays": {"Ref": "LogRetentionDays"}},
    }
    resources[API_HANDLER] = {
        "Properties": {**_function_properties(), **hardening.api_function_properties()},
        "Metadata": {"checkov": {"skip": hardening.API_FUNCTION_SKIPS}}}
    for name, _ in schedules:
        fn = cfn_name(name)
        resources[fn] = {"Properties": {
            **_function_properties(), **hardening.scheduled_function_properties(fn),
            "Events": {fn + "Event": {"Properties": {"Schedule": {"Ref": fn + "Schedule"}}}}}}
    by_suffix = {m.TABLE_SUFFIX: m for m in models}
    for name, suffix in stream_functions(chalice_app):
        fn = cfn_name(name)
        resources[fn] = {"Properties": {
            **_function_properties(), **hardening.stream_function_properties(),
            "Events": {stream_event_id(name): {"Properties": stream_event_properties(
                table_logical_id(by_suffix[suffix]), fn)}}},
            "Metadata": {"checkov": {"skip": hardening.STREAM_FUNCTION_SKIPS}}}
    resources.update(hardening.stream_failure_queues(
        [cfn_name(name) for name, _ in stream_functions(chalice_app)]))
    resources.update(_operations_resources(
        models, schedules, {cfn_name(n): n for n, _ in stream_functions(chalice_app)}))
    responses = {}
    for kind, (status, code, message) in _GATEWAY_RESPONSES.items():
        response = {"ResponseTemplates": {
            "application/json": gateway_response_template(code, message)},
            "ResponseParameters": {"Headers": dict(GATEWAY_RESPONSE_CORS_HEADERS)}}
        if status:
            response["StatusCode"] = status
        responses[kind] = response
    resources["RestAPI"] = {"DependsOn": hardening.API_DEPENDS_ON,
                            "Properties": {"GatewayResponses": responses,
                                           **hardening.api_properties()}}
    outputs = {"FilesBucketName": {"Value": {"Ref": FILES_BUCKET}},
               "LogosUrl": {"Value": _sub("https://${%s.DomainName}/%s" % (LOGOS_CDN,
                                                                           LOGOS_PREFIX))},
               "TablePrefix": {"Value": _sub(TABLE_PREFIX)},
               "JwtSecretParameterName": {"Value": _sub(JWT_SECRET_PARAMETER_NAME)},
               "AlipayParameterName": {"Value": _sub(ALIPAY_PARAMETER_NAME)},
               # What to give Alipay and the registration document as notify_url.
               "AlipayNotifyUrl": {"Value": _sub(
                   "https://${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}"
                   "/api/payments/alipay/notify")}}
    outputs["AlarmTopicArn"] = {"Value": {"Ref": monitoring.ALARM_TOPIC}}
    outputs["DashboardUrl"] = {"Value": _sub(
        "https://${AWS::Region}.console.aws.amazon.com/cloudwatch/home?region=${AWS::Region}"
        "#dashboards:name=${%s}" % monitoring.DASHBOARD)}
    return {"Parameters": {**_parameters(schedules), **monitoring.parameters(),
                           **hardening.parameters()},
            "Rules": {**_rules(), **hardening.rules()},
            "Conditions": {**_conditions(), **monitoring.conditions(), **hardening.conditions()},
            "Resources": resources, "Outputs": outputs}


# --- operations: dead letters, logs, alarms, dashboard ------------------------------------
# DynamoDB reports system errors per table and operation; these are the operations behind
# each granted action (transactions report as TransactWriteItems / TransactGetItems).
_OPERATIONS = {"GetItem": ["GetItem", "TransactGetItems"], "PutItem": ["PutItem"],
               "UpdateItem": ["UpdateItem"], "DeleteItem": ["DeleteItem"], "Query": ["Query"],
               "Scan": ["Scan"], "BatchGetItem": ["BatchGetItem"],
               "BatchWriteItem": ["BatchWriteItem"], "ConditionCheckItem": []}
_TRANSACTED = {"PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem"}


def table_operations() -> dict[str, list[str]]:
    """Table suffix -> the DynamoDB operations some function calls on it (TABLE_GRANTS)."""
    out: dict[str, set[str]] = {}
    for grants in TABLE_GRANTS.values():
        for target, actions in grants.items():
            suffix = target.split("/")[0]
            ops = out.setdefault(suffix, set())
            for action in actions:
                ops.update(_OPERATIONS[action])
                if action in _TRANSACTED:
                    ops.add("TransactWriteItems")
    return {suffix: sorted(ops) for suffix, ops in out.items()}


def _operations_resources(models, schedules, consumers: dict[str, str] | None = None) -> dict:
    scheduled = {cfn_name(name): name for name, _ in schedules}
    consumers = consumers or {}
    functions = {API_HANDLER: API_FUNCTION, **scheduled, **consumers}
    resources = hardening.dead_letter_queues(list(scheduled))
    resources.update(hardening.api_logging_resources())
    resources.update(hardening.access_logs_bucket())
    resources.update(monitoring.topic())
    resources.update(monitoring.function_alarms(functions))
    resources.update(monitoring.api_alarms())
    resources.update(monitoring.table_alarms(models, table_operations()))
    resources.update(monitoring.sweep_alarms(
        scheduled, {fn: hardening.dead_letter_queue_id(fn) for fn in scheduled}))
    resources.update(monitoring.work_alarms())
    resources.update(monitoring.stream_alarms(
        consumers, {fn: hardening.dead_letter_queue_id(fn) for fn in consumers}))
    resources.update(monitoring.dashboard(sorted(scheduled.values()), functions))
    return resources


# --- the policies -------------------------------------------------------------
def _grant_statements(function: str, models) -> list[dict]:
    """One statement per table (its item actions) and one for the indexes it queries."""
    by_suffix = {m.TABLE_SUFFIX: m for m in models}
    grants = TABLE_GRANTS.get(function, {})
    unknown = {target.split("/")[0] for target in grants} - set(by_suffix)
    if unknown:
        raise ValueError(f"TABLE_GRANTS names tables no model declares: {sorted(unknown)}")
    statements, index_arns = [], []
    for target in sorted(grants):
        suffix, _, index = target.partition("/")
        logical = table_logical_id(by_suffix[suffix])
        if index:
            if index not in index_names(by_suffix[suffix]):
                raise ValueError(f"TABLE_GRANTS: {suffix} has no index {index}")
            index_arns.append(_sub("${%s.Arn}/index/%s" % (logical, index)))
            continue
        statements.append({"Sid": logical, "Effect": "Allow",
                           "Action": ["dynamodb:" + a for a in sorted(grants[target])],
                           "Resource": [{"Fn::GetAtt": [logical, "Arn"]}]})
    if index_arns:
        statements.append({"Sid": "Indexes", "Effect": "Allow", "Action": ["dynamodb:Query"],
                           "Resource": index_arns})
    return statements


def stream_statement(table_logical: str) -> dict:
    """What Lambda's event source mapping needs of the consumer's role: read that one
    stream (its ARN changes if the stream is ever turned off and on: GetAtt follows)."""
    return {"Sid": "ReadStream", "Effect": "Allow",
            "Action": ["dynamodb:DescribeStream", "dynamodb:GetRecords",
                       "dynamodb:GetShardIterator", "dynamodb:ListStreams"],
            "Resource": [{"Fn::GetAtt": [table_logical, "StreamArn"]}]}


def policy(models, function: str = API_FUNCTION, stream_table: str | None = None) -> dict:
    """The role policy of one deployed function: its tables, for the API the bucket and
    the secret, and for a stream consumer the stream of `stream_table` (a suffix)."""
    statements = _grant_statements(function, models)
    if stream_table:
        by_suffix = {m.TABLE_SUFFIX: m for m in models}
        statements.append(stream_statement(table_logical_id(by_suffix[stream_table])))
    if function == API_FUNCTION:
        statements += [
            # Presigned uploads and downloads act with this role's permissions.
            {"Sid": "FilesObjects", "Effect": "Allow", "Action": S3_OBJECT_ACTIONS,
             "Resource": [_sub("${%s.Arn}/*" % FILES_BUCKET)]},
            {"Sid": "LogoObjects", "Effect": "Allow", "Action": S3_LOGO_ACTIONS,
             "Resource": [_sub("${%s.Arn}/%s*" % (FILES_BUCKET, LOGO_PREFIX))]},
            {"Sid": "UploadTags", "Effect": "Allow", "Action": S3_UPLOAD_ACTIONS,
             "Resource": [_sub("${%s.Arn}/%s*" % (FILES_BUCKET, UPLOAD_PREFIX))]},
        ]
    if function != API_FUNCTION:
        # Lambda sends a run that failed its retries to the function's dead-letter queue
        # with the function's role.
        statements.append({"Sid": "DeadLetters", "Effect": "Allow", "Action": ["sqs:SendMessage"],
                           "Resource": [{"Fn::GetAtt": [
                               hardening.dead_letter_queue_id(cfn_name(function)), "Arn"]}]})
    statements.append(
        {"Sid": "Logs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": [_sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}"
                           ":log-group:%s:*" % LOG_GROUP_NAME)]})
    if function == API_FUNCTION:
        statements += [
            {"Fn::If": ["UseSsmSecret", {
                "Sid": "JwtSecretParameter", "Effect": "Allow", "Action": ["ssm:GetParameter"],
                "Resource": [_sub("arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}"
                                  ":parameter" + JWT_SECRET_PARAMETER_NAME)]},
                {"Ref": "AWS::NoValue"}]},
            {"Fn::If": ["UseSecretsManager", {
                "Sid": "JwtSecret", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
                "Resource": [{"Ref": "JwtSecretArn"}]}, {"Ref": "AWS::NoValue"}]},
        ]
    if function in MAIL_FUNCTIONS:
        statements += [
            # E-mail may only be sent as MailFrom,
            # verified either as that address or as its domain.
            {"Fn::If": ["SendsMail", {
                "Sid": "Mail", "Effect": "Allow", "Action": SES_ACTIONS,
                "Resource": [_sub(SES_IDENTITY + "${MailFrom}"),
                             {"Fn::Sub": [SES_IDENTITY + "${Domain}", {"Domain": {
                                 "Fn::Select": [1, {"Fn::Split": ["@", {"Ref": "MailFrom"}]}]}}]}]},
                {"Ref": "AWS::NoValue"}]},
        ]
    if function in GATEWAY_FUNCTIONS:
        statements += [
            {"Fn::If": ["UseAlipaySsm", {
                "Sid": "AlipayParameter", "Effect": "Allow", "Action": ["ssm:GetParameter"],
                "Resource": [_sub("arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}"
                                  ":parameter" + ALIPAY_PARAMETER_NAME)]},
                {"Ref": "AWS::NoValue"}]},
            {"Fn::If": ["UseAlipaySecretsManager", {
                "Sid": "AlipaySecret", "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue"],
                "Resource": [{"Ref": "AlipaySecretArn"}]}, {"Ref": "AWS::NoValue"}]},
        ]
    return {"Version": "2012-10-17", "Statement": statements}


def policy_path(stage: str, function: str = API_FUNCTION) -> Path:
    """`.chalice/policy-<stage>.json` for the API (the stage's iam_policy_file) and
    `.chalice/policy-<stage>-<function>.json` for each scheduled function (named by its
    lambda_functions entry in .chalice/config.json)."""
    suffix = "" if function == API_FUNCTION else f"-{function}"
    return ROOT / ".chalice" / f"policy-{stage}{suffix}.json"


def functions(chalice_app) -> list[str]:
    """Every deployed function: the API, each scheduled function, each stream consumer."""
    return ([API_FUNCTION] + [name for name, _ in scheduled_functions(chalice_app)]
            + [name for name, _ in stream_functions(chalice_app)])


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
    streams = dict(stream_functions(chalice_app))
    for each in DEPLOYED_STAGES:
        for function in functions(chalice_app):
            files[policy_path(each, function)] = dumps(policy(models, function,
                                                              streams.get(function)))
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
