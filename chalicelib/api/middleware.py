"""HTTP middleware: every answer leaves in the contract's error shape, whatever produced
it (our views, or Chalice itself for bad media types, wrong methods and crashes)."""
from chalicelib.api import errors


def install(app) -> None:
    @app.middleware("http")
    def error_shape(event, get_response):
        return errors.normalise(get_response(event))
