"""The shared vocabulary: categories, reasons and their mapping."""

from returnpath.model import REASON_CATEGORY, Category, Reason


def test_every_reason_maps_to_a_category() -> None:
    """Scenario: each Sisimai reason name has one category, so no verdict is left unmapped."""
    assert set(REASON_CATEGORY) == set(Reason)


def test_reason_values_are_sisimai_names() -> None:
    """Scenario: enum values are the strings Sisimai prints, so results compare directly."""
    assert Reason.USER_UNKNOWN.value == "userunknown"
    assert Reason.MESSAGE_TOO_BIG.value == "mesgtoobig"
    assert Category("auto_reply") is Category.AUTO_REPLY


def test_bounce_categories() -> None:
    """Scenario: deferrals and auto-replies are never counted as bounces."""
    assert {c for c in Category if c.is_bounce} == {Category.HARD, Category.SOFT, Category.BLOCK}
