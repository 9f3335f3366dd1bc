"""Accounts: /auth/signup, /auth/login, /auth/logout, /me (read, edit, close), /me/password."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint

from chalicelib.api.edge import Ctx, Router
from chalicelib.api.spec import lazy_models
from chalicelib.errors import AccountClosed, EmailTaken, InvalidCredentials, PhoneTaken, ShopHasOpenOrders, WrongPassword

if TYPE_CHECKING:
    from chalicelib.records.accounts import User
    from chalicelib.services.sessions import SignedIn
    from chalicelib.schemas.accounts import AuthOut, LoginIn, MeUpdate, PasswordChange, SignupIn, UserPublic
else:  # pydantic models, imported on the first request that needs them
    (AuthOut, LoginIn, MeUpdate, PasswordChange, SignupIn, UserPublic) = lazy_models(
        "chalicelib.schemas.accounts", "AuthOut", "LoginIn", "MeUpdate", "PasswordChange", "SignupIn", "UserPublic")

accounts_blueprint = Blueprint(__name__)
route = Router(accounts_blueprint, "accounts")


@route.route("POST", "/auth/signup", auth=False, status=201, body=SignupIn, response=AuthOut, errors=(EmailTaken, PhoneTaken),
             limit="signup", summary="Create an account (name, e-mail or phone, password); returns a token")
def sign_up(ctx: Ctx, body: SignupIn) -> AuthOut:
    from chalicelib.services import accounts

    deps = ctx.deps
    session = accounts.signup(deps.accounts, deps.passwords, deps.tokens, name=body.name, email=body.email,
                              phone=body.phone, password=body.password, now=ctx.now)
    bind_visitor(ctx, body.visitor_id, session.user.user_id)
    return AuthOut.model_validate(begin_login(ctx, session.user))


@route.route("POST", "/auth/login", auth=False, body=LoginIn, response=AuthOut, errors=(InvalidCredentials,),
             limit="login", summary="Log in with e-mail or phone and password; returns a token",
             description="Repeated failures lock the account's e-mail or phone for a growing time (429 with "
                         "Retry-After); a success resets it.")
def log_in(ctx: Ctx, body: LoginIn) -> AuthOut:
    from chalicelib.services import accounts

    kind, value = ("email", body.email) if body.email else ("phone", body.phone)
    deps = ctx.deps
    session = accounts.login(deps.accounts, deps.passwords, deps.tokens, deps.login_locks, kind=kind,
                             value=value, password=body.password, now=ctx.now)
    bind_visitor(ctx, body.visitor_id, session.user.user_id)
    return AuthOut.model_validate(begin_login(ctx, session.user))


def begin_login(ctx: Ctx, user: User) -> SignedIn:
    """A login (session) for the account: an hour's access token and a rotating refresh token."""
    from chalicelib.services import sessions

    d = ctx.deps
    return sessions.begin(d.sessions, d.tokens, d.refresh_tokens, user, ctx.now)


def bind_visitor(ctx: Ctx, given: str | None, user_id: str) -> None:
    """Bind an anonymous store-link visit (the body's ``visitor_id``, else the page's cookie) to
    the account that just signed up or logged in. Silent: the answer never tells whether it did."""
    from chalicelib.api.pages import visitor_from_cookie
    from chalicelib.services import store_links

    visitor_id = store_links.valid_visitor_id(given, ctx.deps.visitor_secret) if given else \
        visitor_from_cookie(ctx)
    if visitor_id is not None:
        store_links.bind_visitor(ctx.deps.store_links, visitor_id, user_id, ctx.now)


@route.route("POST", "/auth/logout", status=204,
             summary="Log out: this login ends, its refresh token too (other logins keep theirs)")
def log_out(ctx: Ctx) -> None:
    from chalicelib.services import sessions

    d = ctx.deps
    sessions.end(d.sessions, d.accounts, d.tokens, ctx.account, ctx.claims, ctx.now)


@route.route("GET", "/me", response=UserPublic, errors=(AccountClosed,), etag=True, summary="The logged-in user")
def get_me(ctx: Ctx) -> UserPublic:
    return UserPublic.model_validate(ctx.account)  # as the token check read it: no second read


@route.route("PUT", "/me/password", status=204, body=PasswordChange, errors=(WrongPassword,),
             summary="Change the password; every token issued before (this one too) stops working",
             description="A wrong current password is a 403 `wrong_password`; repeated wrong ones lock like "
                         "logins (429).")
def change_password(ctx: Ctx, body: PasswordChange) -> None:
    from chalicelib.services import accounts

    d = ctx.deps
    accounts.change_password(d.accounts, d.passwords, d.login_locks, ctx.account, current=body.current_password,
                             new=body.new_password, now=ctx.now)


@route.route("DELETE", "/me", status=204, errors=(ShopHasOpenOrders,),
             summary="Close the account: profile and logins erased, every token dead",
             description="Orders stay in the shops' books, shown as bought by a closed account; follows, "
                         "relationship pairs and the owners' notes go (within seconds, off the request). "
                         "An owner whose shop has open orders gets a 409 `shop_has_open_orders`.")
def delete_account(ctx: Ctx) -> None:
    from chalicelib.services import accounts

    from chalicelib.services import notification_delivery

    d = ctx.deps

    def forget_devices(user_id: str) -> None:  # records and push endpoints (the API role's SNS grant)
        for device in d.notifications.devices(user_id):
            notification_delivery.remove_device(d.notifications, d.sns, user_id, device.device_id)

    accounts.close_account(d.accounts, d.orders, ctx.account, forget_devices, now=ctx.now)


@route.route("PATCH", "/me", body=MeUpdate, response=UserPublic, errors=(AccountClosed, EmailTaken, PhoneTaken),
             etag=True, current=get_me,
             summary="Edit the logged-in user's name, e-mail or phone (only the fields sent change)")
def update_me(ctx: Ctx, body: MeUpdate) -> UserPublic:
    from chalicelib.services import accounts

    user = accounts.update_profile(ctx.deps.accounts, ctx.user, name=body.name, email=body.email,
                                   phone=body.phone, now=ctx.now, current=ctx.account)
    return UserPublic.model_validate(user)
