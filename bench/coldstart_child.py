"""One cold start, in a fresh interpreter: import an app and answer one API Gateway event.

Run by bench/coldstart.py as `python coldstart_child.py <app dir> <resource> <params json>`.
Imports nothing of ours before the clock starts, so the app pays for all of its own.
"""
import time

STARTED = time.perf_counter()

import json  # noqa: E402 - after the environment is set
import sys  # noqa: E402 - after the environment is set


def main() -> None:
    app_dir, resource, params = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    sys.path.insert(0, app_dir)
    import app as module  # importing it is what is being measured

    imported = time.perf_counter()
    path = resource
    for name, value in params.items():
        path = path.replace("{" + name + "}", value)
    event = {
        "requestContext": {"httpMethod": "GET", "resourcePath": resource, "path": path,
                           "identity": {"sourceIp": "127.0.0.1"}, "stage": "api"},
        "headers": {"accept": "application/json"}, "pathParameters": params or None,
        "multiValueQueryStringParameters": None, "stageVariables": {}, "body": None,
        "isBase64Encoded": False,
    }
    answer = module.app(event, None)
    done = time.perf_counter()
    print(json.dumps({"import_s": imported - STARTED, "first_request_s": done - imported,
                      "total_s": done - STARTED, "status": answer.get("statusCode")}))


main()
