"""A feed can never lift a shield: only the directory team's unshield does."""

import datetime

import pytest

from contactpoint.access.models import Role
from contactpoint.directory.models import Child, Shield
from contactpoint.directory.services import shield_child
from directory.builders import child_row, load_children, user

pytestmark = pytest.mark.django_db


def test_reloading_and_changing_the_childs_feed_keeps_the_shield(tmp_path):
    child = load_children(tmp_path, [child_row("N1")])["N1"]
    team = user(Role.DIRECTORY_TEAM)
    shield_child(
        actor=team,
        contactpoint_id=child.contactpoint_id,
        reason="refuge placement",
        review_on=datetime.date(2027, 6, 1),
    )
    # The source sends the child again, moved and renamed: the golden record changes, the shield does not.
    moved = child_row(
        "N1", address_line_1="1 New Street", postcode="B5 4BU", family_name="Okafor-Bello", former_family_names="Okafor"
    )
    load_children(tmp_path, [moved])
    child = Child.objects.get(pk=child.pk)
    assert child.is_shielded
    assert Shield.objects.filter(child=child, lifted_at__isnull=True).exists()
