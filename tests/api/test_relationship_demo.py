"""The demo data of `make run` shows every tier, as a new user would see it."""

from __future__ import annotations

from devtools import demo


def test_demo_history_shows_every_tier(api):
    call = demo.Caller(api.client)
    seeded = demo.seed(call)
    owner = demo.login(call, "tofu@dongne.kr")["token"]
    tofu = seeded.shops["mangwon_tofu"]["shop_id"]
    customers = call("GET", f"/shops/{tofu}/customers", token=owner)["items"]
    assert [(c["name"], c["tier"]) for c in customers] == [
        ("김민지", "regular"), ("한지호", "lapsed"), ("최서연", "potential")]
    card = call("GET", f"/shops/{tofu}/customers/{customers[0]['user_id']}", token=owner)
    assert card["favourite_products"][0]["name"] == "손두부"
    assert "손두부" in [d["name"] for d in card["reorder_due"]]
    minji = demo.login(call, "minji@dongne.kr")["token"]
    assert [s["handle"] for s in call("GET", "/me/shops", token=minji)["items"]] == [
        "mangwon_tofu", "seongsu_roasters"]
    seoyeon = demo.login(call, "seoyeon@dongne.kr")["token"]
    assert [(s["handle"], s["tier"]) for s in call("GET", "/me/shops", token=seoyeon)["items"]] == [
        ("seongsu_roasters", "regular"), ("mangwon_tofu", "potential")]
