"""Health, OpenAPI, the error shape for everything, and Idempotency-Key semantics."""


def test_health_answers_ok(api):
    reply = api.get("/health")
    assert reply.status == 200
    assert reply.json["status"] == "ok" and reply.json["clock_moved"] is False


def test_health_tells_the_app_clock_and_the_local_clock_resets(api):
    before = api.get("/health").json["now"]
    moved = api.post("/_local/clock", {"advance_seconds": 14 * 86400}).json["now"]
    health = api.get("/health").json
    assert health["clock_moved"] is True and health["now"] >= moved > before
    back = api.post("/_local/clock", {"reset": True}).json["now"]
    assert back < moved and api.get("/health").json["clock_moved"] is False


def test_openapi_lists_every_route_with_schemas(api, chalice_app):
    doc = api.get("/openapi.json").json
    assert doc["openapi"].startswith("3.")
    # A CORS preflight (OPTIONS) is the browser's protocol, not an operation to document.
    served = {(path, method.lower()) for path, entry in chalice_app.routes.items()
              for method in entry if method != "OPTIONS"}
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert served == documented
    token = doc["paths"]["/_local/token"]["post"]
    assert token["requestBody"]["content"]["application/json"]["schema"]["required"] == ["sub"]


def test_bad_json_is_an_error_in_the_contract_shape(api):
    reply = api.call("POST", "/_local/token", raw=b"{not json")
    assert reply.status == 400
    assert reply.error_code == "INVALID_REQUEST"
    assert set(reply.json["error"]) == {"code", "message", "details"}


def test_deeply_nested_json_is_refused_cleanly(api):
    reply = api.call("POST", "/_local/token", raw=b"[" * 100000 + b"]" * 100000)
    assert reply.status in (400, 413)
    assert reply.json["error"]["code"] in ("INVALID_REQUEST", "PAYLOAD_TOO_LARGE")


def test_json_nested_just_below_the_parser_limit_is_400_not_500(api):
    # json.loads stops at the interpreter's recursion limit; bodies a little shallower
    # used to parse and then blow the stack further in (a 500).
    import sys

    limit = sys.getrecursionlimit()
    for depth in range(limit // 2, limit + 5):
        for raw in (b"[" * depth + b"]" * depth, b'{"a":' * depth + b"1" + b"}" * depth,
                    b'{"sub": ' + b"[" * depth + b"]" * depth + b"}"):
            reply = api.call("POST", "/_local/token", raw=raw)
            assert (reply.status, reply.error_code) == (400, "INVALID_REQUEST"), (depth, reply)


def test_validation_lists_every_problem(api):
    reply = api.post("/_local/token", {"sub": "", "roles": ["king"], "extra": 1})
    assert reply.status == 422
    assert reply.error_code == "VALIDATION_FAILED"
    fields = {e["field"] for e in reply.json["error"]["details"]["errors"]}
    assert fields == {"sub", "roles[0]", "extra"}


def test_wrong_method_and_media_type_use_the_error_shape(api):
    wrong_method = api.call("DELETE", "/health")
    assert wrong_method.status == 405 and wrong_method.error_code == "METHOD_NOT_ALLOWED"
    wrong_type = api.call("POST", "/_local/token", raw=b"sub=x", content_type="text/plain")
    assert wrong_type.status == 415 and wrong_type.error_code == "UNSUPPORTED_MEDIA_TYPE"


def test_idempotent_replay_returns_the_first_answer(api):
    first = api.post("/_local/clock", {"advance_seconds": 60}, headers={"Idempotency-Key": "k-1"})
    again = api.post("/_local/clock", {"advance_seconds": 60}, headers={"Idempotency-Key": "k-1"})
    assert first.status == again.status == 200
    assert again.json == first.json
    assert again.headers.get("idempotent-replayed") == "true"
    assert "idempotent-replayed" not in first.headers


def test_idempotency_key_reused_with_another_body_is_refused(api):
    api.post("/_local/clock", {"advance_seconds": 1}, headers={"Idempotency-Key": "k-2"})
    reply = api.post("/_local/clock", {"advance_seconds": 2}, headers={"Idempotency-Key": "k-2"})
    assert reply.status == 422
    assert reply.error_code == "IDEMPOTENCY_KEY_REUSED"


def test_idempotency_keys_are_per_caller(api):
    a = api.post("/_local/clock", {"advance_seconds": 5}, user="alice",
                 headers={"Idempotency-Key": "same"})
    b = api.post("/_local/clock", {"advance_seconds": 5}, user="bob",
                 headers={"Idempotency-Key": "same"})
    assert "idempotent-replayed" not in b.headers
    assert a.json != b.json  # bob's request really ran and moved the clock again


def test_overlong_idempotency_key_is_refused(api):
    reply = api.post("/_local/clock", {}, headers={"Idempotency-Key": "x" * 256})
    assert reply.status == 400


def test_openapi_document_is_valid_openapi_3(api):
    from openapi_spec_validator import validate

    validate(api.get("/openapi.json").json)


def test_every_answer_has_a_named_schema_with_its_properties(api):
    doc = api.get("/openapi.json").json
    schemas = doc["components"]["schemas"]
    assert {"Service", "ServiceCard", "Provider", "Order", "Event", "Review", "Notification",
            "Balance", "ServiceCardPage", "OrderPage", "EventPage"} <= set(schemas)
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            for status, answer in op["responses"].items():
                if not status.startswith("2") or status == "204":
                    continue
                if "application/json" not in answer["content"]:
                    continue  # a gateway's own answer (Alipay's plain-text "success")
                schema = answer["content"]["application/json"]["schema"]
                assert "$ref" in schema, f"{method.upper()} {path} answers an unnamed schema"
                named = schemas[schema["$ref"].rsplit("/", 1)[1]]
                assert named.get("properties") or named.get("description"), (method, path)


def test_a_required_body_is_marked_required(api):
    paths = api.get("/openapi.json").json["paths"]
    assert paths["/orders"]["post"]["requestBody"]["required"] is True
    assert paths["/orders/{order_id}/pay"]["post"]["requestBody"]["required"] is False
