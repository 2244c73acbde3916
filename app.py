"""The front door: builds the Chalice app, registers the blueprints and schedules."""
import gc
import os

# Cold start: importing builds a few hundred thousand objects that live as long as the
# function (botocore's models, our modules and tables). Collecting while they are made
# frees nothing, and once they exist every collection walks them again: the first
# request's JSON parsing of botocore's endpoints took twice the floor app's time. So no
# collection during the import, and what it built is frozen out of the collector's
# sight at the end (gc.freeze); `make bench` measures it.
gc.disable()

from chalice import Chalice, Rate

from chalicelib import lazy, settings
from chalicelib.api import admin_jobs, admin_orders, cors, middleware, system
from chalicelib.api import analytics as analytics_api
from chalicelib.api import answer_files as answer_files_api
from chalicelib.api import campaigns as campaigns_api
from chalicelib.api import catalog as catalog_api
from chalicelib.api import channels as channels_api
from chalicelib.api import inquiries as inquiries_api
from chalicelib.api import contracts as contracts_api
from chalicelib.api import disputes as disputes_api
from chalicelib.api import messages as messages_api
from chalicelib.api import money as money_api
from chalicelib.api import notifications as notifications_api
from chalicelib.api import orders as orders_api
from chalicelib.api import payments as payments_api
from chalicelib.api import payouts as payouts_api
from chalicelib.api import proposals as proposals_api
from chalicelib.api import provider_documents as provider_documents_api
from chalicelib.api import providers as providers_api
from chalicelib.api import reviews as reviews_api
from chalicelib.api import service_images as service_images_api
from chalicelib.api import users as users_api

# The jobs' modules load when a schedule or the stream first calls them (chalicelib/lazy.py).
deliver_notifications_job = lazy.module("chalicelib.jobs.deliver_notifications")
index_market_job = lazy.module("chalicelib.jobs.index_market")
release_escrow_job = lazy.module("chalicelib.jobs.release_escrow")
settle_payments_job = lazy.module("chalicelib.jobs.settle_payments")
sweep_contracts_job = lazy.module("chalicelib.jobs.sweep_contracts")
sweep_timeouts_job = lazy.module("chalicelib.jobs.sweep_timeouts")

cfg = settings.get()
if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
    # A deployed function with no real secret, or in a local stage, must not serve.
    settings.assert_safe_to_serve(cfg, in_lambda=True)

app = Chalice(app_name="service-market")
# API Gateway passes a body through as bytes only for listed media types; Chalice's
# defaults have png and jpeg but not bmp, which logo uploads accept.
app.api.binary_types.append("image/bmp")
# CORS first: it wraps everything after it, so even a rewritten error leaves with its headers.
cors.install(app)
middleware.install(app)
app.register_blueprint(system.bp)
app.register_blueprint(providers_api.bp)
app.register_blueprint(catalog_api.bp)
app.register_blueprint(campaigns_api.bp)
app.register_blueprint(notifications_api.bp)
app.register_blueprint(channels_api.bp)
app.register_blueprint(reviews_api.bp)
app.register_blueprint(users_api.bp)
app.register_blueprint(orders_api.bp)
app.register_blueprint(disputes_api.bp)
app.register_blueprint(answer_files_api.bp)
app.register_blueprint(proposals_api.bp)
app.register_blueprint(messages_api.bp)
app.register_blueprint(inquiries_api.bp)
app.register_blueprint(service_images_api.bp)
app.register_blueprint(provider_documents_api.bp)
app.register_blueprint(money_api.bp)
app.register_blueprint(payouts_api.bp)
app.register_blueprint(payments_api.bp)
app.register_blueprint(admin_jobs.bp)
app.register_blueprint(admin_orders.bp)
app.register_blueprint(contracts_api.bp)
app.register_blueprint(analytics_api.bp)

# Read at import: the schedule is part of the deployed template.
SWEEP_RATE_MINUTES = int(os.environ.get("SWEEP_RATE_MINUTES") or 1)


@app.schedule(Rate(SWEEP_RATE_MINUTES, unit=Rate.MINUTES), name="sweep_timeouts")
def sweep_timeouts(event):
    return sweep_timeouts_job.run()


@app.schedule(Rate(SWEEP_RATE_MINUTES, unit=Rate.MINUTES), name="release_escrow")
def release_escrow(event):
    return release_escrow_job.run()


@app.schedule(Rate(SWEEP_RATE_MINUTES, unit=Rate.MINUTES), name="settle_payments")
def settle_payments(event):
    return settle_payments_job.run()


# Webhooks and e-mail leave from here, never from a request: a slow receiver only slows
# this function.
@app.schedule(Rate(SWEEP_RATE_MINUTES, unit=Rate.MINUTES), name="deliver_notifications")
def deliver_notifications(event):
    return deliver_notifications_job.run()


@app.schedule(Rate(SWEEP_RATE_MINUTES, unit=Rate.MINUTES), name="sweep_contracts")
def sweep_contracts(event):
    return sweep_contracts_job.run()


# The market's search entries follow the services from the services table's stream. The
# packaged template wires the table's real stream ARN in (deploy/template.py); this
# placeholder only names the function's event source for `chalice package`. The name is
# index_market_job.NAME, written out so that the job's module loads on the first batch.
SERVICES_STREAM_ARN = os.environ.get("SERVICES_STREAM_ARN") or (
    "arn:aws:dynamodb:us-east-1:000000000000:table/services/stream/set-by-the-merge-template")


@app.on_dynamodb_record(stream_arn=SERVICES_STREAM_ARN, batch_size=100,
                        starting_position="TRIM_HORIZON", name="index_market")
def index_market(event):
    return index_market_job.run(event)


if cfg.serves_local_routes:
    from chalicelib.local import routes as local_routes

    app.register_blueprint(local_routes.bp)

# Last: a preflight route for every path registered above, whoever added it.
cors.add_preflight_routes(app)

# Everything above lives as long as the function: out of the collector's sight.
gc.freeze()
gc.enable()
