"""Serve a Chalice project on loopback the way the local stack serves the app:
`python -m bench.serve <project dir> <stage> <port>`. Used for the floor app (and for
the app itself if the dev server cannot start), so both answer through the same server
code. The environment (DYNAMODB_ENDPOINT, TABLE_PREFIX …) comes from the caller."""
import sys
from pathlib import Path


def build(project: Path, stage: str, port: int):
    try:
        from chalicelib.local import http_gateway as gateway
    except ImportError:  # the dev server's gateway is not there: Chalice's own server
        gateway = None
    if gateway is not None:
        app, config = gateway.load_app(project, stage=stage)
        return gateway.build_server(app, config, "127.0.0.1", port)
    import os

    from chalice.cli.factory import CLIFactory
    from chalice.local import create_local_server

    factory = CLIFactory(str(project), environ=os.environ)
    config = factory.create_config_obj(chalice_stage_name=stage)
    return create_local_server(config.chalice_app, config, "127.0.0.1", port)


def main() -> None:
    project, stage, port = Path(sys.argv[1]).resolve(), sys.argv[2], int(sys.argv[3])
    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root))
    server = build(project, stage, port)
    server.server.serve_forever()


if __name__ == "__main__":
    main()
