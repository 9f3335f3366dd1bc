"""Abuse limits as arithmetic: rule specs, windows, address budgets and the login lock's growth."""

from __future__ import annotations

import pytest

from chalicelib.records.rates import LockPolicy, parse_spec
from chalicelib.services.rates import RULES, address_subject, identifier_subject, rules_from, ticket
from chalicelib.settings import Settings


@pytest.mark.parametrize("spec, parsed", [("120/10m", (120, 600)), ("30/1h", (30, 3600)), (" 5 / 30s ", (5, 30)),
                                          ("1/1d", (1, 86400))])
def test_specs(spec, parsed):
    assert parse_spec(spec) == parsed


@pytest.mark.parametrize("spec", ["", "10", "10/m", "0/1m", "10/0m", "10/1w", "-1/1m", "ten/1m"])
def test_bad_specs_are_refused_by_the_settings(spec):
    with pytest.raises(ValueError):
        parse_spec(spec)
    with pytest.raises(ValueError):
        Settings.from_env({"DONGNE_RATE_COMMENT": spec})


def test_every_rule_has_a_setting_and_the_defaults_parse():
    rules = rules_from(Settings())
    assert set(rules) == set(RULES)
    assert all(rule.limit > 0 and rule.window > 0 for rule in rules.values())


def test_a_window_is_fixed_and_retry_after_counts_down_to_its_end():
    rule = rules_from(Settings())["comment"]  # 10 per minute
    first = ticket(rule, "user:u1", 1_000_000_010.5)
    assert first.window_start % 60 == 0 and first.window_start <= 1_000_000_010.5 < first.window_end
    assert first.retry_after(first.window_end - 0.2) == 1 and first.retry_after(first.window_start) == 60
    assert ticket(rule, "user:u1", first.window_end).window_start == first.window_end


def test_ipv6_clients_share_their_slash_64_and_addresses_are_not_stored():
    a = address_subject("2001:db8:1:2:aaaa::1")
    assert a == address_subject("2001:db8:1:2:ffff:ffff:ffff:ffff") != address_subject("2001:db8:1:3::1")
    assert address_subject("203.0.113.7") != address_subject("203.0.113.8")
    assert "203.0.113" not in address_subject("203.0.113.7") and a.startswith("ip:")
    assert address_subject(None) == address_subject("")


def test_identifiers_are_hashed_per_kind():
    assert identifier_subject("email", "minji@dongne.kr") != identifier_subject("phone", "minji@dongne.kr")
    assert "minji" not in identifier_subject("email", "minji@dongne.kr")


def test_the_lock_grows_from_its_base_to_its_cap():
    policy = LockPolicy(free=5, base=30, cap=900)
    assert [policy.lock_seconds(n) for n in range(1, 13)] == [0, 0, 0, 0, 0, 30, 60, 120, 240, 480, 900, 900]
    assert policy.lock_seconds(10_000) == 900
