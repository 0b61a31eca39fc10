"""The canary child is what the walks assume: one shielded child holding every canary."""

import pytest

from contactpoint.directory import identity
from shielding.conftest import CANARIES, FORMER_POSTCODE, POSTCODE

pytestmark = pytest.mark.django_db


def test_the_canary_child_holds_every_canary(canary):
    child = canary.child
    assert child.is_shielded
    who = identity.read_identity(child)
    assert who.address_line_1 == CANARIES["address"] and who.postcode == POSTCODE
    assert {a.postcode for a in identity.read_addresses(child.pk)} == {POSTCODE, FORMER_POSTCODE}
    assert CANARIES["carer phone"] in {c.phone for c in identity.read_carers(child.pk)}
    assert len(canary.involvement_ids) == 3
