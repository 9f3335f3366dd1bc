"""What problems say, in English (the default) and Korean (``Accept-Language: ko``).

One catalogue for the whole API: for every problem ``code`` (``chalicelib.errors``) a title
and a default detail in both languages and a line saying when it happens (``docs/errors.md``
is generated from it); for every field-level ``code`` a message in both languages. Templates
take ``{name}`` values from the error's ``params``; a template whose values are missing falls
back to the kind's generic sentence, so a message is never half-filled.

Pure Python, no framework: the edge picks the language and renders; nothing else does.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from typing import Any

__all__ = ["LANGUAGES", "PROBLEMS", "FIELD_CODES", "describe_pattern", "field_problem", "negotiate",
           "problem_text"]

LANGUAGES = ("en", "ko")
DEFAULT_LANGUAGE = "en"


@dataclass(frozen=True)
class ProblemText:
    status: int
    when: str
    title_en: str
    title_ko: str
    detail_en: str
    detail_ko: str
    # Used when ``detail_*`` names a value the error did not carry.
    generic_en: str = ""
    generic_ko: str = ""


def _p(status: int, when: str, title_en: str, title_ko: str, detail_en: str, detail_ko: str,
       generic_en: str = "", generic_ko: str = "") -> ProblemText:
    return ProblemText(status, when, title_en, title_ko, detail_en, detail_ko, generic_en or detail_en,
                       generic_ko or detail_ko)


PROBLEMS: dict[str, ProblemText] = {
    # 400
    "bad_request": _p(400, "The request cannot be processed as sent and no more specific code applies.",
                      "Bad request", "잘못된 요청",
                      "The request cannot be processed as sent.", "보낸 그대로는 요청을 처리할 수 없어요."),
    "malformed_json": _p(400, "The body is not JSON text (or not UTF-8, or has NaN/Infinity or lone surrogates).",
                         "Malformed JSON", "JSON 형식 오류",
                         "The request body is not valid JSON text.", "요청 본문이 올바른 JSON이 아니에요."),
    "json_too_deep": _p(400, "The body's arrays and objects nest deeper than the limit (32 levels).",
                        "JSON nested too deep", "JSON 중첩 초과",
                        "The request body nests arrays and objects deeper than {max_depth} levels.",
                        "요청 본문의 배열과 객체가 {max_depth}단계보다 깊게 중첩되어 있어요.",
                        "The request body nests arrays and objects too deeply.",
                        "요청 본문의 배열과 객체가 너무 깊게 중첩되어 있어요."),
    "malformed_query": _p(400, "The query string is not valid UTF-8.",
                          "Malformed query string", "쿼리 문자열 오류",
                          "The query string is not valid UTF-8.", "쿼리 문자열이 올바른 UTF-8이 아니에요."),
    "invalid_cursor": _p(400, "`?cursor=` was not issued for this list (another list, another user, or altered).",
                         "Invalid cursor", "잘못된 커서",
                         "The cursor is not valid for this list.",
                         "이 목록에서 발급한 커서가 아니에요. 첫 페이지부터 다시 불러와 주세요."),
    "code_invalid": _p(400, "A password-reset or verification code that is wrong, or that was never asked for.",
                       "Wrong code", "코드 불일치",
                       "The code is not right; check the latest message or ask for a new code.",
                       "코드가 맞지 않아요. 가장 최근 메시지를 확인하거나 새 코드를 받아 주세요."),
    "code_expired": _p(400, "A password-reset or verification code used after its 15 minutes.",
                       "Code expired", "만료된 코드",
                       "The code has expired; ask for a new one.", "코드가 만료됐어요. 새 코드를 받아 주세요."),
    "idempotency_key_missing": _p(400, "A purchase was sent without an `Idempotency-Key` header.",
                                  "Idempotency-Key missing", "Idempotency-Key 없음",
                                  "This request needs an Idempotency-Key header (e.g. a UUID), so a retry cannot "
                                  "buy twice.",
                                  "이 요청에는 Idempotency-Key 헤더(예: UUID)가 필요해요. 재시도해도 두 번 결제되지 "
                                  "않게 하기 위해서예요."),
    "idempotency_key_invalid": _p(400, "The `Idempotency-Key` is not 1–255 visible ASCII characters.",
                                  "Invalid Idempotency-Key", "잘못된 Idempotency-Key",
                                  "The Idempotency-Key must be 1-255 visible ASCII characters.",
                                  "Idempotency-Key는 보이는 ASCII 문자 1~255자여야 해요."),
    # 401
    "unauthorized": _p(401, "No valid bearer token: missing, malformed, expired or revoked.",
                       "Unauthorized", "로그인 필요",
                       "A valid bearer token is required.", "로그인이 필요해요. 유효한 Bearer 토큰을 보내 주세요."),
    "invalid_credentials": _p(401, "Login with a wrong password or an unknown e-mail/phone (the same answer).",
                              "Wrong credentials", "로그인 정보 불일치",
                              "The e-mail or phone and password do not match an account.",
                              "이메일(또는 전화번호)과 비밀번호가 맞지 않아요."),
    "account_closed": _p(401, "The token is genuine but its account no longer exists.",
                         "Account closed", "탈퇴한 계정",
                         "The account no longer exists.", "이 계정은 더 이상 존재하지 않아요."),
    "refresh_token_reused": _p(401, "A refresh token was used again after it had been exchanged: its whole login "
                                    "is ended (both the new and the old tokens).",
                               "Login ended", "로그인 종료",
                               "This refresh token was already used, so this login was ended to keep the account "
                               "safe. Log in again.",
                               "이미 사용한 리프레시 토큰이라 계정 보호를 위해 이 로그인을 종료했어요. 다시 로그인해 주세요."),
    # 403
    "forbidden": _p(403, "Logged in, but not the one allowed (the shop's owner, the order's buyer, the author).",
                    "Forbidden", "권한 없음",
                    "You are not allowed to do this.", "이 작업을 할 권한이 없어요."),
    "own_shop_order": _p(403, "A shop's owner tried to order from their own shop.",
                         "Cannot order from your own shop", "내 가게 주문 불가",
                         "A shop's owner cannot order from their own shop.", "내 가게에서는 주문할 수 없어요."),
    "own_shop_subscription": _p(403, "A shop's owner tried to subscribe to their own shop.",
                                "Cannot subscribe to your own shop", "내 가게 정기배송 불가",
                                "A shop's owner cannot subscribe to their own shop.",
                                "내 가게의 정기배송은 신청할 수 없어요."),
    "own_shop_consent": _p(403, "A shop's owner tried to set advertising consent for their own shop.",
                           "Your own shop", "내 가게",
                           "A shop's owner does not consent to their own shop's advertising.",
                           "내 가게의 광고 수신 동의는 설정할 수 없어요."),
    "own_shop_message": _p(403, "A shop's owner tried to write to their own shop as a customer.",
                           "Cannot message your own shop", "내 가게 문의 불가",
                           "A shop's owner cannot write to their own shop as a customer.",
                           "내 가게에는 문의를 보낼 수 없어요."),
    "blocked": _p(403, "The shop has blocked the caller: messaging it, commenting on its posts or ordering from it.",
                  "Blocked by the shop", "가게에서 차단됨",
                  "This shop does not accept messages, comments or orders from you.",
                  "이 가게에 문의, 댓글, 주문을 할 수 없어요."),
    "code_locked": _p(403, "A password-reset or verification code tried wrongly 5 times: even the right code is refused.",
                      "Code locked", "코드 잠김",
                      "This code was tried too many times; ask for a new one.",
                      "코드를 너무 많이 틀렸어요. 새 코드를 받아 주세요."),
    "wrong_password": _p(403, "Changing the password with a wrong current password.",
                         "Wrong current password", "현재 비밀번호 불일치",
                         "The current password is not right.", "현재 비밀번호가 맞지 않아요."),
    # 404 / 405
    "not_found": _p(404, "The thing the path names does not exist (or is not yours to know about).",
                    "Not found", "찾을 수 없음",
                    "No such resource.", "요청한 항목을 찾을 수 없어요."),
    "route_not_found": _p(404, "No route has this path.",
                          "No such route", "없는 주소",
                          "No route has this path.", "이런 주소는 없어요."),
    "method_not_allowed": _p(405, "The path exists but not with this method; `Allow` lists the methods it has.",
                             "Method not allowed", "허용되지 않는 메서드",
                             "This path does not accept that method; it accepts {allow}.",
                             "이 주소에서는 이 메서드를 쓸 수 없어요. 쓸 수 있는 메서드: {allow}.",
                             "This path does not accept that method; `Allow` lists the ones it does.",
                             "이 주소에서는 이 메서드를 쓸 수 없어요. 쓸 수 있는 메서드는 Allow 헤더에 있어요."),
    # 409
    "email_taken": _p(409, "Signing up or changing to an e-mail address another account has.",
                      "E-mail address taken", "이미 쓰는 이메일",
                      "An account with this e-mail address already exists.", "이미 가입된 이메일 주소예요."),
    "phone_taken": _p(409, "Signing up or changing to a phone number another account has.",
                      "Phone number taken", "이미 쓰는 전화번호",
                      "An account with this phone number already exists.", "이미 가입된 전화번호예요."),
    "handle_taken": _p(409, "Opening or renaming a shop to a handle another shop has.",
                       "Handle taken", "이미 쓰는 핸들",
                       "The handle '{handle}' is taken.", "'{handle}' 핸들은 이미 다른 가게가 쓰고 있어요.",
                       "The handle is taken.", "이 핸들은 이미 다른 가게가 쓰고 있어요."),
    "shop_already_open": _p(409, "Opening a second shop (one account opens one shop).",
                            "Shop already open", "이미 가게가 있음",
                            "You already have a shop; one account opens one shop.",
                            "이미 가게가 있어요. 계정 하나에 가게 하나만 열 수 있어요."),
    "own_shop_follow": _p(409, "Following your own shop.",
                          "Cannot follow your own shop", "내 가게 팔로우 불가",
                          "You cannot follow your own shop.", "내 가게는 팔로우할 수 없어요."),
    "idempotency_key_reused": _p(409, "An `Idempotency-Key` sent again with a different request.",
                                 "Idempotency-Key reused", "Idempotency-Key 재사용",
                                 "This Idempotency-Key was already used for a different request; use a new key.",
                                 "이 Idempotency-Key는 다른 요청에 이미 쓰였어요. 새 키를 써 주세요."),
    "illegal_transition": _p(409, "An order move no one may make from its status (e.g. `delivered` → `paid`).",
                             "Illegal status change", "바꿀 수 없는 주문 상태",
                             "An order that is {order_status} cannot become {requested_status}.",
                             "{order_status_ko} 상태의 주문은 {requested_status_ko} 상태로 바꿀 수 없어요.",
                             "The order cannot move to that status.", "주문을 그 상태로 바꿀 수 없어요."),
    "order_changed": _p(409, "Another move of the same order won a race; reload the order.",
                        "Order changed", "주문 상태 변경됨",
                        "The order became {order_status} meanwhile; it cannot become {requested_status} now.",
                        "그사이 주문이 {order_status_ko} 상태가 되어 {requested_status_ko} 상태로 바꿀 수 없어요.",
                        "The order changed meanwhile.", "그사이 주문 상태가 바뀌었어요."),
    "price_changed": _p(409, "`expected_total` differs from what the order costs now; `items` and `total` are the "
                              "current prices. Nothing was written.",
                         "Price changed", "가격 변경됨",
                         "The price changed since you saw it: the order now costs {total} won.",
                         "보신 뒤에 가격이 바뀌었어요. 지금 주문 금액은 {total}원이에요.",
                         "The price changed since you saw it.", "보신 뒤에 가격이 바뀌었어요."),
    "payment_incomplete": _p(409, "The payment provider does not report this payment as paid (yet).",
                             "Payment not complete", "결제 미완료",
                             "The payment is not complete yet ({payment_status}).",
                             "결제가 아직 끝나지 않았어요 ({payment_status}).",
                             "The payment is not complete yet.", "결제가 아직 끝나지 않았어요."),
    "payment_mismatch": _p(409, "The provider reports a payment of another amount or currency than the order's "
                                "total; that payment is cancelled.",
                           "Payment amount mismatch", "결제 금액 불일치",
                           "The payment was {paid} {currency}, the order costs {total} KRW; the payment is cancelled.",
                           "결제 금액({paid} {currency})이 주문 금액({total}원)과 달라 결제를 취소했어요.",
                           "The payment does not match the order; it is cancelled.",
                           "결제 금액이 주문 금액과 달라 결제를 취소했어요."),
    "payment_expired": _p(409, "The payment arrived after the order expired or was cancelled; it is refunded.",
                          "Order expired before payment", "결제 기한 지남",
                          "The order is {order_status}; the payment will be refunded.",
                          "주문이 {order_status_ko} 상태라 결제는 환불돼요.",
                          "The order expired before the payment; it will be refunded.",
                          "결제 기한이 지난 주문이라 결제는 환불돼요."),
    "out_of_stock": _p(409, "An order asks for more than is left; `shortages` lists each product and what is left.",
                       "Out of stock", "재고 부족",
                       "Not enough '{name}': {available} left, {requested} requested.",
                       "'{name}' 재고가 부족해요. {available}개 남았는데 {requested}개를 주문했어요.",
                       "Not enough stock.", "재고가 부족해요."),
    "catalog_changed": _p(409, "The products kept changing while the order was priced (rare; order again).",
                          "Products changed", "상품 정보 변경됨",
                          "The products changed while you were ordering; check the prices and order again.",
                          "주문하는 동안 상품 정보가 바뀌었어요. 가격을 확인하고 다시 주문해 주세요."),
    "stock_changed": _p(409, "A product edit raced an order that changed the stock; `stock` is the stock now.",
                        "Stock changed", "재고 변경됨",
                        "The stock changed while you were editing (now {stock}); send the edit again.",
                        "수정하는 동안 재고가 바뀌었어요 (지금 {stock}개). 다시 보내 주세요.",
                        "The stock changed while you were editing; send the edit again.",
                        "수정하는 동안 재고가 바뀌었어요. 다시 보내 주세요."),
    "post_changed": _p(409, "A post edit raced another edit or a delete.",
                       "Post changed", "게시물 변경됨",
                       "The post was changed or deleted meanwhile; reload it and try again.",
                       "그사이 게시물이 바뀌거나 삭제되었어요. 다시 불러온 뒤 시도해 주세요."),
    "order_not_delivered": _p(409, "Reviewing an order that is not delivered (yet); `order_status` says where it is.",
                              "Order not delivered", "배송 전 주문",
                              "Only a delivered order can be reviewed; this one is {order_status}.",
                              "배송 완료된 주문만 리뷰할 수 있어요. 이 주문은 {order_status_ko} 상태예요.",
                              "Only a delivered order can be reviewed.", "배송 완료된 주문만 리뷰할 수 있어요."),
    "shop_has_open_orders": _p(409, "Closing the account of an owner whose shop has orders not yet delivered or "
                                    "cancelled; `open_order_statuses` lists their statuses.",
                               "Shop has open orders", "처리 중인 주문 있음",
                               "Your shop has orders still open; ship or cancel them before closing the account.",
                               "가게에 아직 처리 중인 주문이 있어요. 배송하거나 취소한 뒤에 탈퇴할 수 있어요."),
    "shop_closed": _p(409, "Following, ordering from or subscribing to a shop whose owner closed their account.",
                      "Shop closed", "문 닫은 가게",
                      "This shop has closed; it takes no new orders or followers.",
                      "문을 닫은 가게예요. 새 주문이나 팔로우를 받지 않아요."),
    "already_reviewed": _p(409, "Reviewing an order a second time; `review_id` is the first review.",
                           "Already reviewed", "이미 리뷰함",
                           "This order already has a review.", "이 주문에는 이미 리뷰가 있어요."),
    "subscription_cancelled": _p(409, "Changing a cancelled subscription (cancelling is final).",
                                 "Subscription cancelled", "해지된 정기배송",
                                 "A cancelled subscription cannot change; subscribe again.",
                                 "해지된 정기배송은 바꿀 수 없어요. 다시 신청해 주세요."),
    "subscription_not_active": _p(409, "Skipping the next order of a subscription that is not active "
                                       "(`subscription_status` says where it is).",
                                  "Subscription not active", "진행 중이 아닌 정기배송",
                                  "Only an active subscription can skip its next order; this one is "
                                  "{subscription_status}.",
                                  "진행 중인 정기배송만 다음 배송을 건너뛸 수 있어요. 이 정기배송은 "
                                  "{subscription_status_ko} 상태예요.",
                                  "Only an active subscription can skip its next order.",
                                  "진행 중인 정기배송만 다음 배송을 건너뛸 수 있어요."),
    "too_many_addresses": _p(409, "Saving an address beyond the most one address book holds (20); `limit` says "
                                  "how many.",
                             "Too many addresses", "배송지가 너무 많음",
                             "An address book holds at most {limit} addresses; delete one before adding another.",
                             "배송지는 최대 {limit}개까지 저장할 수 있어요. 하나를 지운 뒤에 추가해 주세요.",
                             "The address book is full; delete an address before adding another.",
                             "배송지 목록이 가득 찼어요. 하나를 지운 뒤에 추가해 주세요."),
    "subscription_period_passed": _p(409, "Skipping a period that is no longer ahead and was not skipped: the "
                                          "subscription job ordered it (`order_id`) or it passed; `next_period` is "
                                          "the one now ahead.",
                                     "Period already passed", "이미 지난 회차",
                                     "Period {period} can no longer be skipped; the next one is period "
                                     "{next_period}.",
                                     "{period}회차는 이제 건너뛸 수 없어요. 다음은 {next_period}회차예요.",
                                     "That period can no longer be skipped; reload the subscription.",
                                     "그 회차는 이제 건너뛸 수 없어요. 정기배송을 다시 불러와 주세요."),
    "coupon_exhausted": _p(409, "An order names a coupon whose redemptions are all taken (`max_redemptions`); "
                                "nothing was written.",
                           "Coupon used up", "쿠폰 소진",
                           "This coupon has been used as many times as the shop allows; order without it.",
                           "이 쿠폰은 가게가 정한 수량이 모두 사용되었어요. 쿠폰 없이 주문해 주세요."),
    "coupon_ended": _p(409, "Giving out a coupon whose `ends_at` has passed.",
                       "Coupon ended", "기간이 끝난 쿠폰",
                       "This coupon has ended; create a new one to give out.",
                       "기간이 끝난 쿠폰이에요. 새 쿠폰을 만들어 주세요."),
    "already_verified": _p(409, "Asking to verify an e-mail address or phone number that is verified already.",
                           "Already verified", "이미 인증됨",
                           "This is verified already.", "이미 인증을 마쳤어요."),
    "nothing_to_verify": _p(409, "Asking to verify an e-mail address or phone number the account does not have.",
                            "Nothing to verify", "인증할 연락처 없음",
                            "The account has no such address or number; add it first (PATCH /me).",
                            "계정에 해당 연락처가 없어요. 먼저 등록해 주세요(PATCH /me)."),
    "too_many_devices": _p(409, "Registering a push device beyond the most one account may have.",
                           "Too many devices", "기기가 너무 많음",
                           "Remove a device before registering another.", "다른 기기를 먼저 지워 주세요."),
    # 412 / 413 / 415 / 422
    "precondition_failed": _p(412, "`If-Match` names a version (ETag) that is no longer current.",
                              "Precondition failed", "다른 변경이 먼저 반영됨",
                              "The resource changed since you read it (If-Match does not match its ETag); "
                              "reload it and try again.",
                              "불러온 뒤에 내용이 바뀌었어요 (If-Match가 현재 ETag와 달라요). 다시 불러온 뒤 "
                              "시도해 주세요."),
    "payload_too_large": _p(413, "The body is larger than the limit (64 KiB).",
                            "Payload too large", "요청 본문 초과",
                            "The request body is larger than {limit} bytes.",
                            "요청 본문이 {limit}바이트보다 커요.",
                            "The request body is too large.", "요청 본문이 너무 커요."),
    "unsupported_media_type": _p(415, "A body sent with a Content-Type other than `application/json`.",
                                 "Unsupported media type", "지원하지 않는 형식",
                                 "Send the request body as application/json (UTF-8).",
                                 "요청 본문은 application/json (UTF-8)으로 보내 주세요."),
    "validation_failed": _p(422, "Fields are missing, unknown or invalid; `errors` lists each with its own `code`.",
                            "Validation failed", "입력값 오류",
                            "Some fields of the request are invalid.", "요청에 올바르지 않은 항목이 있어요."),
    "fulfilment_unavailable": _p(422, "An order asks for delivery or pickup from a shop that does not offer it; "
                                      "`offered` lists what the shop offers.",
                                 "Fulfilment not offered", "제공하지 않는 수령 방법",
                                 "This shop does not offer {method}; it offers {offered_text}.",
                                 "이 가게는 {method_ko}을(를) 제공하지 않아요. 가능한 방법: {offered_ko}.",
                                 "This shop does not offer that way of receiving the order.",
                                 "이 가게에서는 그 방법으로 주문을 받을 수 없어요."),
    "address_required": _p(422, "An order for delivery names neither `fulfilment.address_id` nor "
                                "`fulfilment.address`.",
                           "Delivery address required", "배송지 필요",
                           "Delivery needs an address: send fulfilment.address_id (a saved address) or "
                           "fulfilment.address.",
                           "배송을 받으려면 배송지가 필요해요. 저장한 배송지(address_id)나 주소(address)를 보내 주세요."),
    "coupon_not_applicable": _p(422, "An order names a coupon it cannot use; `reason` says why (`not_held`, "
                                     "`used`, `not_started`, `ended`, `below_min_subtotal`, `other_shop`) and "
                                     "nothing was written.",
                                "Coupon not applicable", "쓸 수 없는 쿠폰",
                                "This coupon cannot be used on this order.",
                                "이 주문에는 이 쿠폰을 쓸 수 없어요."),
    "audience_not_supported": _p(422, "A coupon grant to an audience by `tier` or `essential_due`: a coupon for a "
                                      "segment goes with the shop's words, as a broadcast "
                                      "(`POST /shops/{id}/broadcasts` with `coupon_id`).",
                                 "Audience not supported", "지원하지 않는 대상",
                                 "A coupon for a tier or for customers with an essential due goes with a message: "
                                 "send a broadcast with coupon_id.",
                                 "등급이나 재구매 시기로 고른 고객에게는 메시지와 함께 쿠폰을 보내요: "
                                 "coupon_id를 넣어 단체 메시지를 보내 주세요."),
    "unknown_region": _p(422, "A shop's `region`, or the region of `GET /regions/{region}/shops` or "
                              "`GET /search/shops?region=`, is not in the shipped list (시/도, 시/군/구 and 동 "
                              "separated by spaces, e.g. `서울 마포구 망원동`).",
                         "Unknown region", "알 수 없는 지역",
                         "'{region}' is not a region Dongne knows; write it like '서울 마포구 망원동'.",
                         "'{region}'은(는) 동네가 모르는 지역이에요. '서울 마포구 망원동'처럼 써 주세요.",
                         "Not a region Dongne knows; write it like '서울 마포구 망원동'.",
                         "동네가 모르는 지역이에요. '서울 마포구 망원동'처럼 써 주세요."),
    "invalid_search_query": _p(422, "`GET /search/shops`: `q` has no letter or digit, or is longer than 40 "
                                    "characters; `errors` names `query.q`.",
                               "Invalid search", "검색어 오류",
                               "Search with 1 to 40 letters or digits (초성 too, e.g. ㄷㅂ).",
                               "검색어는 글자나 숫자 1~40자로 써 주세요(초성도 돼요, 예: ㄷㅂ)."),
    "invalid_hashtag": _p(422, "`GET /hashtags/{tag}/posts` names a tag no post can carry (letters, digits and "
                               "'_' only, at most 50, not only digits).",
                          "Invalid hashtag", "해시태그 오류",
                          "A hashtag is letters, digits and '_' (at most 50), without '#'.",
                          "해시태그는 '#' 없이 글자, 숫자, '_'로 50자까지 써 주세요."),
    "billing_key_invalid": _p(422, "`PUT /me/payment-methods/card` names a billing key the payment provider does not "
                                   "know, or one that was deleted; nothing was saved.",
                              "Card not registered", "카드 등록 안 됨",
                              "The payment provider has no active card under this billing key; register the card "
                              "again.",
                              "결제사에 이 빌링키로 등록된 카드가 없어요. 카드를 다시 등록해 주세요."),
    # 429 / 500 / 503 / 504
    "rate_limited": _p(429, "Too many requests for this action from this user or address; see `Retry-After`.",
                       "Too many requests", "요청이 너무 많음",
                       "Too many requests; retry in {retry_after} seconds.",
                       "요청이 너무 많아요. {retry_after}초 뒤에 다시 시도해 주세요.",
                       "Too many requests; retry shortly.", "요청이 너무 많아요. 잠시 뒤에 다시 시도해 주세요."),
    "service_unavailable": _p(503, "The database or photo store is busy after retries; see `Retry-After`.",
                              "Service unavailable", "일시적으로 처리 불가",
                              "The service is busy; retry in {retry_after} seconds.",
                              "지금은 요청을 처리할 수 없어요. {retry_after}초 뒤에 다시 시도해 주세요.",
                              "The service is busy; retry shortly.",
                              "지금은 요청을 처리할 수 없어요. 잠시 뒤에 다시 시도해 주세요."),
    "gateway_timeout": _p(504, "API Gateway stopped waiting for the app (29 s); the request may still have been "
                               "carried out: read it back, or retry a write with the same `Idempotency-Key`.",
                          "Gateway timeout", "응답 시간 초과",
                          "The server took too long to answer; the request may still have been carried out. "
                          "Check, or retry with the same Idempotency-Key.",
                          "서버 응답이 너무 늦어졌어요. 요청이 처리되었을 수도 있으니 확인하거나 같은 "
                          "Idempotency-Key로 다시 시도해 주세요."),
    "internal_error": _p(500, "A bug on our side (never expected; it is logged).",
                         "Internal error", "서버 오류",
                         "Something went wrong on our side; it has been logged.",
                         "서버에서 문제가 생겼어요. 기록해 두었어요."),
}

ORDER_STATUS_KO = {"pending_payment": "결제 대기", "paid": "결제 완료", "shipped": "배송 중",
                   "delivered": "배송 완료", "cancelled": "취소",
                   "ready_for_pickup": "픽업 준비 완료", "expired": "기한 만료"}
FULFILMENT_KO = {"delivery": "배송", "pickup": "방문 수령"}
SUBSCRIPTION_STATUS_KO = {"active": "진행 중", "paused": "일시 정지", "cancelled": "해지"}


# --- field-level messages -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldText:
    en: str
    ko: str
    generic_en: str = ""
    generic_ko: str = ""


FIELD_CODES: dict[str, FieldText] = {
    "required": FieldText("Required.", "필수 항목이에요."),
    "unknown_field": FieldText("Not a field of this request.", "이 요청에 없는 항목이에요."),
    "wrong_type": FieldText("Must be {expected}.", "{expected_ko}{ieoya} 해요.",
                            "Has the wrong type.", "형식이 맞지 않아요."),
    "not_null": FieldText("Cannot be null; leave the field out to keep it.",
                          "null일 수 없어요. 바꾸지 않으려면 항목을 빼 주세요."),
    "empty": FieldText("Must not be empty.", "비워 둘 수 없어요."),
    "too_short": FieldText("At least {min_length} characters.", "{min_length}자 이상이어야 해요."),
    "too_long": FieldText("At most {max_length} characters.", "{max_length}자 이하여야 해요."),
    "too_few": FieldText("At least {min_length} items.", "{min_length}개 이상이어야 해요."),
    "too_many": FieldText("At most {max_length} items.", "{max_length}개 이하여야 해요."),
    "pattern": FieldText("Must be {noun}.", "{noun_ko} 형식이어야 해요.",
                         "Has characters or a form not allowed here.", "쓸 수 없는 문자나 형식이 들어 있어요."),
    "too_small": FieldText("Must be at least {limit}.", "{limit} 이상이어야 해요."),
    "too_large": FieldText("Must be at most {limit}.", "{limit} 이하여야 해요."),
    "not_allowed": FieldText("Must be one of {expected}.", "{expected_ko} 중 하나여야 해요.",
                             "Not an allowed value.", "허용되지 않는 값이에요."),
    "duplicate": FieldText("Lists an item more than once.", "같은 항목이 두 번 이상 들어 있어요."),
    "repeated": FieldText("Given more than once.", "두 번 이상 주어졌어요."),
    "ids_or_all": FieldText("Send either ids or all: true.", "ids 또는 all: true 중 하나만 보내 주세요."),
    "email_or_phone": FieldText("Give an e-mail address or a phone number.",
                                "이메일 주소나 전화번호를 입력해 주세요."),
    "email_xor_phone": FieldText("Give either an e-mail address or a phone number, not both.",
                                 "이메일 주소와 전화번호 중 하나만 입력해 주세요."),
    "parent_segment": FieldText("Must not contain '..'.", "'..'을 포함할 수 없어요."),
    # Domain checks (services).
    "not_uploaded": FieldText("{key}: not an image you uploaded.", "{key}: 내가 올린 사진이 아니에요.",
                              "Not an image you uploaded.", "내가 올린 사진이 아니에요."),
    "not_image": FieldText("{key}: not an image of an allowed type.", "{key}: 허용되는 형식의 사진이 아니에요.",
                           "Not an image of an allowed type.", "허용되는 형식의 사진이 아니에요."),
    "not_shop_product": FieldText("{id}: not a product of this shop.", "{id}: 이 가게의 상품이 아니에요.",
                                  "Not a product of this shop.", "이 가게의 상품이 아니에요."),
    "not_shop_post": FieldText("Not a post of the order's shop.", "주문한 가게의 게시물이 아니에요."),
    "not_essential": FieldText("{id}: '{name}' is a treat; only essentials can be subscribed to.",
                               "{id}: '{name}'은(는) 기호품이에요. 정기배송은 생필품만 신청할 수 있어요.",
                               "A treat; only essentials can be subscribed to.",
                               "기호품이에요. 정기배송은 생필품만 신청할 수 있어요."),
    "first_order_window": FieldText("Must be between now and {days} days from now.",
                                    "지금부터 {days}일 안이어야 해요.",
                                    "Must be between now and 90 days from now.", "지금부터 90일 안이어야 해요."),
    "not_next_period": FieldText("Must be the period now ahead ({next_period}) or an earlier one.",
                                 "지금 다음 회차({next_period}) 또는 그 전 회차여야 해요.",
                                 "Must be the period now ahead or an earlier one.",
                                 "지금 다음 회차 또는 그 전 회차여야 해요."),
    "skip_next_false": FieldText("skip_period asks for a skip; leave out skip_next or send true.",
                                 "skip_period는 건너뛰기 요청이에요. skip_next를 빼거나 true로 보내 주세요."),
    "one_audience": FieldText("Name exactly one audience: tier, essential_due: true or user_ids.",
                              "대상은 하나만 정해 주세요: tier, essential_due: true, user_ids 중 하나."),
    "night_needs_marketing": FieldText("Night-time advertising needs consent to advertising (marketing: true).",
                                       "야간 광고 수신은 광고 수신 동의(marketing: true)가 있어야 해요."),
    "no_such_shop": FieldText("No such shop.", "없는 가게예요."),
    "no_such_store_link": FieldText("There is no store link with this code.", "이 코드의 스토어 링크가 없어요."),
    "foreign_store_link": FieldText("This store link belongs to another shop.", "다른 가게의 스토어 링크예요."),
    "too_many_products": FieldText("{count} different products; at most {limit}.",
                                   "서로 다른 상품이 {count}개예요. 최대 {limit}개까지 주문할 수 있어요.",
                                   "Too many different products.", "서로 다른 상품이 너무 많아요."),
    "quantity_over": FieldText("{id}: {quantity} in total; at most {limit}.",
                               "{id}: 모두 {quantity}개예요. 한 상품은 최대 {limit}개까지 주문할 수 있어요.",
                               "Too many of one product.", "한 상품을 너무 많이 주문했어요."),
    "required_for_essential": FieldText("An essential needs reorder_days.",
                                        "생필품에는 reorder_days(재구매 주기)가 필요해요."),
    "not_for_treat": FieldText("A treat has no reorder cycle; leave it out or null.",
                               "기호품에는 재구매 주기가 없어요. 빼거나 null로 보내 주세요."),
    "text_or_photo": FieldText("A post needs text or at least one photo.",
                               "게시물에는 글이나 사진이 하나 이상 있어야 해요."),
    "no_such_address": FieldText("Not one of your saved addresses.", "저장한 배송지가 아니에요."),
    "address_or_id": FieldText("Send either address_id or address, not both.",
                               "address_id와 address 중 하나만 보내 주세요."),
    "not_for_pickup": FieldText("Pickup takes no address; leave it out.",
                                "방문 수령에는 주소가 필요 없어요. 빼고 보내 주세요."),
    "delivery_or_pickup": FieldText("Offer delivery, pickup or both.",
                                    "배송과 방문 수령 중 하나 이상을 제공해야 해요."),
    "default_required": FieldText("One address is always the default; make another one the default instead.",
                                  "기본 배송지는 항상 하나 있어야 해요. 다른 배송지를 기본으로 지정해 주세요."),
    "coupon_not_held": FieldText("You do not hold this coupon.", "받은 적 없는 쿠폰이에요."),
    "coupon_used": FieldText("This coupon was used on another order.", "이미 다른 주문에 쓴 쿠폰이에요."),
    "coupon_not_started": FieldText("This coupon cannot be used before {starts_at}.",
                                    "이 쿠폰은 {starts_at}부터 쓸 수 있어요.",
                                    "This coupon cannot be used yet.", "아직 쓸 수 없는 쿠폰이에요."),
    "coupon_expired": FieldText("This coupon ended at {ends_at}.", "이 쿠폰은 {ends_at}에 기간이 끝났어요.",
                                "This coupon has ended.", "기간이 끝난 쿠폰이에요."),
    "coupon_min_subtotal": FieldText("This coupon needs a subtotal of at least {min_subtotal} won.",
                                     "이 쿠폰은 상품 금액이 {min_subtotal}원 이상일 때 쓸 수 있어요.",
                                     "The subtotal is below this coupon's minimum.",
                                     "상품 금액이 쿠폰의 최소 주문 금액보다 적어요."),
    "coupon_other_shop": FieldText("This coupon is another shop's.", "다른 가게의 쿠폰이에요."),
    "percent_over_100": FieldText("A percent coupon is 1-100.", "퍼센트 쿠폰은 1~100이어야 해요."),
    "ends_before_starts": FieldText("ends_at must be after starts_at.", "종료 시각은 시작 시각보다 뒤여야 해요."),
    "ends_in_past": FieldText("ends_at must be in the future.", "종료 시각은 지금보다 뒤여야 해요."),
    "perk_value": FieldText("A percent perk is 1-50; free_shipping takes no value (0).",
                            "퍼센트 우대는 1~50, 무료배송은 값 없이(0) 보내 주세요."),
    "range_reversed": FieldText("`to` is before `from`.", "끝 날짜가 시작 날짜보다 앞이에요."),
    "range_too_long": FieldText("At most {max_days} days at a time.", "한 번에 최대 {max_days}일까지 볼 수 있어요."),
    "invalid": FieldText("Not a valid value.", "올바른 값이 아니에요."),
}

# pydantic error type -> field code
_PYDANTIC_CODES = {
    "missing": "required",
    "extra_forbidden": "unknown_field",
    "string_too_short": "too_short",
    "string_too_long": "too_long",
    "too_short": "too_few",
    "too_long": "too_many",
    "string_pattern_mismatch": "pattern",
    "greater_than_equal": "too_small",
    "greater_than": "too_small",
    "less_than_equal": "too_large",
    "less_than": "too_large",
    "literal_error": "not_allowed",
    "enum": "not_allowed",
}
# pydantic type errors -> (English, Korean) name of the expected type
_TYPES = {
    "string": ("a string", "문자열"),
    "int": ("an integer", "정수"),
    "float": ("a number", "숫자"),
    "bool": ("true or false", "true 또는 false"),
    "list": ("a list", "배열"),
    "dict": ("an object", "객체"),
    "model": ("an object", "객체"),
    "model_attributes": ("an object", "객체"),
    "datetime": ("a date-time in ISO 8601 with a time zone", "시간대가 있는 ISO 8601 날짜·시각"),
    "date": ("a date, YYYY-MM-DD", "YYYY-MM-DD 날짜"),
}
_TYPE_ERROR = re.compile(r"^(string|int|float|bool|list|dict|model|model_attributes|datetime|date)_(type)$|"
                         r"^(string|int|float|bool|list|dict|model|model_attributes)_(parsing)$|"
                         r"^(int)_from_float$|^(string)_unicode$")

# pattern (regex source) -> (English, Korean) description; schemas register theirs.
_PATTERNS: dict[str, tuple[str, str]] = {}


def describe_pattern(pattern: str, en: str, ko: str) -> str:
    """Register what a regex means for people (``"an e-mail address like minji@example.kr"``);
    returns the pattern, so a schema can write ``pattern=describe_pattern(r"...", ...)``."""
    _PATTERNS[pattern] = (en, ko)
    return pattern


def negotiate(accept_language: str | None) -> str:
    """``"ko"`` when the client prefers Korean (``ko``, ``ko-KR``, by q-value), else ``"en"``."""
    best, best_q = DEFAULT_LANGUAGE, 0.0
    for part in (accept_language or "").split(",")[:20]:
        tag, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and q > best_q:
            best, best_q = primary, q
        elif primary == "*" and q > best_q:
            best, best_q = DEFAULT_LANGUAGE, q
    return best


def _fill(template: str, fallback: str, params: dict[str, Any]) -> str:
    names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    if not names <= params.keys():
        return fallback
    return template.format(**{name: params[name] for name in names})


def _ko_values(params: dict[str, Any]) -> dict[str, Any]:
    values = dict(params)
    for key in ("order_status", "requested_status"):
        if isinstance(values.get(key), str):
            values[f"{key}_ko"] = ORDER_STATUS_KO.get(values[key], values[key])
    if isinstance(values.get("method"), str):
        values["method_ko"] = FULFILMENT_KO.get(values["method"], values["method"])
    if isinstance(values.get("offered"), list):
        values["offered_ko"] = ", ".join(FULFILMENT_KO.get(m, m) for m in values["offered"])
    if isinstance(values.get("subscription_status"), str):
        values["subscription_status_ko"] = SUBSCRIPTION_STATUS_KO.get(values["subscription_status"],
                                                                      values["subscription_status"])
    return values


def problem_text(code: str, lang: str, params: dict[str, Any], detail_en: str | None) -> tuple[str, str]:
    """``(title, detail)`` of a problem in ``lang``. An English detail from the raise site
    (this occurrence's own words) wins over the catalogue's English template."""
    text = PROBLEMS.get(code) or PROBLEMS["bad_request"]
    if lang == "ko":
        return text.title_ko, _fill(text.detail_ko, text.generic_ko, _ko_values(params))
    return text.title_en, detail_en or _fill(text.detail_en, text.generic_en, params)


def _ieoya(word: str) -> str:
    """The copula ending after ``word``: 이어야 after a final consonant, 여야 after a vowel."""
    last = word.rstrip()[-1:] if word.strip() else ""
    if "가" <= last <= "힣":
        return "이어야" if (ord(last) - 0xAC00) % 28 else "여야"
    return "이어야"


def field_problem(pydantic_type: str, ctx: dict[str, Any] | None, lang: str) -> tuple[str, str]:
    """``(code, message)`` for one pydantic validation error."""
    ctx = dict(ctx or {})
    match = _TYPE_ERROR.match(pydantic_type)
    if match:
        expected = next(group for group in match.groups() if group and group not in ("type", "parsing"))
        en, ko = _TYPES[expected]
        return "wrong_type", field_message("wrong_type", lang, {"expected": en, "expected_ko": ko,
                                                                "ieoya": _ieoya(ko)})
    if pydantic_type in ("none_required",):
        return "wrong_type", field_message("wrong_type", lang, {})
    code = _PYDANTIC_CODES.get(pydantic_type, pydantic_type if pydantic_type in FIELD_CODES else "invalid")
    params: dict[str, Any] = {}
    if code == "too_short" and ctx.get("min_length") == 1:
        code = "empty"
    elif code in ("too_short", "too_few"):
        params["min_length"] = ctx.get("min_length")
    elif code in ("too_long", "too_many"):
        params["max_length"] = ctx.get("max_length")
    elif code in ("too_small", "too_large"):
        params["limit"] = next((ctx[k] for k in ("ge", "gt", "le", "lt") if k in ctx), None)
    elif code == "pattern":
        described = _PATTERNS.get(str(ctx.get("pattern")))
        if described:
            params.update(noun=described[0], noun_ko=described[1])
    elif code == "not_allowed" and ctx.get("expected"):
        params["expected"] = ctx["expected"]
        params["expected_ko"] = str(ctx["expected"]).replace(" or ", ", ")
    params = {key: value for key, value in params.items() if value is not None}
    return code, field_message(code, lang, params)


def field_message(code: str, lang: str, params: dict[str, Any]) -> str:
    text = FIELD_CODES.get(code) or FIELD_CODES["invalid"]
    if lang == "ko":
        return _fill(text.ko, text.generic_ko or FIELD_CODES["invalid"].ko, params)
    return _fill(text.en, text.generic_en or FIELD_CODES["invalid"].en, params)


FIELD_WHEN = {
    "required": "A required field is missing.",
    "unknown_field": "A field the request does not have (bodies refuse unknown fields).",
    "wrong_type": "A value of the wrong JSON type.",
    "not_null": "`null` for an optional field that cannot be null (leave it out instead).",
    "empty": "An empty string where text is required.",
    "too_short": "A string shorter than its minimum.",
    "too_long": "A string longer than its maximum.",
    "too_few": "A list with fewer items than its minimum.",
    "too_many": "A list with more items than its maximum.",
    "pattern": "A string not in the declared form (an e-mail address, a handle, an id...).",
    "too_small": "A number below its minimum.",
    "too_large": "A number above its maximum.",
    "not_allowed": "A value outside the allowed ones (an enum).",
    "duplicate": "A list naming the same item twice (`photos`, `product_ids`).",
    "repeated": "A query parameter given more than once.",
    "ids_or_all": "Marking notifications read with both or neither of `ids` and `all`.",
    "email_or_phone": "Signing up with neither an e-mail address nor a phone number.",
    "email_xor_phone": "Logging in with both, or neither, of e-mail address and phone number.",
    "parent_segment": "A photo key with `..` in it.",
    "not_uploaded": "A photo key that is not the user's own upload, or was never uploaded.",
    "not_image": "An uploaded file that is not an allowed image, or too large.",
    "not_shop_product": "A product of another shop (or none) in a post or an order.",
    "not_shop_post": "`via_post_id` naming a post of another shop (or none).",
    "not_essential": "A subscription naming a treat (only essentials can be subscribed to).",
    "first_order_window": "A subscription's `first_order_at` in the past or more than 90 days ahead.",
    "not_next_period": "A subscription's `skip_period` naming a period after the one now ahead.",
    "skip_next_false": "A subscription change with `skip_period` and `skip_next: false`.",
    "one_audience": "A broadcast (or a coupon's grant) naming no audience, or more than one.",
    "night_needs_marketing": "Consenting to a shop's advertising at night (`marketing_at_night: true`) without "
                             "consenting to its advertising (`marketing: true`).",
    "no_such_shop": "An order for a shop that does not exist.",
    "no_such_store_link": "An order naming a store-link code that does not exist.",
    "foreign_store_link": "An order naming another shop's store link.",
    "too_many_products": "An order naming more different products than allowed (40).",
    "quantity_over": "An order asking for more than 999 of one product (its lines added up).",
    "required_for_essential": "An essential product without `reorder_days`.",
    "not_for_treat": "A treat with `reorder_days`.",
    "text_or_photo": "A post with neither text nor a photo.",
    "no_such_address": "An order's `fulfilment.address_id` that is not one of the buyer's saved addresses.",
    "address_or_id": "An order's delivery naming both a saved address (`address_id`) and an `address`.",
    "not_for_pickup": "An order's pickup sent with an `address` or `address_id`.",
    "delivery_or_pickup": "A shop's `fulfilment` with neither `delivery` nor `pickup`.",
    "default_required": "`is_default: false` on the default address (make another one the default instead).",
    "coupon_not_held": "An order's `coupon_id` the buyer was never given (or another customer's coupon).",
    "coupon_used": "An order's `coupon_id` already used by another order of the buyer (not cancelled).",
    "coupon_not_started": "An order's `coupon_id` before the coupon's `starts_at`.",
    "coupon_expired": "An order's `coupon_id` after the coupon's `ends_at`.",
    "coupon_min_subtotal": "An order whose subtotal is below the coupon's `min_subtotal`.",
    "coupon_other_shop": "An order's `coupon_id` of another shop than the order's.",
    "percent_over_100": "A percent coupon with a `value` above 100.",
    "ends_before_starts": "A coupon whose `ends_at` is not after its `starts_at`.",
    "ends_in_past": "A coupon whose `ends_at` has already passed.",
    "perk_value": "A `regular_perk` with a percent outside 1-50, or a value with `free_shipping`.",
    "range_reversed": "Insights with `to` before `from`.",
    "range_too_long": "Insights over more than 366 days (`from` to `to`, both counted).",
    "invalid": "Any other invalid value.",
}


def errors_markdown() -> str:
    """``docs/errors.md``: every problem code and field code, from this catalogue."""
    lines = [
        "# Problem codes",
        "",
        "Every error answer is `application/problem+json` with a stable `code` (the app switches on it, never "
        "on prose)",
        "and a `type` URI per code (`https://dongne.app/problems/<code with dashes>`). `title`, `detail` and field",
        "messages are Korean with `Accept-Language: ko` (or `ko-KR`), English otherwise; `Content-Language` says "
        "which.",
        "429 and 503 always carry `Retry-After` (seconds); 405 carries `Allow`. Each operation in `/openapi.json` "
        "lists",
        "the codes each of its statuses can carry (`x-problem-codes`).",
        "",
        "Generated from `chalicelib/messages.py` (a test keeps this file equal to it).",
        "",
        "| code | status | when | title (en / ko) |",
        "| --- | --- | --- | --- |",
    ]
    for code, text in sorted(PROBLEMS.items(), key=lambda item: (item[1].status, item[0])):
        lines.append(f"| `{code}` | {text.status} | {text.when} | {text.title_en} / {text.title_ko} |")
    lines += [
        "",
        "## Field codes",
        "",
        "A `validation_failed` problem lists each field in `errors`: `{field, code, message}`, where `field` is "
        "where",
        "(`body.price`, `query.limit`, `body.items.0.quantity`) and `code` is one of:",
        "",
        "| code | when | message (en / ko) |",
        "| --- | --- | --- |",
    ]
    for code, field_text in FIELD_CODES.items():
        lines.append(f"| `{code}` | {FIELD_WHEN[code]} | {field_text.generic_en or field_text.en} / "
                     f"{field_text.generic_ko or field_text.ko} |")
    lines += [
        "",
        "## Request ids",
        "",
        "Every answer — a success, a problem, a 404 or 405, a preflight, an HTML page, `/openapi.json`, `/docs` —",
        "carries `X-Request-Id`, the `request_id` of every log line of that request: quote it when reporting a",
        "problem. A client may send its own `X-Request-Id`: 1 to 64 characters of `A-Z a-z 0-9 . _ : -` (a uuid,",
        "a ULID, `web:3f2a-17`) come back verbatim and become the logs' `request_id` (API Gateway's own id is",
        "then logged beside it as `gateway_request_id`). Anything else — longer, empty, a space, `/`, `;`,",
        "non-ASCII — is not an error: it is ignored and the answer carries the generated id. Browsers of an",
        "allowed origin may send the header and read it (`Access-Control-Allow-Headers`/`-Expose-Headers`).",
        "",
        "## Answers made by API Gateway",
        "",
        "Some answers never reach the app: a path no route has (404 `route_not_found`), the stage's throttling",
        "(429 `rate_limited`), a body over API Gateway's 10 MB (413 `payload_too_large`), a timeout waiting for",
        "the app (504 `gateway_timeout`: the request may still have been carried out), the gateway's other",
        "failures (`DEFAULT_4XX` 400 `bad_request`, `DEFAULT_5XX` 503 `service_unavailable`) and the rest of",
        "`GATEWAY_PROBLEMS` in `deploy/template.py`. They are the same problem+json with the same `code`, plus",
        "`request_id` in the body, `X-Request-Id` (API Gateway's request id: a client's own is not echoed, the",
        "gateway cannot check it), `Retry-After` on 429 and 503, and the app's CORS headers (with one allowed",
        "origin, that origin; with several, the request's `Origin`, as a gateway answer cannot choose — they",
        "hold nothing but the problem and allow no credentials).",
        "",
        "They are always in English: a gateway answer's body is a template with variables filled in, without",
        "conditions, so it cannot follow `Accept-Language` (`Content-Language: en` says so). Clients localise",
        "by `code`, which is why every code above has its Korean title here.",
    ]
    return "\n".join(lines) + "\n"
