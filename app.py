"""Dongne's Lambda entry point: the Chalice app and its blueprints. No routes or logic here."""

from chalice import Chalice

from chalicelib.api.accounts import accounts_blueprint
from chalicelib.api.addresses import addresses_blueprint
from chalicelib.api.automations import automations_blueprint
from chalicelib.api.insights import insights_blueprint
from chalicelib.api.broadcasts import broadcasts_blueprint
from chalicelib.api.consents import consents_blueprint
from chalicelib.api.conversations import conversations_blueprint
from chalicelib.api.coupons import coupons_blueprint
from chalicelib.api.feed import feed_blueprint
from chalicelib.api.follows import follows_blueprint
from chalicelib.api.orders import orders_blueprint
from chalicelib.api.payment_methods import payment_methods_blueprint
from chalicelib.api.payments import payments_blueprint
from chalicelib.api.posts import posts_blueprint
from chalicelib.api.products import products_blueprint
from chalicelib.api.protocol import method_routes_blueprint
from chalicelib.api.service import service_blueprint
from chalicelib.api.sessions import sessions_blueprint
from chalicelib.api.shops import shops_blueprint
from chalicelib.api.store_links import store_links_blueprint
from chalicelib.api.subscriptions import subscriptions_blueprint
from chalicelib.api.uploads import uploads_blueprint
from chalicelib.events.schedules import schedules_blueprint
from chalicelib.events.stream import stream_blueprint
from chalicelib.events.outbound import outbound_blueprint
from chalicelib.api.relationships import relationships_blueprint
from chalicelib.api.notifications import notifications_blueprint
from chalicelib.api.pages import pages_blueprint
from chalicelib.observability import observe
from chalicelib.api.discovery import discovery_blueprint
from chalicelib.api.export import export_blueprint
from chalicelib.api.recovery import recovery_blueprint

app = Chalice(app_name="dongne")
observe(app)  # logs, metrics and traces for every handler (Powertools, loaded on first use)

app.register_blueprint(service_blueprint)
app.register_blueprint(accounts_blueprint)
app.register_blueprint(sessions_blueprint)
app.register_blueprint(addresses_blueprint)
app.register_blueprint(shops_blueprint)
app.register_blueprint(follows_blueprint)
app.register_blueprint(posts_blueprint)
app.register_blueprint(feed_blueprint)
app.register_blueprint(uploads_blueprint)
app.register_blueprint(products_blueprint)
app.register_blueprint(orders_blueprint)
app.register_blueprint(payments_blueprint)
app.register_blueprint(payment_methods_blueprint)
app.register_blueprint(consents_blueprint)
app.register_blueprint(stream_blueprint)
app.register_blueprint(outbound_blueprint)
app.register_blueprint(relationships_blueprint)
app.register_blueprint(store_links_blueprint)
app.register_blueprint(schedules_blueprint)
app.register_blueprint(notifications_blueprint)
app.register_blueprint(subscriptions_blueprint)
app.register_blueprint(conversations_blueprint)
app.register_blueprint(coupons_blueprint)
app.register_blueprint(broadcasts_blueprint)
app.register_blueprint(automations_blueprint)
app.register_blueprint(insights_blueprint)
app.register_blueprint(pages_blueprint)
app.register_blueprint(discovery_blueprint)
app.register_blueprint(export_blueprint)
app.register_blueprint(recovery_blueprint)
# Last: it adds the 405 and OPTIONS routes of every path the blueprints above declared.
app.register_blueprint(method_routes_blueprint)
