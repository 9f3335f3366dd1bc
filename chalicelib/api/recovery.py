"""Getting back in and proving an address: /auth/password-reset(/confirm), /me/verify(/confirm)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint

from chalicelib.api.edge import Ctx, Router
from chalicelib.api.spec import lazy_models
from chalicelib.errors import (
    AlreadyVerified,
    CodeExpired,
    CodeInvalid,
    CodeLocked,
    NothingToVerify,
)

if TYPE_CHECKING:
    from chalicelib.schemas.recovery import (
        CodeSentOut,
        ResetConfirmIn,
        ResetIn,
        VerifyConfirmIn,
        VerifyIn,
    )
else:  # pydantic models, imported on the first request that needs them
    (CodeSentOut, ResetConfirmIn, ResetIn, VerifyConfirmIn, VerifyIn) = lazy_models(
        "chalicelib.schemas.recovery", "CodeSentOut", "ResetConfirmIn", "ResetIn", "VerifyConfirmIn", "VerifyIn")

recovery_blueprint = Blueprint(__name__)
route = Router(recovery_blueprint, "accounts")

CODE_ERRORS = (CodeInvalid, CodeExpired, CodeLocked)


@route.route("POST", "/auth/password-reset", auth=False, status=202, body=ResetIn, response=CodeSentOut,
             limit="reset", summary="Send a 6-digit password-reset code to an e-mail address or phone number",
             description="Always 202 with the same body, whether or not an account has the address (only an "
                         "account's address gets the message). The code works for 15 minutes and 5 tries; a new "
                         "one replaces it. Limited per network address and per e-mail/phone (429).")
def create_reset_code(ctx: Ctx, body: ResetIn) -> CodeSentOut:
    import time

    from chalicelib.services import recovery
    from chalicelib.services.rates import identifier_subject, ticket

    started = time.perf_counter()
    kind, value = body.identifier
    d = ctx.deps
    per_address = ticket(d.rate_rules["reset_address"], identifier_subject(kind, value), ctx.now)
    sent = recovery.request_reset(d.codes, d.accounts, d.rates, d.outbound_queue, d.code_secret,
                                  per_address=per_address, kind=kind, value=value, now=ctx.now)
    # The same answer at the same moment whether or not the address is an account's.
    recovery.wait_until(started + d.settings.reset_answer_floor_ms / 1000)
    return CodeSentOut.model_validate(sent)


@route.route("POST", "/auth/password-reset/confirm", auth=False, status=204, body=ResetConfirmIn,
             errors=CODE_ERRORS, limit="reset_confirm",
             summary="Set a new password with the code; every token issued before stops working",
             description="A wrong code is a 400 `code_invalid` (also for an address no account has); after 5 "
                         "tries the code is `code_locked` (403), even the right one; after 15 minutes "
                         "`code_expired` (400). The right code also marks the address verified.")
def confirm_reset(ctx: Ctx, body: ResetConfirmIn) -> None:
    from chalicelib.services import recovery

    kind, value = body.identifier
    d = ctx.deps
    recovery.confirm_reset(d.codes, d.accounts, d.passwords, d.login_locks, d.code_secret, kind=kind, value=value,
                           code=body.code, new_password=body.new_password, now=ctx.now)


@route.route("POST", "/me/verify", status=202, body=VerifyIn, response=CodeSentOut,
             errors=(AlreadyVerified, NothingToVerify), limit="verify",
             summary="Send a 6-digit code to the account's e-mail address or phone number",
             description="`channel` chooses; absent, the e-mail if it is not verified yet, else the phone. Only "
                         "verified addresses receive e-mail and SMS notifications. The code works for 15 minutes "
                         "and 5 tries; a new one replaces it.")
def create_verification_code(ctx: Ctx, body: VerifyIn) -> CodeSentOut:
    from chalicelib.services import recovery

    d = ctx.deps
    account = ctx.account if ctx.account is not None else d.accounts.get_user(ctx.user)
    sent = recovery.request_verification(d.codes, d.rates, d.outbound_queue, d.code_secret, account,
                                         channel=body.channel, quota=ctx.quota, now=ctx.now)
    return CodeSentOut.model_validate(sent)


@route.route("POST", "/me/verify/confirm", status=204, body=VerifyConfirmIn, errors=CODE_ERRORS,
             summary="Prove the e-mail address or phone number the code went to",
             description="The address is verified (`email_verified` / `phone_verified` on GET /me) until it "
                         "changes. Wrong, locked and expired codes answer as for a password reset.")
def confirm_verification(ctx: Ctx, body: VerifyConfirmIn) -> None:
    from chalicelib.services import recovery

    d = ctx.deps
    account = ctx.account if ctx.account is not None else d.accounts.get_user(ctx.user)
    recovery.confirm_verification(d.codes, d.code_secret, account, code=body.code, now=ctx.now)
