"""The canary child is what the walks assume: one shielded child holding every canary."""

import pytest

from contactpoint.directory.models import Carer, ChildAddress
from shielding.conftest import CANARIES, FORMER_POSTCODE, POSTCODE

pytestmark = pytest.mark.django_db


def test_the_canary_child_holds_every_canary(canary):
    child = canary.child
    assert child.is_shielded
    assert child.address_line_1 == CANARIES["address"] and child.postcode == POSTCODE
    postcodes = set(ChildAddress.objects.filter(child=child).values_list("postcode", flat=True))
    assert postcodes == {POSTCODE, FORMER_POSTCODE}
    assert Carer.objects.filter(child=child, phone=CANARIES["carer phone"]).exists()
    assert len(canary.involvement_ids) == 3
