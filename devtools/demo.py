"""Demo data for `make run`: neighbourhood shops, their owners and customers.

Loaded once per database (a guard item marks it), through the real HTTP API in-process
(``chalice.test.Client``), so demo data obeys every rule real data does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

PASSWORD = "dongne1234"
SEED_VERSION = "v1"

OWNERS = [
    {"name": "박두부", "email": "tofu@dongne.kr", "shop": {
        "name": "망원동 두부가게", "handle": "mangwon_tofu", "region": "서울 마포구 망원동",
        "bio": "매일 새벽 직접 만드는 손두부와 콩물. 두부는 당일 판매가 원칙입니다."}},
    {"name": "이꽃님", "email": "flowers@dongne.kr", "shop": {
        "name": "연남 꽃집 오늘", "handle": "yeonnam_flowers", "region": "서울 마포구 연남동",
        "bio": "오늘 들어온 꽃으로 만드는 작은 다발. 동네 배달 가능해요."}},
    {"name": "정로스터", "email": "coffee@dongne.kr", "shop": {
        "name": "성수 커피로스터스", "handle": "seongsu_roasters", "region": "서울 성동구 성수동",
        "bio": "매주 화요일 로스팅. 원두는 200g 단위로 소분합니다."}},
]
CUSTOMERS = [
    {"name": "김민지", "email": "minji@dongne.kr"},
    {"name": "최서연", "email": "seoyeon@dongne.kr"},
    {"name": "한지호", "email": "jiho@dongne.kr"},
]


@dataclass
class Demo:
    tokens: dict[str, str] = field(default_factory=dict)  # email -> token
    shops: dict[str, dict] = field(default_factory=dict)  # handle -> shop


class Caller:
    """Calls the app in-process and fails loudly on an unexpected answer."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def __call__(self, method: str, path: str, body: Any = None, token: str | None = None,
                 expect: tuple[int, ...] = (200, 201, 204), headers: dict | None = None) -> Any:
        h = {"Content-Type": "application/json", **(headers or {})}
        if token:
            h["Authorization"] = f"Bearer {token}"
        response = self.client.http.request(method, path, headers=h,
                                            body=json.dumps(body, ensure_ascii=False) if body is not None else b"")
        if response.status_code not in expect:
            raise RuntimeError(f"{method} {path} -> {response.status_code}: {response.body[:500]!r}")
        return json.loads(response.body) if response.body else None


def login(call: Caller, email: str) -> dict:
    return call("POST", "/auth/login", {"email": email, "password": PASSWORD})


def seed(call: Caller) -> Demo:
    """Create the demo accounts and shops (and, in later steps, their activity)."""
    demo = Demo()
    for owner in OWNERS:
        session = call("POST", "/auth/signup", {"name": owner["name"], "email": owner["email"], "password": PASSWORD})
        demo.tokens[owner["email"]] = session["token"]
        shop = call("POST", "/shops", owner["shop"], token=session["token"])
        demo.shops[shop["handle"]] = shop
    for customer in CUSTOMERS:
        session = call("POST", "/auth/signup", {**customer, "password": PASSWORD})
        demo.tokens[customer["email"]] = session["token"]
    from devtools.demo_signals import seed_signals  # customers' history, as stream records

    seed_signals(call, demo)
    return demo


def already_seeded() -> bool:
    from chalicelib.api.deps import container

    return container().accounts.find_user_id("demo", SEED_VERSION) is not None


def mark_seeded() -> None:
    from chalicelib.api.deps import container
    from chalicelib.storage.accounts import guard

    container().accounts  # binds the models to the configured tables
    guard("demo", SEED_VERSION, "seed").save()
