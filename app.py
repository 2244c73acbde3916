"""The front door: builds the Chalice app, registers the blueprints and schedules."""
import os

from chalice import Chalice, Rate

from chalicelib import settings
from chalicelib.api import middleware, system
from chalicelib.api import notifications as notifications_api
from chalicelib.api import reviews as reviews_api, users as users_api
from chalicelib.api import money as money_api, orders as orders_api
from chalicelib.api import campaigns as campaigns_api, catalog as catalog_api
from chalicelib.api import providers as providers_api
from chalicelib.jobs import registry

cfg = settings.get()
if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
    settings.assert_safe_to_serve(cfg)  # a deployed function with no real secret must not serve

app = Chalice(app_name="service-market")
middleware.install(app)
app.register_blueprint(system.bp)
app.register_blueprint(providers_api.bp)
app.register_blueprint(catalog_api.bp)
app.register_blueprint(campaigns_api.bp)
app.register_blueprint(notifications_api.bp)
app.register_blueprint(reviews_api.bp)
app.register_blueprint(users_api.bp)
app.register_blueprint(orders_api.bp)
app.register_blueprint(money_api.bp)

if cfg.is_local:
    from chalicelib.local import routes as local_routes

    app.register_blueprint(local_routes.bp)
