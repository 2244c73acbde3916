"""What protects the data and keeps the stack operable beyond the app's own resources:
dead-letter queues for the scheduled functions, concurrency limits, the API stage's
throttling, access logs and tracing, and a bucket for access logs (the files bucket's and
the logos CDN's). Merged by deploy/template.py; checked by checkov (deploy/checkov.yaml
lists what is skipped, and why).
"""

ACCESS_LOGS_BUCKET = "AccessLogsBucket"
API_ACCESS_LOG_GROUP = "ApiAccessLogGroup"
API_LOGS_ROLE = "ApiGatewayCloudWatchRole"
API_ACCOUNT = "ApiGatewayAccount"
# API Gateway's own access line: one JSON object per request, joinable with the app's
# request line on request_id. The caller's IP is kept (abuse, rate questions) for the
# log group's retention only.
ACCESS_LOG_FORMAT = (
    '{"request_id":"$context.requestId","ip":"$context.identity.sourceIp",'
    '"time":"$context.requestTime","method":"$context.httpMethod",'
    '"route":"$context.resourcePath","status":"$context.status",'
    '"protocol":"$context.protocol","bytes":"$context.responseLength",'
    '"latency_ms":"$context.responseLatency",'
    '"integration_latency_ms":"$context.integrationLatency",'
    '"error":"$context.error.responseType"}')
LOGS_PREFIXES = {"files": "s3/files/", "logos": "cloudfront/logos/"}


def _sub(text: str) -> dict:
    return {"Fn::Sub": text}


def dead_letter_queue_id(function_id: str) -> str:
    return function_id + "DeadLetters"


def dead_letter_queues(function_ids: list[str]) -> dict:
    """An SQS queue per scheduled function: an invocation that failed Lambda's two
    retries lands there (with its error) instead of vanishing."""
    return {dead_letter_queue_id(fn): {
        "Type": "AWS::SQS::Queue",
        "Properties": {"MessageRetentionPeriod": 1209600,  # 14 days, SQS's longest
                       "SqsManagedSseEnabled": True},
        "Metadata": {"checkov": {"skip": DEAD_LETTER_SKIPS}}} for fn in function_ids}


def scheduled_function_properties(function_id: str) -> dict:
    return {"DeadLetterQueue": {"Type": "SQS",
                                "TargetArn": {"Fn::GetAtt": [dead_letter_queue_id(function_id),
                                                             "Arn"]}},
            "ReservedConcurrentExecutions": {"Fn::If": [
                "LimitsConcurrency", {"Ref": "SweepConcurrencyLimit"}, {"Ref": "AWS::NoValue"}]}}


def stream_failure_queues(function_ids: list[str]) -> dict:
    """An SQS queue per stream consumer: where a batch that failed every retry is
    recorded (the event source mapping's on-failure destination)."""
    return dead_letter_queues(function_ids)


def stream_function_properties() -> dict:
    return {"ReservedConcurrentExecutions": {"Fn::If": [
        "LimitsConcurrency", {"Ref": "StreamConcurrencyLimit"}, {"Ref": "AWS::NoValue"}]}}


def api_function_properties() -> dict:
    return {"ReservedConcurrentExecutions": {"Fn::If": [
        "LimitsConcurrency", {"Ref": "ApiConcurrencyLimit"}, {"Ref": "AWS::NoValue"}]}}


# checkov's per-resource skips (resource Metadata), each with its reason; the skips of
# whole checks are in deploy/checkov.yaml.
API_FUNCTION_SKIPS = [{
    "id": "CKV_AWS_116",
    "comment": "invoked synchronously by API Gateway: a failure answers the caller, and a "
               "dead-letter queue only ever receives asynchronous invocations"}]
STREAM_FUNCTION_SKIPS = [{
    "id": "CKV_AWS_116",
    "comment": "invoked by its DynamoDB stream's event source mapping, which records a batch "
               "that failed its retries in the function's queue (DestinationConfig "
               "OnFailure); a function dead-letter queue only receives asynchronous calls"}]
DEAD_LETTER_SKIPS = [{
    "id": "CKV_AWS_27",
    "comment": "encrypted at rest with SQS-managed keys (SqsManagedSseEnabled), which "
               "checkov 3.3.30 does not recognise; it looks only for KmsMasterKeyId"}]
LOGOS_CDN_SKIPS = [{
    "id": "CKV_AWS_174",
    "comment": "TLSv1.2_2021 is set when LogosDomainName/LogosCertificateArn are given; "
               "on the default *.cloudfront.net certificate CloudFront fixes the policy at "
               "TLSv1 and no template can change it. Logos are public images"}]


# The stage can log only once the account's CloudWatch role is set.
API_DEPENDS_ON = [API_ACCOUNT]


def api_properties() -> dict:
    """The REST API stage: named after the stack (its metrics' ApiName), throttled,
    access-logged, traced."""
    return {
        "Name": {"Ref": "AWS::StackName"},
        "TracingEnabled": True,
        "AccessLogSetting": {"DestinationArn": {"Fn::GetAtt": [API_ACCESS_LOG_GROUP, "Arn"]},
                             "Format": ACCESS_LOG_FORMAT},
        # Every method of the stage: a client over the limit gets the contract's
        # 429 THROTTLED (a gateway response) before the function runs.
        "MethodSettings": [{"ResourcePath": "/*", "HttpMethod": "*",
                            "ThrottlingRateLimit": {"Ref": "ApiThrottlingRateLimit"},
                            "ThrottlingBurstLimit": {"Ref": "ApiThrottlingBurstLimit"}}],
    }


def api_logging_resources() -> dict:
    """The access log group, and API Gateway's account-wide role to write to CloudWatch
    Logs, without which the stage refuses access logging. The setting is one per account
    and region: whichever stack set it last wins, and any such role serves every API, so
    the role is retained when the stack goes (another stack's API may rely on it)."""
    return {
        API_ACCESS_LOG_GROUP: {
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete",
            "Properties": {"LogGroupName": _sub("/aws/apigateway/${AWS::StackName}-access"),
                           "RetentionInDays": {"Ref": "LogRetentionDays"}}},
        API_LOGS_ROLE: {
            "Type": "AWS::IAM::Role",
            "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
            "Properties": {
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"},
                    "Action": "sts:AssumeRole"}]},
                "ManagedPolicyArns": [_sub("arn:${AWS::Partition}:iam::aws:policy/service-role/"
                                           "AmazonAPIGatewayPushToCloudWatchLogs")]}},
        API_ACCOUNT: {
            "Type": "AWS::ApiGateway::Account",
            "Properties": {"CloudWatchRoleArn": {"Fn::GetAtt": [API_LOGS_ROLE, "Arn"]}}},
    }


def access_logs_bucket() -> dict:
    """Where S3 (the files bucket) and CloudFront (the logos CDN) write access logs.
    CloudFront's standard logs need the bucket's ACLs, hence BucketOwnerPreferred."""
    return {
        ACCESS_LOGS_BUCKET: {
            "Type": "AWS::S3::Bucket",
            "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
            "Metadata": {"checkov": {"skip": [{
                "id": "CKV_AWS_18",
                "comment": "the access-log bucket itself: logging it into itself would "
                           "loop, and into another bucket would need a third"}]}},
            "Properties": {
                "BucketEncryption": {"ServerSideEncryptionConfiguration": [{
                    "ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True, "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]},
                "VersioningConfiguration": {"Status": "Enabled"},
                "LifecycleConfiguration": {"Rules": [{
                    "Id": "expire-access-logs", "Status": "Enabled",
                    "ExpirationInDays": {"Ref": "AccessLogRetentionDays"},
                    "NoncurrentVersionExpiration": {"NoncurrentDays": 1}}]}}},
        ACCESS_LOGS_BUCKET + "Policy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": ACCESS_LOGS_BUCKET},
                "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Sid": "DenyPlainHttp", "Effect": "Deny", "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [{"Fn::GetAtt": [ACCESS_LOGS_BUCKET, "Arn"]},
                                 _sub("${%s.Arn}/*" % ACCESS_LOGS_BUCKET)],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}}}, {
                    "Sid": "S3ServerAccessLogs", "Effect": "Allow",
                    "Principal": {"Service": "logging.s3.amazonaws.com"},
                    "Action": "s3:PutObject",
                    "Resource": _sub("${%s.Arn}/%s*" % (ACCESS_LOGS_BUCKET,
                                                        LOGS_PREFIXES["files"])),
                    "Condition": {"StringEquals": {"aws:SourceAccount": {
                        "Ref": "AWS::AccountId"}}}}]}}},
    }


def parameters() -> dict:
    return {
        "ApiThrottlingRateLimit": {
            "Type": "Number", "Default": 100, "MinValue": 1,
            "Description": "Requests per second the API stage takes (steady); more get "
                           "429 THROTTLED"},
        "ApiThrottlingBurstLimit": {
            "Type": "Number", "Default": 200, "MinValue": 1,
            "Description": "Requests the API stage takes at once above the steady rate"},
        "ApiConcurrencyLimit": {
            "Type": "Number", "Default": 100, "MinValue": 1,
            "Description": "Reserved concurrency of the API function (a ceiling on what a "
                           "flood costs and on DynamoDB load)"},
        "SweepConcurrencyLimit": {
            "Type": "Number", "Default": 2, "MinValue": 1,
            "Description": "Reserved concurrency of each scheduled function (runs overlap "
                           "safely; more would only compete for the same items)"},
        "StreamConcurrencyLimit": {
            "Type": "Number", "Default": 10, "MinValue": 1,
            "Description": "Reserved concurrency of each stream consumer (one run per shard "
                           "of its table's stream at a time; below the shard count it lags)"},
        "ReserveConcurrency": {
            "Type": "String", "Default": "true", "AllowedValues": ["true", "false"],
            "Description": "false on accounts whose concurrency quota is below about 200 "
                           "(new accounts): Lambda keeps 100 unreserved"},
        "AccessLogRetentionDays": {
            "Type": "Number", "Default": 90, "MinValue": 1,
            "Description": "Days the files bucket's and the logos CDN's access logs are kept"},
        "LogosDomainName": {
            "Type": "String", "Default": "",
            "Description": "A domain of yours for the logos CDN (e.g. logos.market.example); "
                           "with LogosCertificateArn it serves TLS 1.2+ only"},
        "LogosCertificateArn": {
            "Type": "String", "Default": "",
            "AllowedPattern": r"^(arn:aws[a-zA-Z-]*:acm:us-east-1:\d{12}:certificate/.+)?$",
            "Description": "ACM certificate (in us-east-1) for LogosDomainName"},
    }


def conditions() -> dict:
    return {
        "LimitsConcurrency": {"Fn::Equals": [{"Ref": "ReserveConcurrency"}, "true"]},
        # On the certificate, not the name: a linter then knows the ARN is not empty where
        # it is used. The rule below keeps the two given together.
        "HasLogosDomain": {"Fn::Not": [{"Fn::Equals": [{"Ref": "LogosCertificateArn"}, ""]}]},
    }


def rules() -> dict:
    def given(name):
        return {"Fn::Not": [{"Fn::Equals": [{"Ref": name}, ""]}]}

    return {
        "LogosDomainNeedsCertificate": {
            "RuleCondition": given("LogosDomainName"),
            "Assertions": [{"Assert": given("LogosCertificateArn"),
                            "AssertDescription": "LogosDomainName needs LogosCertificateArn"}]},
        "LogosCertificateNeedsDomain": {
            "RuleCondition": given("LogosCertificateArn"),
            "Assertions": [{"Assert": given("LogosDomainName"),
                            "AssertDescription": "LogosCertificateArn needs LogosDomainName"}]},
    }


def logos_cdn_settings() -> dict:
    """The CDN's access logs, and TLS 1.2+ on a domain of yours. The default
    *.cloudfront.net certificate cannot have a minimum: CloudFront fixes it at TLSv1."""
    return {
        "Logging": {"Bucket": {"Fn::GetAtt": [ACCESS_LOGS_BUCKET, "RegionalDomainName"]},
                    "Prefix": LOGS_PREFIXES["logos"], "IncludeCookies": False},
        "Aliases": {"Fn::If": ["HasLogosDomain", [{"Ref": "LogosDomainName"}],
                               {"Ref": "AWS::NoValue"}]},
        "ViewerCertificate": {"Fn::If": [
            "HasLogosDomain",
            {"AcmCertificateArn": {"Ref": "LogosCertificateArn"},
             "SslSupportMethod": "sni-only", "MinimumProtocolVersion": "TLSv1.2_2021"},
            {"CloudFrontDefaultCertificate": True}]},
    }


def files_bucket_logging() -> dict:
    return {"DestinationBucketName": {"Ref": ACCESS_LOGS_BUCKET},
            "LogFilePrefix": LOGS_PREFIXES["files"]}
